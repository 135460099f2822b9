"""The digits of a number drawn as strokes: each stroke a piece, grouped by place
(app.numbers.segmenting), each digit's strokes drawn into a 28x28 as /predict draws them."""

import numpy as np

from app import preprocessing
from app.errors import EmptyInput
from app.numbers.ink_pieces import Box
from app.numbers.segmenting import DigitPart, Judge, check_count, left_to_right, runs_by_place

HUGE_COORDINATE = 1e150  # larger coordinates are scaled down (stroke_parts)

MAX_STROKES_PER_DIGIT = 4  # pendigits writers use at most 3


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
