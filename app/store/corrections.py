"""The corrections' queries: "the model said 1, it was a 7", kept to fine-tune a new version.

A correction keeps the input exactly as it was sent (strokes or pixels as their JSON text, an
image as its file's bytes), the 28x28 the model saw (uint8, white on black, as MNIST), which
model and version answered, its answer and probabilities, the digit it really was, where it came
from (``page``, ``class``, ``api``) and when. Labelled classroom drawings are corrections too:
``labelled_examples`` adds them (``class_examples``, the one hook to the classroom's store).

Each call opens its own connection (app.store.db: WAL, busy timeout, synchronous=FULL), so a
correction acknowledged with 201 has been committed to disk, and worker processes and threads
never share one. The schema is step 2 of app.store.db.MIGRATIONS, applied on first use.
"""

import csv
import io
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from app.store.db import StoreUnavailable, connect, db_path, migrate, transaction

logger = logging.getLogger(__name__)

Source = Literal["page", "class", "api"]
SOURCES: tuple[Source, ...] = ("page", "class", "api")
SIDE = 28
PAGE_LIMIT = 500  # most corrections in one GET /corrections page
READ_BATCH = 500  # rows read at a time by the export: a long class never sits in memory whole


@dataclass(frozen=True)
class NewCorrection:
    """A correction as the API received and the server computed it, before it has an id."""

    source: Source
    writer: str | None  # who corrected (a student, a pendigits writer): held-out splits group by it
    input_kind: Literal["image", "strokes", "pixels"]
    input_data: bytes  # strokes or pixels: JSON text as sent; image: the file's bytes
    mnist: np.ndarray  # (28, 28) uint8, the model's input
    model: str
    model_version: int
    digit: int  # the model's answer for this input
    shown_digit: int | None  # the answer the user saw, when the client said
    probabilities: list[float]
    label: int  # the digit it really is


@dataclass(frozen=True)
class Correction(NewCorrection):
    """A stored correction."""

    id: int = 0
    created_at: float = 0.0  # seconds since the epoch (UTC)


@dataclass(frozen=True)
class Example:
    """One labelled 28x28 for export and fine-tuning, from a correction or a class drawing."""

    id: str  # "correction:17" or "drawing:5"
    source: Source
    group: str  # who drew it (writer, or the class); held-out splits never cut a group
    created_at: float
    image: np.ndarray  # (28, 28) uint8, white on black
    label: int
    model: str
    digit: int  # what the model answered


def mnist_bytes(image: np.ndarray) -> bytes:
    if image.shape != (SIDE, SIDE) or image.dtype != np.uint8:
        raise ValueError(f"a correction's image is 28x28 uint8, not {image.shape} {image.dtype}")
    return np.ascontiguousarray(image).tobytes()


def mnist_array(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype=np.uint8).reshape(SIDE, SIDE).copy()


def correction_from(row: sqlite3.Row) -> Correction:
    return Correction(
        id=row["id"],
        created_at=row["created_at"],
        source=row["source"],
        writer=row["writer"],
        input_kind=row["input_kind"],
        input_data=bytes(row["input_data"]),
        mnist=mnist_array(row["mnist"]),
        model=row["model"],
        model_version=row["model_version"],
        digit=row["digit"],
        shown_digit=row["shown_digit"],
        probabilities=json.loads(row["probabilities"]),
        label=row["label"],
    )


class CorrectionStore:
    """Reads and writes of the corrections table; safe to share between threads and processes."""

    def __init__(self, data_dir: Path, path: Path | None = None) -> None:
        self.data_dir = data_dir
        self.path = path or db_path(data_dir)
        self._migrated = False
        self._migrate_lock = threading.Lock()

    def _connect(self) -> sqlite3.Connection:
        """A fresh connection with the schema brought up to date once per process."""
        connection = connect(self.path)
        if self._migrated:
            return connection
        try:
            with self._migrate_lock:
                migrate(connection)
                self._migrated = True
        except sqlite3.Error as error:
            connection.close()
            raise StoreUnavailable(f"Cannot prepare the store {self.path}: {error}") from error
        return connection

    def add(self, correction: NewCorrection) -> int:
        """Store one correction; its id once committed. StoreUnavailable if it cannot be written."""
        values = (
            time.time(),
            correction.source,
            correction.writer,
            correction.input_kind,
            correction.input_data,
            mnist_bytes(correction.mnist),
            correction.model,
            correction.model_version,
            correction.digit,
            correction.shown_digit,
            json.dumps(correction.probabilities),
            correction.label,
        )
        try:
            with closing(self._connect()) as connection, transaction(connection):
                cursor = connection.execute(
                    "INSERT INTO corrections (created_at, source, writer, input_kind, input_data, "
                    "mnist, model, model_version, digit, shown_digit, probabilities, label) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    values,
                )
                return int(cursor.lastrowid or 0)
        except sqlite3.Error as error:
            raise StoreUnavailable(f"Cannot write to the store {self.path}: {error}") from error

    def page(self, after: int = 0, limit: int = 100) -> list[Correction]:
        """Corrections with an id above `after`, oldest first (a cursor, stable under inserts)."""
        return list(self.rows(after, limit))

    def count(self) -> int:
        with closing(self._read_connection()) as connection:
            return int(connection.execute("SELECT count(*) FROM corrections").fetchone()[0])

    def rows(self, after: int = 0, limit: int | None = None) -> Iterator[Correction]:
        """Every correction after `after` in id order, read READ_BATCH rows at a time."""
        left = limit
        with closing(self._read_connection()) as connection:
            while left is None or left > 0:
                batch = READ_BATCH if left is None else min(READ_BATCH, left)
                found = connection.execute(
                    "SELECT * FROM corrections WHERE id > ? ORDER BY id LIMIT ?", (after, batch)
                ).fetchall()
                for row in found:
                    yield correction_from(row)
                if len(found) < batch:
                    return
                after = found[-1]["id"]
                if left is not None:
                    left -= len(found)

    def _read_connection(self) -> sqlite3.Connection:
        """Reads of a store that was never written see no corrections rather than an error."""
        try:
            return self._connect()
        except StoreUnavailable:
            if self.path.exists():
                raise
            connection = sqlite3.connect(":memory:", check_same_thread=False)
            connection.row_factory = sqlite3.Row
            migrate(connection)
            return connection

    def examples(self) -> Iterator[Example]:
        """The corrections as labelled examples (source, writer as group), in id order."""
        for correction in self.rows():
            yield Example(
                id=f"correction:{correction.id}",
                source=correction.source,
                group=f"writer:{correction.writer}" if correction.writer else "anonymous",
                created_at=correction.created_at,
                image=correction.mnist,
                label=correction.label,
                model=correction.model,
                digit=correction.digit,
            )


def class_examples(data_dir: Path) -> Iterator[Example]:
    """Classroom drawings a student or the teacher labelled: corrections with source "class".

    The hook to the classroom feature (app.store.classes.ClassStore.labelled_drawings); on a
    branch without it there are simply none. Each class is one group for held-out splits.
    """
    try:
        from app.store.classes import ClassStore  # type: ignore[import-not-found]
    except ImportError:
        return
    try:
        drawings = list(ClassStore(data_dir).labelled_drawings())
    except (sqlite3.Error, StoreUnavailable) as error:
        logger.warning("Cannot read the class drawings' labels (%s); exported without them", error)
        return
    for drawing in drawings:
        yield Example(
            id=f"drawing:{drawing.drawing_id}",
            source="class",
            group=f"class:{drawing.class_code}",
            created_at=float(drawing.created_at),
            image=np.asarray(drawing.image, dtype=np.uint8).reshape(SIDE, SIDE),
            label=int(drawing.label),
            model=str(drawing.model),
            digit=int(drawing.digit),
        )


def labelled_examples(data_dir: Path) -> Iterator[Example]:
    """Everything a fine-tune can learn from: corrections, then labelled class drawings."""
    yield from CorrectionStore(data_dir).examples()
    yield from class_examples(data_dir)


def examples_npz(examples: Iterator[Example]) -> bytes:
    """The examples as an .npz in MNIST's layout: x (N, 28, 28) uint8 white on black, y (N,).

    Any MNIST code reads x and y; the other arrays say where each digit came from (id, source,
    group, created_at, model, digit), so a fine-tune can hold out whole writers or the latest.
    """
    rows = list(examples)
    columns: dict[str, np.ndarray] = {
        "x": np.stack([row.image for row in rows]).astype(np.uint8)
        if rows
        else np.zeros((0, SIDE, SIDE), np.uint8),
        "y": np.array([row.label for row in rows], dtype=np.uint8),
        "id": np.array([row.id for row in rows], dtype=str),
        "source": np.array([row.source for row in rows], dtype=str),
        "group": np.array([row.group for row in rows], dtype=str),
        "created_at": np.array([row.created_at for row in rows], dtype=np.float64),
        "model": np.array([row.model for row in rows], dtype=str),
        "digit": np.array([row.digit for row in rows], dtype=np.int16),
    }
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **columns)
    return buffer.getvalue()


CSV_HEADER = ["id", "created_at", "source", "group", "model", "digit", "label"] + [
    f"pixel{index}" for index in range(SIDE * SIDE)
]


def examples_csv(examples: Iterator[Example]) -> Iterator[str]:
    """The examples as CSV lines, header first: one digit a row, its 784 pixels row by row."""
    yield ",".join(CSV_HEADER) + "\n"
    for row in examples:
        buffer = io.StringIO()
        metadata = [row.id, f"{row.created_at:.6f}", row.source, row.group, row.model]
        csv.writer(buffer, lineterminator="\n").writerow(
            [*metadata, row.digit, row.label, *row.image.reshape(-1).tolist()]
        )
        yield buffer.getvalue()


def correction_summary(correction: Correction) -> dict[str, Any]:
    """A correction as GET /corrections lists it (without the input, which may be large)."""
    return {
        "id": correction.id,
        "created_at": correction.created_at,
        "source": correction.source,
        "writer": correction.writer,
        "input": correction.input_kind,
        "model": correction.model,
        "model_version": correction.model_version,
        "digit": correction.digit,
        "shown_digit": correction.shown_digit,
        "probabilities": correction.probabilities,
        "label": correction.label,
    }
