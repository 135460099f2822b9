"""The digit splitter (app.numbers.splitter): checked on load (as the digit detector is), and
it parts touching held-out digits."""

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from app import preprocessing
from app.honesty import DETECTOR_FOLDER, open_detector
from app.inference import ModelStoreError
from app.numbers import ink_pieces
from app.numbers.splitter import (
    INPUT_HEIGHT,
    SPLITTER_FOLDER,
    framed,
    open_splitter,
    owners_from_offsets,
    splitter_in,
)
from app.settings import Settings
from tests.helpers import run_training
from training.card_file import read_card
from training.numbers import digit_coverages, draw_number, written_numbers
from training.pendigits import read_pendigits, writer_split
from training.splitter import ARCHITECTURE

STORE = Settings().model_dir
SEED = 5


@pytest.mark.parametrize(
    ("folder_name", "open_folder"),
    [(DETECTOR_FOLDER, open_detector), (SPLITTER_FOLDER, open_splitter)],
)
def test_a_helper_network_file_that_does_not_match_its_card_is_refused(
    tmp_path: Path, folder_name: str, open_folder: Callable[[Path], object]
) -> None:
    folder = tmp_path / folder_name
    shutil.copytree(STORE / folder_name, folder)
    with (folder / "model.tflite").open("ab") as file:
        file.write(b"\0")
    with pytest.raises(ModelStoreError, match="sha256"):
        open_folder(folder)


def test_a_store_without_a_splitter_has_none(tmp_path: Path) -> None:
    assert splitter_in(tmp_path) is None


def test_framing_keeps_the_aspect_and_maps_back_to_the_inks_size() -> None:
    ink = np.zeros((90, 300), np.float32)
    ink[10:80, 20:40] = 0.5
    frame, rows, columns = framed(ink)
    assert (rows, columns) == (INPUT_HEIGHT, round(300 * INPUT_HEIGHT / 90))
    assert frame.max() == pytest.approx(1.0) and not frame[:, columns:].any()
    back = preprocessing.nearest_resize(frame[:rows, :columns], *ink.shape)
    assert back.shape == ink.shape and back[40, 30] == pytest.approx(1.0) and back[40, 200] == 0
    wide = np.ones((10, 2000), np.float32)  # too wide at full height: scaled down to fit
    assert framed(wide)[1:] == (round(10 * 224 / 2000), 224)


def test_pixels_pointing_at_two_centres_become_two_digits_left_to_right() -> None:
    on_ink = np.zeros((INPUT_HEIGHT, 224), dtype=bool)
    on_ink[4:28, 10:30] = on_ink[4:28, 30:50] = True
    columns = np.broadcast_to(np.arange(224, dtype=np.float32), on_ink.shape)
    offsets = np.where(columns < 30, 20 - columns, 40 - columns) / INPUT_HEIGHT
    owners = owners_from_offsets(offsets.astype(np.float32), on_ink)
    assert set(np.unique(owners[4:28, 10:30])) == {1}
    assert set(np.unique(owners[4:28, 30:50])) == {2}
    assert not owners[~on_ink].any()


def test_touching_held_out_digits_are_parted_into_their_own_digits(pendigits_path: Path) -> None:
    """Numbers by writers the splitter never saw: most are parted into one piece per digit
    that holds the digit's ink (the full figures are numbers-eval's, in the README)."""
    splitter = open_splitter(STORE / SPLITTER_FOLDER)
    heldout = writer_split(read_pendigits(pendigits_path))[1]
    numbers = written_numbers(heldout, "touching", 20, SEED)
    parted = 0
    for index, number in enumerate(numbers):
        image = preprocessing.decode_image(draw_number(number, SEED, index), 10**7, 4096)
        ink = preprocessing.image_to_ink(image)
        mask = ink >= preprocessing.INK_THRESHOLD * ink.max()
        rows, columns = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        box = np.s_[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1]
        owners = ink_pieces.owned_digits(mask[box], splitter.owners(ink[box]))
        assert np.array_equal(owners > 0, mask[box])
        whose = np.argmax(digit_coverages(number, SEED, index), axis=0)[box]
        # Each of the splitter's digits, counted for the digit most of its pixels belong to.
        in_own_digit = sum(
            np.bincount(whose[owners == label]).max() for label in range(1, owners.max() + 1)
        )
        parted += owners.max() >= len(number.text) and in_own_digit >= 0.95 * mask.sum()
    assert parted >= 16, parted  # 19 of 20 with the committed splitter and peak settings


def test_a_quick_training_run_stores_a_splitter_the_server_opens(
    pendigits_path: Path, tmp_path: Path
) -> None:
    """`python -m training splitter` end to end on a few numbers: what it stores loads as the
    server loads it (checked against its card) and parts a frame of the right size."""
    result = run_training(
        "splitter", "--pendigits", str(pendigits_path), "--numbers", "40", "--epochs", "1",
        "--threads", "2", "--out", str(tmp_path),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    card = read_card(tmp_path / SPLITTER_FOLDER)
    assert card["architecture"] == ARCHITECTURE
    stored = read_card(STORE / SPLITTER_FOLDER)
    assert stored["architecture"] == ARCHITECTURE  # the store's splitter is this code's
    assert card["training"]["epochs"] == 1
    assert set(card["evaluation"]["validation"]) == {
        "median_offset_error", "p90_offset_error", "numbers_parted_right", "validation_loss",
    }  # fmt: skip
    splitter = open_splitter(tmp_path / SPLITTER_FOLDER)
    ink = np.zeros((40, 90), np.float32)
    ink[5:35, 10:14] = ink[5:35, 60:64] = 1.0  # two strokes apart
    owners = splitter.owners(ink)
    assert owners.shape == ink.shape
    assert not owners[ink == 0].any() and owners[ink > 0].min() >= 1
