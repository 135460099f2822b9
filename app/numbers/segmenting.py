"""How pieces of a number become digits, the same for strokes and for an image's ink.

Pieces (strokes, blobs, skeleton pieces) are grouped by where they are, never by when they were
drawn: by how far their spans overlap left to right (group_pieces, the model settling doubtful
overlaps), or as runs of pieces left to right (runs_by_place), the runs chosen to maximise the
model's log confidence in each digit less costs for a digit too wide to be one and for columns
inside it that none of its pieces covers (digit_score, gap_cost, best_segmentation).
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from app.errors import TooManyDigits
from app.numbers.ink_pieces import Box, union_box

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
# How a candidate digit is scored when a drawing is cut into digits: the log of the model's
# confidence, less ASPECT_COST for each unit of width over FREE_ASPECT times its height (two
# digits read as one are wide; a single digit rarely is).
FREE_ASPECT = 0.8
ASPECT_COST = 3.0
# (Tuned on numbers written by pendigits' training writers 1-20, never the held-out ones.)
DIGIT_COST = 0.4  # each digit costs this much: a digit is not cut in two without reason
# Strokes of one digit leave little of their span uncovered (a 7's crossbar runs across its
# stem), but some: many write a 4's stem a little right of its hook's bar. So each uncovered
# stretch costs GAP_WIDTH_COST per unit of its width over the height, and nothing more (a flat
# 3.0 per stretch as well read such a 4 as two 1s; on training writers, 2 x 300 numbers per
# spacing: clear 97.7-98.0% -> 99.7%, close 96.0-96.3% -> 98.0-98.3%, touching 94.3-96.7% ->
# 95.7-97.0%; anything from 3 to 7 per unit does the same, none at all less on touching).
GAP_WIDTH_COST = 5.0

# How good each of several candidate digit images is as one digit, from 0 to 1 (model_judge).
Judge = Callable[[list[np.ndarray]], np.ndarray]


@dataclass(frozen=True)
class DigitPart:
    """One digit of the number: its box in the input's units and the 28x28 the model sees,
    with the judge's verdict on it when the split already asked (see Judge)."""

    box: Box
    image: np.ndarray
    judged: float | None = None


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


def without_specks(
    groups: list[list[int]], boxes: Sequence[Box], dot_size: float = 0.0
) -> list[list[int]]:
    """The groups without tiny ones (a stray tap), unless that would leave nothing: smaller
    than SPECK_SHARE of the tallest group both ways, or than `dot_size` (in an image, a tap of
    a thick brush is a dot a brush wide, bigger than SPECK_SHARE of the digits)."""
    extents = [union_box([boxes[i] for i in group]) for group in groups]
    tallest = max(bottom - top for _, top, _, bottom in extents)
    kept = [
        group
        for group, (left, top, right, bottom) in zip(groups, extents, strict=True)
        if max(right - left, bottom - top) > max(SPECK_SHARE * tallest, dot_size)
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
    """The cost of the columns no piece covers inside these pieces' joint span: the gaps'
    total width over the height, times GAP_WIDTH_COST."""
    height = max(bottom - top for _, top, _, bottom in boxes)
    cost, reach = 0.0, None
    for left, _, right, _ in sorted(boxes):
        if reach is not None and left > reach:
            cost += GAP_WIDTH_COST * (left - reach) / max(height, 1e-9)
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
