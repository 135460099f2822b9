"""Read UCI pendigits pen trajectories (UNIPEN format) and render them the way the server does.

Alimoglu and Alpaydin, "Pen-Based Recognition of Handwritten Digits", UCI ML Repository, 1998.
The file holds 30 writers one after another (about 250 digits each, in file order), so
contiguous blocks of the file approximate a split by writer.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.preprocessing import strokes_to_mnist

# Share of the file (first writers) used for training; the rest are held-out writers.
TRAIN_SHARE = 2 / 3


@dataclass(frozen=True)
class PenDigit:
    """One handwritten digit: its label and strokes as (n, 2) arrays, y pointing down."""

    label: int
    strokes: tuple[np.ndarray, ...]


class PendigitsError(ValueError):
    """The pendigits file is missing or not in UNIPEN format."""


def read_pendigits(path: Path | str) -> list[PenDigit]:
    """Parse every digit in file order, flipping y so it points down as on a canvas."""
    path = Path(path)
    if not path.is_file():
        raise PendigitsError(
            f"{path} not found. Pass the UNIPEN file of UCI pendigits (pendigits-orig.tra)."
        )
    digits: list[PenDigit] = []
    label: int | None = None
    strokes: list[list[tuple[int, int]]] = []
    current: list[tuple[int, int]] | None = None

    def finish() -> None:
        if label is not None and strokes:
            arrays = tuple(np.asarray(s, dtype=np.float64) for s in strokes if s)
            top = max(float(a[:, 1].max()) for a in arrays)
            flipped = tuple(np.column_stack([a[:, 0], top - a[:, 1]]) for a in arrays)
            digits.append(PenDigit(label, flipped))

    for line in path.read_text(encoding="ascii", errors="replace").splitlines():
        if line.startswith(".SEGMENT"):
            finish()
            label, strokes, current = int(line.rsplit('"', 2)[1]), [], None
        elif line.startswith(".PEN_DOWN"):
            current = []
            strokes.append(current)
        elif line.startswith(".PEN_UP"):
            current = None
        elif current is not None and line.strip() and not line.startswith("."):
            x, y = line.split()[:2]
            current.append((int(x), int(y)))
    finish()
    if not digits:
        raise PendigitsError(f"{path} holds no .SEGMENT DIGIT records: is it a UNIPEN file?")
    return digits


def writer_split(digits: list[PenDigit]) -> tuple[list[PenDigit], list[PenDigit]]:
    """(training writers, held-out writers): the first two thirds of the file, then the rest."""
    cut = round(len(digits) * TRAIN_SHARE)
    return digits[:cut], digits[cut:]


def render_strokes(digits: list[PenDigit]) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 28, 28) uint8 0..255 via the server's strokes path, and labels (N,)."""
    images = np.stack([strokes_to_mnist([s.tolist() for s in d.strokes]) for d in digits])
    labels = np.array([d.label for d in digits], dtype=np.uint8)
    return np.rint(images * 255).astype(np.uint8), labels
