"""Read UCI pendigits pen trajectories (UNIPEN format) and render them the way the server does.

Alimoglu and Alpaydin, "Pen-Based Recognition of Handwritten Digits", UCI ML Repository, 1998.
The file interleaves its 30 writers; each digit's `.COMMENT <label> <writer> <sample>` line names
its writer (1-30). The split is by that writer id, never by file order, so that the held-out
figure is on people the model never saw.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.preprocessing import strokes_to_mnist

# Writers 1..20 may be used for training; writers 21..30 are held out for evaluation.
LAST_TRAINING_WRITER = 20
WRITERS = 30
TRAINING_WRITERS = f"1-{LAST_TRAINING_WRITER}"
HELDOUT_WRITERS = f"{LAST_TRAINING_WRITER + 1}-{WRITERS}"


@dataclass(frozen=True)
class PenDigit:
    """One handwritten digit: its label, its writer (1-30) and strokes as (n, 2) arrays, y down."""

    label: int
    writer: int
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
    writer = 0
    strokes: list[list[tuple[int, int]]] = []
    current: list[tuple[int, int]] | None = None

    def finish() -> None:
        if label is not None and strokes:
            if not writer:
                raise PendigitsError(f"{path}: digit {len(digits) + 1} has no .COMMENT writer id")
            arrays = tuple(np.asarray(s, dtype=np.float64) for s in strokes if s)
            top = max(float(a[:, 1].max()) for a in arrays)
            flipped = tuple(np.column_stack([a[:, 0], top - a[:, 1]]) for a in arrays)
            digits.append(PenDigit(label, writer, flipped))

    for line in path.read_text(encoding="ascii", errors="replace").splitlines():
        if line.startswith(".SEGMENT"):
            finish()
            label, writer, strokes, current = int(line.rsplit('"', 2)[1]), 0, [], None
        elif line.startswith(".COMMENT") and label is not None:
            writer = _comment_writer(line, path)
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


def _comment_writer(line: str, path: Path) -> int:
    """The writer id in `.COMMENT <label> <writer> <sample>`."""
    fields = line.split()
    if len(fields) < 3 or not fields[2].isdigit():
        raise PendigitsError(f"{path}: expected '.COMMENT <label> <writer> <sample>', got {line!r}")
    return int(fields[2])


def writer_split(digits: list[PenDigit]) -> tuple[list[PenDigit], list[PenDigit]]:
    """(training writers 1-20, held-out writers 21-30), each in file order."""
    training = [d for d in digits if d.writer <= LAST_TRAINING_WRITER]
    heldout = [d for d in digits if d.writer > LAST_TRAINING_WRITER]
    return training, heldout


def render_strokes(digits: list[PenDigit]) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 28, 28) uint8 0..255 via the server's strokes path, and labels (N,)."""
    images = np.stack([strokes_to_mnist([s.tolist() for s in d.strokes]) for d in digits])
    labels = np.array([d.label for d in digits], dtype=np.uint8)
    return np.rint(images * 255).astype(np.uint8), labels
