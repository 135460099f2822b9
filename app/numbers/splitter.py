"""The digit splitter: which digit each pixel of touching ink belongs to.

When two handwritten digits touch, their ink is one blob, and nothing in its shape alone says
where one digit ends: a 7's bar runs into the next digit's stem, a 3's foot into a 6's curve. The
splitter is a small fully convolutional network, trained on numbers written by pendigits'
training writers (``python -m training splitter``), that says for every ink pixel how far left
or right the centre of its digit is. Where many pixels point, a digit is: each pixel goes to the
nearest such centre (owners_from_offsets), and app.numbers.images reads each such digit, merging
neighbours where the model scores them better as one (the model still has the last word).

It lives in ``model_store/_digit-splitter/`` beside the digit detector (the registry skips
folders starting with "_"), checked against its card on load like every model. Without it,
touching digits are cut apart or pieced along their skeleton instead (app.numbers.cutting).
"""

import functools
import threading
from pathlib import Path
from typing import Any

import numpy as np

from app import preprocessing
from app.inference import ModelStoreError, helper_network_in, open_helper_network

SPLITTER_FOLDER = "_digit-splitter"
SPLITTER_COMMAND = "python -m training splitter --pendigits pendigits-orig.tra"
# The network sees ink scaled to this many rows (the group's height), on a frame this wide; a
# group wider than the frame at that height is scaled down further to fit.
INPUT_HEIGHT = 32
INPUT_WIDTH = 224
# Centres the pixels point to are gathered in a histogram smoothed over this share of the
# frame's height; its peaks at least MIN_SPACING apart, holding at least MIN_SHARE of the ink
# each, are the digits' centres. (Tuned on pendigits' training writers 1-20; a digit seen
# twice is merged again by app.numbers.images, a digit not seen is lost.)
SPREAD = 0.02
MIN_SPACING = 0.1
MIN_SHARE = 0.03


class Splitter:
    """The splitter's LiteRT interpreter (not thread-safe, hence the lock)."""

    def __init__(self, interpreter: Any) -> None:
        self._interpreter = interpreter
        self._input_index = interpreter.get_input_details()[0]["index"]
        self._output_index = interpreter.get_output_details()[0]["index"]
        self._lock = threading.Lock()

    def owners(self, ink: np.ndarray) -> np.ndarray:
        """Which digit (1, 2, ... left to right; 0 for none) each pixel of an ink crop (ink
        bright, any scale) belongs to: an int map of the crop's size."""
        frame, rows, columns = framed(ink)
        with self._lock:
            self._interpreter.set_tensor(self._input_index, frame[np.newaxis, :, :, np.newaxis])
            self._interpreter.invoke()
            offsets = self._interpreter.get_tensor(self._output_index)[0, :, :, 0]
        owners = owners_from_offsets(offsets, frame >= preprocessing.INK_THRESHOLD)
        return preprocessing.nearest_resize(owners[:rows, :columns], *ink.shape)


def owners_from_offsets(offsets: np.ndarray, on_ink: np.ndarray) -> np.ndarray:
    """Each ink pixel's digit (1, 2, ... left to right; 0 off the ink), from the offsets to
    its digit's centre that the network gives (in frame heights)."""
    width = offsets.shape[1]
    columns = np.broadcast_to(np.arange(width, dtype=np.float32), offsets.shape)[on_ink]
    centres = columns + offsets[on_ink] * INPUT_HEIGHT
    owners = np.zeros(offsets.shape, dtype=np.int32)
    if centres.size == 0:
        return owners
    votes = np.histogram(centres, bins=width, range=(0, width))[0].astype(np.float64)
    spread = SPREAD * INPUT_HEIGHT
    kernel = np.exp(-0.5 * (np.arange(-3 * spread, 3 * spread + 1) / spread) ** 2)
    smooth = np.convolve(votes, kernel / kernel.sum(), mode="same")
    peaks: list[int] = []
    reach = MIN_SPACING * INPUT_HEIGHT
    for column in np.argsort(-smooth, kind="stable"):
        if smooth[column] <= 0:
            break
        if all(abs(column - peak) >= reach for peak in peaks):
            low, high = max(0, int(column - reach / 2)), int(column + reach / 2) + 1
            if votes[low:high].sum() >= MIN_SHARE * centres.size:
                peaks.append(int(column))
    if not peaks:
        peaks = [int(np.argmax(smooth))]
    peaks.sort()
    nearest = np.argmin(np.abs(centres[:, np.newaxis] - np.asarray(peaks)[np.newaxis]), axis=1)
    owners[on_ink] = nearest + 1
    return owners


def framed(ink: np.ndarray) -> tuple[np.ndarray, int, int]:
    """The ink as the network sees it: scaled to INPUT_HEIGHT rows (fewer when that would be
    wider than the frame), its peak 1, at the top left of an INPUT_HEIGHT x INPUT_WIDTH frame
    of zeros; and the rows and columns it fills."""
    height, width = ink.shape
    scale = min(INPUT_HEIGHT / height, INPUT_WIDTH / width)
    rows = min(INPUT_HEIGHT, max(1, round(height * scale)))
    columns = min(INPUT_WIDTH, max(1, round(width * scale)))
    frame = np.zeros((INPUT_HEIGHT, INPUT_WIDTH), dtype=np.float32)
    peak = max(float(ink.max()), 1e-9)
    frame[:rows, :columns] = preprocessing.resize(ink.astype(np.float32) / peak, rows, columns)
    return frame, rows, columns


def open_splitter(folder: Path) -> Splitter:
    """The splitter in `folder`, checked against its card like every model."""
    _, interpreter, model_path = open_helper_network(folder)
    inputs, outputs = interpreter.get_input_details(), interpreter.get_output_details()
    shape = [1, INPUT_HEIGHT, INPUT_WIDTH, 1]
    if list(inputs[0]["shape"]) != shape or list(outputs[0]["shape"]) != shape:
        raise ModelStoreError(
            f"{model_path} is not a digit splitter ({INPUT_HEIGHT}x{INPUT_WIDTH} in and out); "
            f"retrain it: {SPLITTER_COMMAND}"
        )
    return Splitter(interpreter)


@functools.cache
def splitter_in(model_dir: Path) -> Splitter | None:
    """The store's splitter, opened once per process; None (and a warning) when it has none.

    Called at start-up (app.main's lifespan), so a damaged splitter stops the server there.
    """
    missing = (
        "%s has no digit splitter; touching digits in images are cut apart or pieced along "
        f"their skeleton instead. Train it: {SPLITTER_COMMAND}"
    )
    return helper_network_in(model_dir, SPLITTER_FOLDER, open_splitter, missing)
