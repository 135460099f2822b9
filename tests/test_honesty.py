"""app.honesty on its own: the detector scores, and a store without one still answers (its file
is checked on load: tests/test_splitter.py checks both helper networks)."""

from pathlib import Path

import numpy as np

from app.honesty import DETECTOR_FOLDER, FALLBACK_THRESHOLD, detector_in, judge, open_detector
from app.settings import Settings

STORE = Settings().model_dir


def test_the_committed_detector_scores_a_stroke_high_and_a_blank_corner_dot_low() -> None:
    detector = open_detector(STORE / DETECTOR_FOLDER)
    one = np.zeros((28, 28), np.float32)
    one[4:24, 13:15] = 1.0
    dot = np.zeros((28, 28), np.float32)
    dot[13:15, 13:15] = 1.0
    assert detector.score(one) >= detector.threshold > detector.score(dot)


def test_without_a_detector_the_top_probability_stands_in(tmp_path: Path) -> None:
    assert detector_in(tmp_path) is None
    sure = np.array([0.95] + [0.05 / 9] * 9)
    unsure = np.full(10, 0.1)
    image = np.zeros((28, 28), np.float32)
    assert judge(image, sure, tmp_path) == {"is_digit": True, "digit_score": 0.95}
    assert judge(image, unsure, tmp_path)["is_digit"] is (FALLBACK_THRESHOLD <= 0.1)
