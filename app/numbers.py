"""Read a whole number: split a drawing into its digits, each prepared exactly as /predict does.

People write a number as a row of digits, but not one stroke per digit and not in order: a 4 or a
7 in two strokes, a 7's crossbar added last, a 5's flag added after the next digit. So pieces are
grouped by where they are, never by when they were drawn:

- strokes, taken in the order of their centres left to right, are cut into runs, one run a
  digit; the runs chosen maximise the model's log confidence in each, less costs for a run too
  wide for one digit and for columns inside a run that none of its strokes covers;
- an image's connected blobs of ink are one digit when they overlap left to right (the model
  settles doubtful overlaps), and a group wider than a digit (neighbouring digits that touch) is
  parted by the digit each pixel is in, as the digit splitter sees it (app.splitter): each of
  its digits is a digit, or merged with its neighbours (or the whole group one digit) where the
  model scores that better. Without a splitter, the group is read two ways, the better kept:
  cut along the cheapest paths down through its ink, the chain of cut-outs scored the same way;
  or cut into stroke-like pieces at the junctions of its skeleton (app.ink_pieces), the pieces
  grouped into digits as strokes are.

Each digit then becomes a 28x28 through app.preprocessing (strokes_to_mnist, ink_to_mnist), the
one home of MNIST preparation, and every digit goes through the model in one batch.
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app import honesty, preprocessing
from app.errors import EmptyInput, TooManyDigits
from app.inference import Model
from app.ink_pieces import Blobs, Box, connected_blobs, owned_digits, stroke_pieces
from app.splitter import Splitter

MAX_DIGITS = 12  # most digits in one number: a phone number, a year, a sum; more is a drawing
# Pieces whose horizontal extents overlap by at least this share of the narrower one are one
# digit without asking the model; below MAYBE_SAME_DIGIT they are surely apart.
SAME_DIGIT = 0.7
MAYBE_SAME_DIGIT = 0.1
# A piece narrower than this share of its height (a 1, a 7's stem) counts as this wide, centred
# on itself, when overlaps are measured: a vertical line has no width to overlap with.
MIN_WIDTH_SHARE = 0.3
# At most this many "together or apart?" questions to the model per drawing; the rest are settled
# by the overlap alone (a scribble of 100 strokes must not cost 100 squared model calls).
MAX_QUESTIONS = 48
# A group of pieces smaller than this share of the tallest group, both ways, is a speck (a stray
# tap, paper grain), not a digit.
SPECK_SHARE = 0.12
# A group of ink wider than this share of its height may be several touching digits, and is
# split if the model prefers the digits to the whole (0.95 kept a 1 touching a 4 as one digit;
# with the splitter, 0.8 kept more touching pairs whole than 0.5 on the training writers).
SPLIT_ASPECT = 0.5
# How a candidate digit is scored when a drawing is cut into digits: the log of the model's
# confidence, less ASPECT_COST for each unit of width over FREE_ASPECT times its height (two
# digits read as one are wide; a single digit rarely is).
FREE_ASPECT = 0.8
ASPECT_COST = 3.0
# (Tuned on numbers written by pendigits' training writers 1-20, never the held-out ones.)
DIGIT_COST = 0.4  # each digit costs this much: a digit is not cut in two without reason
# Strokes of one digit leave no column of their span uncovered: a 4's bar inside its hook's
# span, a 7's crossbar across its stem. Each uncovered stretch costs GAP_COST plus
# GAP_WIDTH_COST per unit of its width over the height.
GAP_COST = 3.0
GAP_WIDTH_COST = 10.0
CROSSING_COST = 0.5  # each stroke a cut goes through (touching digits meet in one)
MAX_STROKES_PER_DIGIT = 4  # pendigits writers use at most 3
PIECED_COST = 0.5  # the skeleton's pieces are the second choice: they may cut a wide digit in two
# Each of the splitter's digits merged into a neighbour's costs this much (it sees a digit where
# most pixels point, and is more often right than the model's liking for a merged pair), and at
# most MAX_MERGED of them make one digit (the whole group is always a candidate too).
MERGE_COST = 1.0
MAX_MERGED = 3
# Most stroke-like pieces of touching ink in one digit: an 8 cut at its crossing and into
# strips is about 6.
MAX_PIECES_PER_DIGIT = 8
MIN_CUT_SHARE = 0.12  # a cut-out digit is at least this share of the group's height wide
MAX_CUT_ASPECT = 1.6  # and at most this share wide
CUT_SPACING = 0.1  # candidate cuts at least this share of the height apart
PATH_REACH = 0.25  # a cut may wander this share of the height either side of its column
PATH_MOVE_COST = 0.05  # cost of a cut's step sideways, in pixels of full ink
# Large images are read at most this many pixels: each digit ends as 20x20 anyway.
WORK_PIXELS = 1_500_000
DUST_SHARE = SPECK_SHARE / 2  # blobs smaller than this share of the tallest are not looked at
MAX_BLOBS = 100
HALO = 1  # pixels of faint anti-aliased edge kept around each blob's own pixels

# How good each of several candidate digit images is as one digit, from 0 to 1 (model_judge).
Judge = Callable[[list[np.ndarray]], np.ndarray]


@dataclass(frozen=True)
class DigitPart:
    """One digit of the number: its box in the input's units and the 28x28 the model sees,
    with the judge's verdict on it when the split already asked (see Judge)."""

    box: Box
    image: np.ndarray
    judged: float | None = None


# --- grouping pieces by horizontal overlap -----------------------------------------------------


def moved(box: Box, right: float, down: float) -> Box:
    left, top, box_right, bottom = box
    return left + right, top + down, box_right + right, bottom + down


def union_box(boxes: Sequence[Box]) -> Box:
    lefts, tops, rights, bottoms = zip(*boxes, strict=True)
    return min(lefts), min(tops), max(rights), max(bottoms)


def overlap_span(box: Box) -> tuple[float, float, float]:
    """(start, end, width) of a box left to right, a narrow box widened about its centre."""
    left, top, right, bottom = box
    width = max(right - left, MIN_WIDTH_SHARE * (bottom - top), 1e-9)
    centre = (left + right) / 2
    return centre - width / 2, centre + width / 2, width


def overlap_shares(spans: np.ndarray) -> np.ndarray:
    """(n, n): how much each two spans overlap, as a share of the narrower one (0 to 1)."""
    start, end, width = spans[:, 0], spans[:, 1], spans[:, 2]
    overlap = np.minimum(end[:, None], end[None, :]) - np.maximum(start[:, None], start[None, :])
    return np.maximum(overlap, 0.0) / np.minimum(width[:, None], width[None, :])


def group_pieces(
    boxes: Sequence[Box], render: Callable[[list[int]], np.ndarray], judge: Judge
) -> list[list[int]]:
    """Indices of the pieces in each digit, by horizontal overlap, the model settling doubts.

    `render` draws a set of pieces as a 28x28 model input; `judge` gives the model's confidence
    for a list of them. Pairs are taken from the most overlapping down, so a 5's flag joins its
    own 5 before it could be weighed against the next digit.
    """
    groups = [[index] for index in range(len(boxes))]
    spans = np.array([overlap_span(box) for box in boxes], dtype=np.float64).reshape(-1, 3)
    apart = np.zeros((len(groups), len(groups)), dtype=bool)
    questions = 0
    while len(groups) > 1:
        shares = overlap_shares(spans)
        shares[apart] = 0.0
        np.fill_diagonal(shares, 0.0)
        i, j = np.unravel_index(int(np.argmax(shares)), shares.shape)
        share = float(shares[i, j])
        if share < MAYBE_SAME_DIGIT:
            break
        i, j = min(i, j), max(i, j)
        together = groups[i] + groups[j]
        if share < SAME_DIGIT and questions < MAX_QUESTIONS:
            questions += 1
            first, second, both = judge([render(groups[i]), render(groups[j]), render(together)])
            if first * second > both:
                apart[i, j] = apart[j, i] = True
                continue
        groups[i] = together
        spans[i] = overlap_span(union_box([boxes[k] for k in together]))
        apart[i] = apart[:, i] = False  # a new group: its questions are new
        del groups[j]
        spans = np.delete(spans, j, axis=0)
        apart = np.delete(np.delete(apart, j, axis=0), j, axis=1)
    return groups


def without_specks(groups: list[list[int]], boxes: Sequence[Box]) -> list[list[int]]:
    """The groups without tiny ones (a stray tap), unless that would leave nothing."""
    extents = [union_box([boxes[i] for i in group]) for group in groups]
    tallest = max(bottom - top for _, top, _, bottom in extents)
    kept = [
        group
        for group, (left, top, right, bottom) in zip(groups, extents, strict=True)
        if max(right - left, bottom - top) > SPECK_SHARE * tallest
    ]
    return kept or groups


def check_count(count: int) -> None:
    if count > MAX_DIGITS:
        raise TooManyDigits(
            f"The drawing splits into {count} digits; a number may have at most {MAX_DIGITS}. "
            "Write fewer digits, or leave clear gaps only between digits."
        )


def left_to_right(parts: list[DigitPart]) -> list[DigitPart]:
    return sorted(parts, key=lambda part: part.box[0] + part.box[2])


def digit_score(confidence: float, box: Box) -> float:
    """How good a candidate digit is: log confidence, less the cost of a digit and of being
    too wide."""
    left, top, right, bottom = box
    aspect = (right - left) / max(bottom - top, 1e-9)
    wide = ASPECT_COST * max(0.0, aspect - FREE_ASPECT)
    return math.log(max(confidence, 1e-9)) - wide - DIGIT_COST


def gap_cost(boxes: Sequence[Box]) -> float:
    """The cost of the columns no piece covers inside these pieces' joint span."""
    height = max(bottom - top for _, top, _, bottom in boxes)
    cost, reach = 0.0, None
    for left, _, right, _ in sorted(boxes):
        if reach is not None and left > reach:
            cost += GAP_COST + GAP_WIDTH_COST * (left - reach) / max(height, 1e-9)
        reach = right if reach is None else max(reach, right)
    return cost


def best_segmentation(count: int, scores: dict[tuple[int, int], float]) -> list[tuple[int, int]]:
    """The split of positions 0..count into runs (i, j) that maximises the sum of their scores
    (dynamic programming over the runs given; at least one split must exist)."""
    best = [-math.inf] * (count + 1)
    best[0] = 0.0
    came_from = [0] * (count + 1)
    for (start, end), score in sorted(scores.items(), key=lambda item: item[0][1]):
        if best[start] + score > best[end]:
            best[end], came_from[end] = best[start] + score, start
    runs, end = [], count
    while end > 0:
        runs.append((came_from[end], end))
        end = came_from[end]
    return runs[::-1]


# --- strokes ------------------------------------------------------------------------------------


HUGE_COORDINATE = 1e150  # larger coordinates are scaled down (stroke_parts)
# A stroke whose box lies inside another's, this share of the outer box's width in from its
# left and right edges, belongs to that stroke's digit: neighbouring digits, even touching ones,
# reach past each other's sides.
INSIDE_MARGIN = 0.2  # (tuned on training writers 1-20: 0.1 merged touching digits)


def inner_strokes_joined(boxes: Sequence[Box]) -> list[list[int]]:
    """Strokes grouped into units: each stroke with the strokes that lie inside its box."""
    owner = list(range(len(boxes)))
    by_width = sorted(range(len(boxes)), key=lambda i: boxes[i][2] - boxes[i][0], reverse=True)
    for rank, inner in enumerate(by_width):
        left, top, right, bottom = boxes[inner]
        for outer in by_width[:rank]:
            o_left, o_top, o_right, o_bottom = boxes[outer]
            margin = INSIDE_MARGIN * (o_right - o_left)
            if (
                left >= o_left + margin
                and right <= o_right - margin
                and top >= o_top
                and bottom <= o_bottom
            ):
                owner[inner] = owner[outer]
                break
    units: dict[int, list[int]] = {}
    for index, unit in enumerate(owner):
        units.setdefault(unit, []).append(index)
    return list(units.values())


def runs_by_place(
    boxes: Sequence[Box], render: Callable[[list[int]], np.ndarray], judge: Judge, longest: int
) -> list[DigitPart]:
    """Pieces (strokes, or the stroke-like pieces of touching ink) grouped into digits, specks
    left out, each with its box in the pieces' units and its rendered, judged image.

    Digits are runs of pieces in the order of their centres left to right (a 7's crossbar and
    a 5's flag sit inside their digit's span), at most `longest` pieces a run: the model, the
    aspect and the gaps pick the runs. A piece inside another's box (a slashed 0, a 4's bar)
    is never a digit of its own."""
    units = inner_strokes_joined(boxes)
    order = sorted(
        range(len(units)), key=lambda u: sum(union_box([boxes[i] for i in units[u]])[::2])
    )
    runs = [
        (start, end)
        for start in range(len(order))
        for end in range(start + 1, min(len(order), start + longest) + 1)
    ]
    members = {run: [i for k in range(*run) for i in units[order[k]]] for run in runs}
    images = {run: render(members[run]) for run in runs}
    confidence = dict(zip(runs, judge(list(images.values())).tolist(), strict=True))
    scores = {
        run: digit_score(confidence[run], union_box([boxes[i] for i in members[run]]))
        - gap_cost([boxes[i] for i in members[run]])
        for run in runs
    }
    chosen = best_segmentation(len(order), scores)
    kept = without_specks([members[run] for run in chosen], boxes)
    return [
        DigitPart(union_box([boxes[i] for i in members[run]]), images[run], confidence[run])
        for run in chosen
        if members[run] in kept
    ]


def stroke_parts(
    strokes: object, judge: Judge, max_strokes: int = 100, max_points: int = 10_000
) -> list[DigitPart]:
    """The digits of a number drawn as strokes, left to right."""
    arrays = preprocessing.validate_strokes(strokes, max_strokes, max_points)
    if not arrays:
        raise EmptyInput("The drawing has no points: write a number, then send the strokes.")
    # Coordinates near float's limit (any finite JSON number is valid) would overflow the
    # differences below: such a drawing is read scaled down, its boxes scaled back.
    scale = max(float(np.abs(points).max()) for points in arrays) / HUGE_COORDINATE
    if scale > 1.0:
        arrays = [points / scale for points in arrays]
    else:
        scale = 1.0
    boxes: list[Box] = [(*points.min(axis=0), *points.max(axis=0)) for points in arrays]

    def render(members: list[int]) -> np.ndarray:
        return preprocessing.strokes_to_mnist([arrays[i] for i in members])

    digits = runs_by_place(boxes, render, judge, MAX_STROKES_PER_DIGIT)
    check_count(len(digits))
    parts = [
        DigitPart(tuple(float(v) * scale for v in digit.box), digit.image)  # type: ignore[arg-type]
        for digit in digits
    ]
    return left_to_right(parts)


# --- images -------------------------------------------------------------------------------------


def main_blobs(boxes: list[Box]) -> list[int]:
    """The blobs worth grouping: not the dust of a photo (a blob far smaller than the tallest),
    and at most MAX_BLOBS of them, the tallest, so that grouping stays cheap."""
    tallest = max(bottom - top for _, top, _, bottom in boxes)
    sizes = [max(right - left, bottom - top) for left, top, right, bottom in boxes]
    kept = [i for i, size in enumerate(sizes) if size > DUST_SHARE * tallest]
    return sorted(sorted(kept, key=lambda i: -sizes[i])[:MAX_BLOBS])


# A cut between touching digits: for each row of the ink map, the first column right of it.
Cut = np.ndarray
Bounds = tuple[Cut, Cut] | None  # the cuts left and right of a part; None: no cut


class InkParts:
    """Cut-outs of one ink map: a set of blobs, optionally only what lies between two cuts."""

    def __init__(self, ink: np.ndarray, blobs: Blobs) -> None:
        self.ink = ink
        self.blobs = blobs

    def own_mask(self, members: list[int], bounds: Bounds, halo: int = 0) -> tuple:
        """(top, left, mask) of the blobs' pixels between the cuts, grown by `halo` pixels
        (the faint anti-aliased edge) but never over a cut."""
        box = union_box([self.blobs.boxes[i] for i in members])
        left, top, right, bottom = (int(v) for v in box)
        if bounds is not None:
            left = max(left, int(bounds[0][top:bottom].min()))
            right = min(right, int(bounds[1][top:bottom].max()))
        height, width = self.ink.shape
        top, left = max(top - halo, 0), max(left - halo, 0)
        bottom, right = min(bottom + halo, height), min(right + halo, width)
        labels = self.blobs.labels[top:bottom, left:right]
        own = np.isin(labels, np.asarray(members) + 1)
        if halo and own.any():
            own = grown(own, halo)
        if bounds is not None:
            columns = np.arange(left, right)[np.newaxis, :]
            own &= columns >= bounds[0][top:bottom, np.newaxis]
            own &= columns < bounds[1][top:bottom, np.newaxis]
        return top, left, own

    def cut_out(self, members: list[int], bounds: Bounds = None) -> np.ndarray:
        """The ink of these blobs (with their faint edge) between the cuts, other ink removed."""
        top, left, own = self.own_mask(members, bounds, HALO)
        height, width = own.shape
        return self.ink[top : top + height, left : left + width] * own

    def box_of(self, members: list[int], bounds: Bounds = None) -> Box | None:
        """The tight box of the part's own pixels; None when it has none."""
        top, left, own = self.own_mask(members, bounds)
        return moved(mask_box(own), left, top) if own.any() else None

    def model_input(self, members: list[int], bounds: Bounds = None) -> np.ndarray:
        return preprocessing.ink_to_mnist(self.cut_out(members, bounds))

    def crop(self, members: list[int]) -> tuple[int, int, np.ndarray, np.ndarray]:
        """(top, left, ink, own) of the blobs' box grown by HALO: their ink with its faint edge
        (other ink removed), and which pixels are their own, for parting them further."""
        top, left, near = self.own_mask(members, None, HALO)
        height, width = near.shape
        labels = self.blobs.labels[top : top + height, left : left + width]
        ink = self.ink[top : top + height, left : left + width] * near
        return top, left, ink, np.isin(labels, np.asarray(members) + 1)


def column_cuts(piece: np.ndarray, left: int, height: int) -> list[int]:
    """Candidate cuts (in the ink map's columns): the columns of least ink, CUT_SPACING apart."""
    profile = piece.astype(np.float64).sum(axis=0)
    profile = np.convolve(profile, np.ones(3) / 3, mode="same")  # one-pixel noise is not a gap
    margin = max(1, int(MIN_CUT_SHARE * height))
    inside = np.arange(margin, len(profile) - margin)
    spacing = max(1.0, CUT_SPACING * height)
    chosen: list[int] = []
    for column in inside[np.argsort(profile[inside], kind="stable")]:
        if all(abs(column - other) >= spacing for other in chosen):
            chosen.append(int(column))
    return sorted(left + column for column in chosen)


def cheapest_path(ink: np.ndarray, centre: int, reach: int) -> tuple[np.ndarray, int]:
    """The top-to-bottom path through the least ink within `reach` columns of `centre`, moving
    at most one column a row (touching digits are rarely joined straight up and down), and the
    number of strokes it crosses. Returns one column per row of `ink`."""
    height, width = ink.shape
    low, high = max(centre - reach, 0), min(centre + reach + 1, width)
    window = ink[:, low:high].astype(np.float64)
    window /= max(float(window.max()), 1e-9)
    columns = high - low
    cost = window[0] + PATH_MOVE_COST * np.abs(np.arange(columns) - (centre - low))
    steps = np.zeros((height, columns), dtype=np.int8)
    for row in range(1, height):
        left = np.concatenate([[np.inf], cost[:-1]]) + PATH_MOVE_COST
        right = np.concatenate([cost[1:], [np.inf]]) + PATH_MOVE_COST
        choice = np.argmin(np.stack([left, cost, right]), axis=0)
        cost = np.choose(choice, [left, cost, right]) + window[row]
        steps[row] = choice - 1
    path = np.empty(height, dtype=np.int64)
    path[-1] = int(np.argmin(cost))
    for row in range(height - 1, 0, -1):
        path[row - 1] = path[row] + steps[row, path[row]]
    on_ink = window[np.arange(height), path] >= preprocessing.INK_THRESHOLD
    crossings = int(np.count_nonzero(np.diff(on_ink.astype(np.int8)) == 1) + on_ink[0])
    return path + low, crossings


def cut_apart(parts: InkParts, members: list[int], judge: Judge) -> list[DigitPart]:
    """The digits in one wide group of blobs, where touching digits are cut apart.

    Candidate cuts are the cheapest paths down through the ink near the columns of least ink;
    the cut-outs between them are scored by the model, their aspect and the strokes the cuts go
    through, and the best chain of cut-outs across the group wins (maybe the whole group)."""
    whole_box = parts.box_of(members)
    left, top, right, bottom = (int(v) for v in whole_box)
    height = bottom - top
    piece = parts.cut_out(members)
    offset_top, offset_left, _ = parts.own_mask(members, None, HALO)
    inside = piece[top - offset_top : bottom - offset_top, left - offset_left : right - offset_left]
    rows = parts.ink.shape[0]
    edges = (np.zeros(rows, dtype=np.int64), np.full(rows, parts.ink.shape[1], dtype=np.int64))
    cuts, crossings = [edges[0]], [0]
    for column in column_cuts(inside, left, height):
        path, crossed = cheapest_path(inside, column - left, int(PATH_REACH * height))
        cut = np.full(rows, left + int(path[0]), dtype=np.int64)
        cut[top:bottom] = left + path
        cut[:top], cut[bottom:] = cut[top], cut[bottom - 1]
        cuts.append(cut)
        crossings.append(crossed)
    order = sorted(range(1, len(cuts)), key=lambda k: float(cuts[k][top:bottom].mean()))
    cuts = [cuts[0], *(cuts[k] for k in order), edges[1]]
    crossings = [0, *(crossings[k] for k in order), 0]
    whole = (0, len(cuts) - 1)  # always a candidate, however wide (a wide 0 is one digit)
    runs, boxes = [whole], [whole_box]
    for start in range(len(cuts) - 1):
        for end in range(start + 1, len(cuts)):
            if (start, end) == whole:
                continue
            box = parts.box_of(members, (cuts[start], cuts[end]))
            if box is None:
                continue
            span_width = box[2] - box[0]
            if span_width > MAX_CUT_ASPECT * height:
                break
            if span_width >= MIN_CUT_SHARE * height:
                runs.append((start, end))
                boxes.append(box)
    images = [parts.model_input(members, (cuts[a], cuts[b])) for a, b in runs]
    confidence = judge(images).tolist()
    scores = {
        run: digit_score(value, box) - CROSSING_COST * crossings[run[0]]
        for run, value, box in zip(runs, confidence, boxes, strict=True)
    }
    digits = {
        run: DigitPart(box, image, value)
        for run, box, image, value in zip(runs, boxes, images, confidence, strict=True)
    }
    return [digits[run] for run in best_segmentation(len(cuts) - 1, scores)]


def pieced_apart(parts: InkParts, members: list[int], judge: Judge) -> list[DigitPart] | None:
    """The digits in one wide group of blobs, its ink cut into stroke-like pieces at the
    junctions of its skeleton (see app.ink_pieces) and the pieces grouped into digits as
    strokes are; None when the ink has too many pieces for that."""
    top, left, ink, own = parts.crop(members)
    peak = max(float(ink.max()), 1e-9)
    pieces = stroke_pieces(own, preprocessing.stroke_width(ink.astype(np.float32) / peak))
    if pieces is None:
        return None

    def render(group: list[int]) -> np.ndarray:
        chosen = np.isin(pieces.labels, np.asarray(group) + 1)
        return preprocessing.ink_to_mnist(ink * grown(chosen))

    return [  # boxes from the crop's pixels to the ink map's
        DigitPart(moved(digit.box, left, top), digit.image, digit.judged)
        for digit in runs_by_place(pieces.boxes, render, judge, MAX_PIECES_PER_DIGIT)
    ]


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


def grown(mask: np.ndarray, halo: int = HALO) -> np.ndarray:
    """The mask grown by `halo` pixels: the faint anti-aliased edge of its ink."""
    return preprocessing.square_filter(mask.astype(np.uint8), halo, np.maximum) > 0


def mask_box(mask: np.ndarray) -> Box:
    """The tight box of a non-empty mask's pixels."""
    rows, columns = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return (float(columns[0]), float(rows[0]), float(columns[-1] + 1), float(rows[-1] + 1))


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


# --- the answer -----------------------------------------------------------------------------------


def model_judge(model: Model, model_dir: Path) -> Judge:
    """How good each candidate digit is, for the splitting: the model's confidence times the
    digit detector's score (app.honesty). The detector is what tells two touching 1s, or a
    digit and half its neighbour, from one digit the model would read confidently anyway."""

    def judge(images: list[np.ndarray]) -> np.ndarray:
        probabilities = model.predict(np.stack(images) * 255.0)
        return probabilities.max(axis=1) * honesty.digit_scores(images, probabilities, model_dir)

    return judge


def read_digits(
    parts: Sequence[DigitPart], model: Model, model_dir: Path
) -> list[dict[str, object]]:
    """Every digit through the model in one batch: its answer, its verdict as /predict gives it
    (calibrated probabilities, is_digit and digit_score from app.honesty) and its box."""
    raw = model.predict(np.stack([part.image for part in parts]) * 255.0)
    return [
        {
            **honesty.digit_answer(part.image, row, model_dir),
            "box": [round(value, 2) for value in part.box],
        }
        for part, row in zip(parts, honesty.served(raw, model), strict=True)
    ]
