"""The classroom's queries: classes, students, drawings and the class event log, behind ClassStore.

Routers and the live streams talk to ClassStore only, never to SQL, so a deployment serving many
schools could move it to another database by writing one class with the same methods. Every change
that a live page must see writes its event row in the same transaction as the change itself: a
drawing acknowledged with 201 is on disk and in the log, and a wall that reconnects replays it.
Connections are one per thread (the event loop, the thread pool, the model threads).
"""

import json
import logging
import math
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.errors import (
    ClassEnded,
    ClassFull,
    ClassPaused,
    RateLimited,
    StoreBusy,
    TooManyClasses,
    UnknownClass,
    UnknownDrawing,
)
from app.preprocessing import to_png_data_url
from app.store.db import StoreUnavailable, connect, db_path, open_store, transaction

MNIST_SIDE = 28
# Drawing columns other than the input and pixels: what the wall, the API and the export read.
TILE_COLUMNS = (
    "d.id, d.student_id, s.name AS student, d.digit, d.confidence, d.probabilities, d.extra, "
    "d.label, d.labelled_by, d.prompt, d.created_at, d.hidden, d.model, d.input_kind"
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClassRow:
    """One class and its live state (what every page of the class shows)."""

    id: int
    code: str
    created_at: float
    ended_at: float | None
    prompt: int | None
    paused: bool
    veiled: bool
    wall_from: int

    @property
    def ended(self) -> bool:
        return self.ended_at is not None

    def state(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "created_at": self.created_at,
            "ended": self.ended,
            "ended_at": self.ended_at,
            "prompt": self.prompt,
            "paused": self.paused,
            "veiled": self.veiled,
            "wall_from": self.wall_from,
        }


@dataclass(frozen=True)
class StudentRow:
    id: int
    class_id: int
    name: str


@dataclass(frozen=True)
class NewDrawing:
    """A drawing to store: the input as sent, the 28x28 the model saw and the model's answer."""

    input_kind: str
    input_data: bytes
    mnist: np.ndarray  # (28, 28) uint8, white ink on black, as in MNIST
    prediction: dict[str, Any]  # predict_drawing's answer, passed through whole


@dataclass(frozen=True)
class Event:
    id: int
    class_id: int
    kind: str
    data: str  # JSON text, sent as is

    def sse(self) -> str:
        return f"id: {self.id}\nevent: {self.kind}\ndata: {self.data}\n\n"


@dataclass(frozen=True)
class LabelledDrawing:
    """A class drawing with the digit it really is, for training (the corrections feature)."""

    drawing_id: int
    class_code: str
    image: np.ndarray  # (28, 28) uint8
    label: int
    labelled_by: str  # 'student' or 'teacher'
    digit: int  # what the model answered
    model: str
    created_at: float


@contextmanager
def write(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """db.transaction, with a write lock that stayed taken past the busy timeout as StoreBusy:
    nothing was written, so the client may simply send again."""
    try:
        with transaction(connection):
            yield connection
    except sqlite3.OperationalError as error:
        if "locked" not in str(error) and "busy" not in str(error):
            raise
        if connection.in_transaction:  # a COMMIT that failed leaves the transaction open
            connection.execute("ROLLBACK")
        raise StoreBusy(
            "The class's store is busy (the disk is slow right now); nothing was saved. "
            "Send again in a moment."
        ) from error


def _class_row(row: sqlite3.Row) -> ClassRow:
    return ClassRow(
        id=row["id"],
        code=row["code"],
        created_at=row["created_at"],
        ended_at=row["ended_at"],
        prompt=row["prompt"],
        paused=bool(row["paused"]),
        veiled=bool(row["veiled"]),
        wall_from=row["wall_from"],
    )


# The predict fields stored in their own columns, or not worth keeping (timing of that request).
_COLUMN_FIELDS = {"digit", "confidence", "probabilities", "model", "input", "timing_ms"}


def tile(row: sqlite3.Row, preprocessed: str | None = None) -> dict[str, Any]:
    """A drawing as the API and the wall see it; extra predict fields (e.g. is_digit) included."""
    body: dict[str, Any] = json.loads(row["extra"])
    body.update(
        {
            "id": row["id"],
            "student_id": row["student_id"],
            "student": row["student"],
            "digit": row["digit"],
            "confidence": row["confidence"],
            "probabilities": json.loads(row["probabilities"]),
            "label": row["label"],
            "labelled_by": row["labelled_by"],
            "prompt": row["prompt"],
            "created_at": row["created_at"],
            "hidden": bool(row["hidden"]),
            "model": row["model"],
            "input": row["input_kind"],
        }
    )
    if preprocessed is not None:
        body["preprocessed"] = preprocessed
    return body


class ClassStore:
    """Every classroom read and write; safe to share between threads and worker processes."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.path = db_path(data_dir)
        self._local = threading.local()
        self._migrated = False
        try:
            self._migrate()  # bring the schema up to date once, before any request
        except StoreUnavailable as error:
            # Drawing and predicting need no store: serve them, and answer 503 for classes.
            logger.warning("Classroom disabled until the store can be opened: %s", error)

    def _migrate(self) -> None:
        open_store(self.data_dir).close()
        self._migrated = True

    def _db(self) -> sqlite3.Connection:
        if not self._migrated:
            self._migrate()  # StoreUnavailable: a 503 store_unavailable for this request
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = connect(self.path)
            self._local.connection = connection
        return connection

    def close(self) -> None:
        """Close this thread's connection (the others close with their threads)."""
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

    @staticmethod
    def _event(db: sqlite3.Connection, class_id: int, kind: str, data: dict[str, Any]) -> None:
        db.execute(
            "INSERT INTO class_events (class_id, kind, data, created_at) VALUES (?, ?, ?, ?)",
            (class_id, kind, json.dumps(data, separators=(",", ":")), time.time()),
        )

    # Classes

    def create_class(self, code: str, max_classes: int) -> ClassRow:
        db = self._db()
        with write(db):
            count = db.execute("SELECT COUNT(*) FROM classes").fetchone()[0]
            if count >= max_classes:
                raise TooManyClasses(
                    f"The store keeps at most {max_classes} classes. Delete old classes on the "
                    "teacher page (or DELETE /api/classes/{code}) to start a new one."
                )
            cursor = db.execute(
                "INSERT INTO classes (code, created_at) VALUES (?, ?)", (code, time.time())
            )
            row = db.execute("SELECT * FROM classes WHERE id = ?", (cursor.lastrowid,)).fetchone()
            self._event(db, row["id"], "start", {"code": code})
        return _class_row(row)

    def code_taken(self, code: str) -> bool:
        row = self._db().execute("SELECT 1 FROM classes WHERE code = ?", (code,)).fetchone()
        return row is not None

    def get_class(self, code: str) -> ClassRow:
        row = self._db().execute("SELECT * FROM classes WHERE code = ?", (code,)).fetchone()
        if row is None:
            raise UnknownClass(
                f"No class has the code {code!r}. Check the code on the teacher's screen."
            )
        return _class_row(row)

    def list_classes(self) -> list[dict[str, Any]]:
        rows = self._db().execute(
            "SELECT c.*, (SELECT COUNT(*) FROM students s WHERE s.class_id = c.id) AS students, "
            "(SELECT COUNT(*) FROM drawings d WHERE d.class_id = c.id) AS drawings "
            "FROM classes c ORDER BY c.id DESC"
        )
        return [
            {**_class_row(row).state(), "students": row["students"], "drawings": row["drawings"]}
            for row in rows
        ]

    def delete_class(self, code: str) -> None:
        db = self._db()
        with write(db):
            if db.execute("DELETE FROM classes WHERE code = ?", (code,)).rowcount == 0:
                raise UnknownClass(f"No class has the code {code!r}.")

    def _change_class(self, klass: ClassRow, column: str, value: Any, kind: str) -> ClassRow:
        """Set one state column of the class and log the event, in one transaction."""
        db = self._db()
        with write(db):
            db.execute(f"UPDATE classes SET {column} = ? WHERE id = ?", (value, klass.id))
            row = db.execute("SELECT * FROM classes WHERE id = ?", (klass.id,)).fetchone()
            changed = _class_row(row)
            self._event(db, klass.id, kind, changed.state())
        return changed

    def set_prompt(self, klass: ClassRow, digit: int | None) -> ClassRow:
        return self._change_class(klass, "prompt", digit, "prompt")

    def set_paused(self, klass: ClassRow, paused: bool) -> ClassRow:
        return self._change_class(klass, "paused", int(paused), "pause")

    def set_veiled(self, klass: ClassRow, veiled: bool) -> ClassRow:
        return self._change_class(klass, "veiled", int(veiled), "veil")

    def clear_wall(self, klass: ClassRow) -> ClassRow:
        """The wall starts afresh from the next drawing; stored drawings stay for the export."""
        last = (
            self._db()
            .execute("SELECT COALESCE(MAX(id), 0) FROM drawings WHERE class_id = ?", (klass.id,))
            .fetchone()[0]
        )
        return self._change_class(klass, "wall_from", last, "clear")

    def end_class(self, klass: ClassRow) -> ClassRow:
        if klass.ended:
            return klass
        return self._change_class(klass, "ended_at", time.time(), "end")

    # Students

    def join(self, klass: ClassRow, name: str, token_hash: str, max_students: int) -> StudentRow:
        """Add a student; the name gets a number when another student of the class has it."""
        db = self._db()
        with write(db):
            ended = db.execute("SELECT ended_at FROM classes WHERE id = ?", (klass.id,)).fetchone()
            if ended[0] is not None:
                raise ClassEnded("This class has ended; ask the teacher for the new code.")
            names = {
                row[0]
                for row in db.execute("SELECT name FROM students WHERE class_id = ?", (klass.id,))
            }
            if len(names) >= max_students:
                raise ClassFull(
                    f"This class already has {max_students} students, the most it can take."
                )
            unique, number = name, 2
            while unique in names:
                unique, number = f"{name} {number}", number + 1
            cursor = db.execute(
                "INSERT INTO students (class_id, name, token_hash, joined_at) VALUES (?, ?, ?, ?)",
                (klass.id, unique, token_hash, time.time()),
            )
            student = StudentRow(int(cursor.lastrowid or 0), klass.id, unique)
            self._event(db, klass.id, "join", {"student_id": student.id, "name": unique})
        return student

    def student_by_token(self, token_hash: str) -> StudentRow | None:
        row = (
            self._db()
            .execute("SELECT id, class_id, name FROM students WHERE token_hash = ?", (token_hash,))
            .fetchone()
        )
        return None if row is None else StudentRow(row["id"], row["class_id"], row["name"])

    def student_count(self, klass: ClassRow) -> int:
        query = "SELECT COUNT(*) FROM students WHERE class_id = ?"
        return int(self._db().execute(query, (klass.id,)).fetchone()[0])

    # Drawings

    def add_drawing(
        self, klass: ClassRow, student: StudentRow, drawing: NewDrawing, per_minute: int
    ) -> dict[str, Any]:
        """Store a drawing and its wall event; the limits are checked inside the write lock, so
        two workers cannot both let a student's 31st drawing of the minute through."""
        prediction = drawing.prediction
        extra = {k: v for k, v in prediction.items() if k not in _COLUMN_FIELDS}
        preprocessed = extra.pop("preprocessed", None)
        pixels = np.ascontiguousarray(drawing.mnist, dtype=np.uint8)
        if pixels.shape != (MNIST_SIDE, MNIST_SIDE):
            raise ValueError(f"the model input must be 28x28, not {pixels.shape}")
        db = self._db()
        with write(db):
            state = _class_row(
                db.execute("SELECT * FROM classes WHERE id = ?", (klass.id,)).fetchone()
            )
            if state.ended:
                raise ClassEnded("This class has ended; the drawing was not sent.")
            if state.paused:
                raise ClassPaused("The teacher paused sending; try again in a moment.")
            now = time.time()
            recent = db.execute(
                "SELECT COUNT(*), MIN(created_at) FROM drawings "
                "WHERE student_id = ? AND created_at > ?",
                (student.id, now - 60),
            ).fetchone()
            if recent[0] >= per_minute:
                wait = max(1, math.ceil(recent[1] + 60 - now))
                raise RateLimited(
                    f"You sent {per_minute} drawings in the last minute, the most allowed; "
                    f"send again in {wait} s.",
                    wait,
                )
            cursor = db.execute(
                "INSERT INTO drawings (class_id, student_id, input_kind, input_data, mnist, model, "
                "digit, confidence, probabilities, extra, prompt, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    klass.id,
                    student.id,
                    drawing.input_kind,
                    drawing.input_data,
                    pixels.tobytes(),
                    prediction["model"],
                    int(prediction["digit"]),
                    float(prediction["confidence"]),
                    json.dumps(prediction["probabilities"]),
                    json.dumps(extra),
                    state.prompt,
                    now,
                ),
            )
            row = self._tile_row(db, klass.id, int(cursor.lastrowid or 0))
            body = tile(row, preprocessed)
            self._event(db, klass.id, "drawing", body)
        return body

    @staticmethod
    def _tile_row(db: sqlite3.Connection, class_id: int, drawing_id: int) -> sqlite3.Row:
        row = db.execute(
            f"SELECT {TILE_COLUMNS}, d.mnist FROM drawings d JOIN students s "
            "ON s.id = d.student_id WHERE d.class_id = ? AND d.id = ?",
            (class_id, drawing_id),
        ).fetchone()
        if row is None:
            raise UnknownDrawing(f"This class has no drawing {drawing_id}.")
        return row

    def drawing_owner(self, klass: ClassRow, drawing_id: int) -> int:
        return int(self._tile_row(self._db(), klass.id, drawing_id)["student_id"])

    def set_label(
        self, klass: ClassRow, drawing_id: int, label: int, labelled_by: str
    ) -> dict[str, Any]:
        db = self._db()
        with write(db):
            self._tile_row(db, klass.id, drawing_id)
            db.execute(
                "UPDATE drawings SET label = ?, labelled_by = ? WHERE id = ?",
                (label, labelled_by, drawing_id),
            )
            body = {"drawing_id": drawing_id, "label": label, "labelled_by": labelled_by}
            self._event(db, klass.id, "label", body)
        return body

    def set_hidden(self, klass: ClassRow, drawing_id: int, hidden: bool) -> dict[str, Any]:
        db = self._db()
        with write(db):
            self._tile_row(db, klass.id, drawing_id)
            db.execute("UPDATE drawings SET hidden = ? WHERE id = ?", (int(hidden), drawing_id))
            body = {"drawing_id": drawing_id, "hidden": hidden}
            self._event(db, klass.id, "hide", body)
        return body

    def drawings(self, klass: ClassRow, with_images: bool = True) -> list[dict[str, Any]]:
        """Every drawing of the class in the order received, hidden ones flagged."""
        rows = self._db().execute(
            f"SELECT {TILE_COLUMNS}, d.mnist FROM drawings d JOIN students s "
            "ON s.id = d.student_id WHERE d.class_id = ? ORDER BY d.id",
            (klass.id,),
        )
        return [
            tile(row, to_png_data_url(pixels(row["mnist"]) / 255.0) if with_images else None)
            for row in rows
        ]

    def export_rows(self, klass: ClassRow, page: int = 200) -> Iterator[sqlite3.Row]:
        """Rows for the export, a page at a time: a long class never sits in memory whole.

        Each page is its own query on the calling thread's connection, so the consumer may
        resume the generator from any thread (Starlette's pool does).
        """
        after = 0
        while True:
            rows = (
                self._db()
                .execute(
                    f"SELECT {TILE_COLUMNS}, d.mnist FROM drawings d JOIN students s "
                    "ON s.id = d.student_id WHERE d.class_id = ? AND d.id > ? "
                    "ORDER BY d.id LIMIT ?",
                    (klass.id, after, page),
                )
                .fetchall()
            )
            if not rows:
                return
            yield from rows
            after = rows[-1]["id"]

    def input_as_sent(self, drawing_id: int) -> tuple[str, bytes]:
        row = (
            self._db()
            .execute("SELECT input_kind, input_data FROM drawings WHERE id = ?", (drawing_id,))
            .fetchone()
        )
        if row is None:
            raise UnknownDrawing(f"No drawing {drawing_id}.")
        return row[0], bytes(row[1])

    def labelled_drawings(
        self, since_id: int = 0, class_code: str | None = None
    ) -> Iterator[LabelledDrawing]:
        """Drawings a student or the teacher labelled (the corrections feature trains on these)."""
        query = (
            "SELECT d.id, c.code, d.mnist, d.label, d.labelled_by, d.digit, d.model, d.created_at "
            "FROM drawings d JOIN classes c ON c.id = d.class_id "
            "WHERE d.label IS NOT NULL AND d.id > ? AND (? IS NULL OR c.code = ?) ORDER BY d.id"
        )
        for row in self._db().execute(query, (since_id, class_code, class_code)):
            yield LabelledDrawing(
                drawing_id=row[0],
                class_code=row[1],
                image=pixels(row[2]),
                label=row[3],
                labelled_by=row[4],
                digit=row[5],
                model=row[6],
                created_at=row[7],
            )

    # The event log

    def events_after(
        self, class_id: int, after_id: int, kinds: Iterable[str] | None = None, limit: int = 500
    ) -> list[Event]:
        wanted = sorted(set(kinds)) if kinds is not None else []
        kind_filter = f" AND kind IN ({', '.join('?' * len(wanted))})" if kinds is not None else ""
        rows = self._db().execute(
            "SELECT id, class_id, kind, data FROM class_events "
            f"WHERE class_id = ? AND id > ?{kind_filter} ORDER BY id LIMIT ?",
            (class_id, after_id, *wanted, limit),
        )
        return [Event(*row) for row in rows]

    def new_events(self, after_id: int, limit: int = 1000) -> list[Event]:
        """Events of every class after `after_id`: what one poll of a worker's hub reads."""
        rows = self._db().execute(
            "SELECT id, class_id, kind, data FROM class_events WHERE id > ? ORDER BY id LIMIT ?",
            (after_id, limit),
        )
        return [Event(*row) for row in rows]

    def last_event_id(self) -> int:
        row = self._db().execute("SELECT COALESCE(MAX(id), 0) FROM class_events").fetchone()
        return int(row[0])


def pixels(blob: bytes) -> np.ndarray:
    """A stored 28x28 as a (28, 28) uint8 array."""
    return np.frombuffer(blob, dtype=np.uint8).reshape(MNIST_SIDE, MNIST_SIDE)
