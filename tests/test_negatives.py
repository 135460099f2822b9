"""The non-digit generator: every kind draws, through the server's preprocessing, repeatably."""

import numpy as np
import pytest

from training.negatives import (
    DIGIT_LIKE,
    KINDS,
    LETTER_FONTS,
    LETTER_KEYS,
    SYMBOL_FONTS,
    TRUETYPE_FONTS,
    make_negative,
    negative_inputs,
)
from training.pendigits import PenDigit

# Two tiny "digits" so the kinds built from real digits run without the pendigits file.
PEN = [
    PenDigit(0, 21, (np.array([[0, 0], [10, 0], [10, 20], [0, 20], [0, 0]], dtype=float),)),
    PenDigit(2, 22, (np.array([[0, 0], [10, 0], [10, 10], [0, 20], [10, 20]], dtype=float),)),
    PenDigit(8, 23, (np.array([[0, 0], [10, 20], [0, 20], [10, 0], [0, 0]], dtype=float),)),
]


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_becomes_a_model_input_like_the_servers(kind: str) -> None:
    images = negative_inputs(kind, 4, seed=3, split="train", pen=PEN)
    assert images.shape == (4, 28, 28)
    assert images.dtype == np.float32
    assert images.min() >= 0.0 and images.max() <= 1.0
    assert (images.reshape(4, -1).max(axis=1) > 0.5).all()  # each has ink


def test_the_same_seed_draws_the_same_negatives_and_another_seed_others() -> None:
    first = negative_inputs("letters", 3, seed=5, split="train")
    assert np.array_equal(first, negative_inputs("letters", 3, seed=5, split="train"))
    assert not np.array_equal(first, negative_inputs("letters", 3, seed=6, split="train"))


def test_the_held_out_split_uses_other_fonts_than_the_training_split() -> None:
    for fonts in (LETTER_FONTS, SYMBOL_FONTS):
        assert not set(fonts["train"]) & set(fonts["heldout"])
    assert TRUETYPE_FONTS["train"] != TRUETYPE_FONTS["heldout"]


def test_letters_drawn_like_a_digit_are_left_out() -> None:
    assert not set(LETTER_KEYS) & DIGIT_LIKE
    assert {"O", "I", "l", "S", "Z"} <= DIGIT_LIKE
    assert "A" in LETTER_KEYS and "B" in LETTER_KEYS


def test_lines_are_never_near_vertical() -> None:
    for index in range(20):
        line = make_negative("lines", np.random.default_rng(index), "train", PEN).strokes
        extent = np.ptp(np.concatenate(line), axis=0)
        assert extent[0] > 0.5 * extent[1]  # at least ~30 degrees off vertical after jitter


def test_unknown_kind_or_split_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="letters"):
        make_negative("emoji", np.random.default_rng(0), "train", PEN)
    with pytest.raises(ValueError, match="heldout"):
        make_negative("letters", np.random.default_rng(0), "test", PEN)
