"""The digits of a number in an image: its connected blobs of ink are one digit when they
overlap left to right (app.numbers.segmenting, the model settling doubtful overlaps), and a
group wider than a digit (neighbouring digits that touch) is parted by the digit each pixel is
in, as the digit splitter sees it (app.numbers.splitter): each of its digits is a digit, or
merged with its neighbours (or the whole group one digit) where the model scores that better.
Without a splitter, the group is cut apart or pieced along its skeleton (app.numbers.cutting)."""

import math

import numpy as np

from app import preprocessing
from app.errors import EmptyInput
from app.numbers.cutting import cut_apart, pieced_apart
from app.numbers.ink_pieces import (
    Box,
    InkParts,
    connected_blobs,
    grown,
    mask_box,
    moved,
    owned_digits,
)
from app.numbers.segmenting import (
    SPECK_SHARE,
    DigitPart,
    Judge,
    best_segmentation,
    check_count,
    digit_score,
    group_pieces,
    left_to_right,
    without_specks,
)
from app.numbers.splitter import Splitter

# A group of ink wider than this share of its height may be several touching digits, and is
# split if the model prefers the digits to the whole (0.95 kept a 1 touching a 4 as one digit;
# with the splitter, 0.8 kept more touching pairs whole than 0.5 on the training writers).
SPLIT_ASPECT = 0.5
PIECED_COST = 0.5  # the skeleton's pieces are the second choice: they may cut a wide digit in two
# Each of the splitter's digits merged into a neighbour's costs this much (it sees a digit where
# most pixels point, and is more often right than the model's liking for a merged pair), and at
# most MAX_MERGED of them make one digit (the whole group is always a candidate too).
MERGE_COST = 1.0
MAX_MERGED = 3
# Large images are read at most this many pixels: each digit ends as 20x20 anyway.
WORK_PIXELS = 1_500_000
# A blob no bigger than this many brush widths either way is a dot (a tap), not a digit.
DOT_BRUSHES = 2.0
DUST_SHARE = SPECK_SHARE / 2  # blobs smaller than this share of the tallest are not looked at
MAX_BLOBS = 100


def main_blobs(boxes: list[Box]) -> list[int]:
    """The blobs worth grouping: not the dust of a photo (a blob far smaller than the tallest),
    and at most MAX_BLOBS of them, the tallest, so that grouping stays cheap."""
    tallest = max(bottom - top for _, top, _, bottom in boxes)
    sizes = [max(right - left, bottom - top) for left, top, right, bottom in boxes]
    kept = [i for i, size in enumerate(sizes) if size > DUST_SHARE * tallest]
    return sorted(sorted(kept, key=lambda i: -sizes[i])[:MAX_BLOBS])


def split_by_owner(
    parts: InkParts, members: list[int], judge: Judge, splitter: Splitter
) -> list[DigitPart]:
    """The digits in one wide group of blobs as the digit splitter parts its ink: each digit
    it sees is a digit, unless the model scores it better merged with its neighbours (a wide
    digit the splitter took for two), or the whole group better as one digit (a wide 0)."""
    top, left, ink, own = parts.crop(members)
    owners = owned_digits(own, splitter.owners(ink))
    count = int(owners.max())
    whole = (0, count)  # always a candidate, and never charged for merging
    runs = [whole] + [
        (start, end)
        for start in range(count)
        for end in range(start + 1, min(count, start + MAX_MERGED) + 1)
        if (start, end) != whole
    ]
    chosen = [(owners > start) & (owners <= end) for start, end in runs]
    boxes = [moved(mask_box(mask), left, top) for mask in chosen]
    images = [preprocessing.ink_to_mnist(ink * grown(mask)) for mask in chosen]
    confidence = judge(images).tolist()
    scores = {
        run: digit_score(value, box) - (0.0 if run == whole else MERGE_COST * (run[1] - run[0] - 1))
        for run, value, box in zip(runs, confidence, boxes, strict=True)
    }
    digits = dict(zip(runs, map(DigitPart, boxes, images, confidence), strict=True))
    return [digits[run] for run in best_segmentation(count, scores)]


def touching_digits(
    parts: InkParts, members: list[int], judge: Judge, splitter: Splitter | None
) -> list[DigitPart]:
    """The digits in one group of blobs: the group itself when it is no wider than one digit,
    otherwise as the digit splitter parts it; without a splitter, the better of two ways apart,
    by the model's judgement of the digits each gives: cut between digits that meet side by
    side, or pieced along the strokes where digits reach over or under each other (a 7's bar
    over the next digit)."""
    box = parts.box_of(members)
    if box[2] - box[0] <= SPLIT_ASPECT * (box[3] - box[1]):
        return [DigitPart(box, parts.model_input(members))]
    if splitter is not None:
        return split_by_owner(parts, members, judge, splitter)
    ways = [cut_apart(parts, members, judge)]
    pieced = pieced_apart(parts, members, judge)
    if pieced:
        ways.append(pieced)
    # Both ways judged their digits while choosing them: the verdicts are on each part.
    totals = [sum(digit_score(d.judged or 0.0, d.box) for d in way) for way in ways]
    totals[1:] = [total - PIECED_COST for total in totals[1:]]
    return ways[int(np.argmax(totals))]


def ink_parts(ink: np.ndarray, judge: Judge, splitter: Splitter | None) -> list[DigitPart]:
    """The digits of a number in an ink map (uint8 0..255 or float 0..1, ink bright)."""
    full_scale = 255.0 if ink.dtype == np.uint8 else 1.0
    peak = float(ink.max()) if ink.size else 0.0
    if peak < preprocessing.MIN_CONTRAST * full_scale:
        raise EmptyInput("No ink found: write a number, then send the drawing.")
    scale = 1.0
    if ink.size > WORK_PIXELS:
        scale = math.sqrt(WORK_PIXELS / ink.size)
        height, width = (max(1, round(side * scale)) for side in ink.shape)
        ink = preprocessing.resize(ink.astype(np.float32) / full_scale, height, width)
        peak, full_scale = float(ink.max()), 1.0
    # Every blob holds ink that ink_to_mnist takes for ink (MIN_CONTRAST), not only haze.
    threshold = max(preprocessing.INK_THRESHOLD * peak, preprocessing.MIN_CONTRAST * full_scale)
    blobs = connected_blobs(ink >= threshold)
    parts = InkParts(ink, blobs)
    pieces = main_blobs(blobs.boxes)
    groups = [
        [pieces[k] for k in group]
        for group in without_specks(
            group_pieces(
                [blobs.boxes[i] for i in pieces],
                lambda members: parts.model_input([pieces[k] for k in members]),
                judge,
            ),
            [blobs.boxes[i] for i in pieces],
            dot_size=DOT_BRUSHES * preprocessing.stroke_width(ink),
        )
    ]
    check_count(len(groups))
    digits = []
    for group in groups:
        for digit in touching_digits(parts, group, judge, splitter):
            check_count(len(digits) + 1)
            in_input = tuple(float(v) / scale for v in digit.box)
            digits.append(DigitPart(in_input, digit.image))  # type: ignore[arg-type]
    return left_to_right(digits)


def image_parts(
    data: bytes,
    judge: Judge,
    splitter: Splitter | None,
    max_pixels: int = 4096 * 4096,
    max_side: int = 4096,
) -> list[DigitPart]:
    """The digits of a number in an encoded image (boxes in the image's pixels)."""
    image = preprocessing.decode_image(data, max_pixels, max_side)
    return ink_parts(preprocessing.image_to_ink(image), judge, splitter)


def pixels_parts(pixels: object, judge: Judge, splitter: Splitter | None) -> list[DigitPart]:
    """The digits of a number in 28x28 pixels (white on black), split as an image is."""
    return ink_parts(preprocessing.pixels_to_mnist(pixels), judge, splitter)
