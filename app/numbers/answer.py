"""Every digit of a number read in one batch, and the judge the splitting asks: the model's
confidence in a candidate digit, weighed by the digit detector (app.honesty)."""

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from app import honesty
from app.inference import Model
from app.numbers.segmenting import DigitPart, Judge


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
