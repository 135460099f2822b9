"""Touching digits parted without the digit splitter (a model store without one): the ink
cut along the cheapest paths down through it (cut_apart), or into stroke-like pieces at the
junctions of its skeleton (pieced_apart, app.numbers.ink_pieces), the pieces grouped into
digits as strokes are. app.numbers.images keeps the better of the two."""

import numpy as np

from app import preprocessing
from app.numbers.ink_pieces import HALO, InkParts, grown, moved, stroke_pieces
from app.numbers.segmenting import DigitPart, Judge, best_segmentation, digit_score, runs_by_place

CROSSING_COST = 0.5  # each stroke a cut goes through (touching digits meet in one)
# Most stroke-like pieces of touching ink in one digit: an 8 cut at its crossing and into
# strips is about 6.
MAX_PIECES_PER_DIGIT = 8
MIN_CUT_SHARE = 0.12  # a cut-out digit is at least this share of the group's height wide
MAX_CUT_ASPECT = 1.6  # and at most this share wide
CUT_SPACING = 0.1  # candidate cuts at least this share of the height apart
PATH_REACH = 0.25  # a cut may wander this share of the height either side of its column
PATH_MOVE_COST = 0.05  # cost of a cut's step sideways, in pixels of full ink


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
    junctions of its skeleton (see app.numbers.ink_pieces) and the pieces grouped into digits as
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
