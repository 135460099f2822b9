"""The SQLite file of the server: connection settings, the schema and its numbered migrations.

Every feature that stores something (classroom, corrections) adds its tables as the next step in
MIGRATIONS and talks to the file only through connections made here, so the settings below hold
everywhere: WAL (readers never block the writer, and two worker processes share one file),
a busy timeout instead of "database is locked", foreign keys on, and synchronous=FULL so that a
write acknowledged to a client survives a power cut or a kill -9.
"""

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

DB_FILE = "digitdraw.sqlite3"
BUSY_TIMEOUT_MS = 5_000  # two workers writing at once wait for each other, never fail


class StoreUnavailable(RuntimeError):
    """The store cannot be opened or written (read-only folder, full disk, corrupt file)."""


@dataclass(frozen=True)
class Migration:
    """One schema step, applied once, in order, inside a transaction."""

    version: int
    name: str
    sql: str


# Append new steps at the end with the next version number; never edit a step that has shipped.
MIGRATIONS: list[Migration] = [
    Migration(
        1,
        "classroom",
        # Classes, their students (only a hash of each token), the drawings sent to the class
        # (the input as sent, the 28x28 the model saw, its answer) and the log of class events
        # that every worker process tails for its live streams (app/classroom/events.py).
        """
CREATE TABLE classes (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    created_at REAL NOT NULL,
    ended_at REAL,
    prompt INTEGER CHECK (prompt BETWEEN 0 AND 9),
    paused INTEGER NOT NULL DEFAULT 0,
    veiled INTEGER NOT NULL DEFAULT 0,
    wall_from INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE students (
    id INTEGER PRIMARY KEY,
    class_id INTEGER NOT NULL REFERENCES classes (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    joined_at REAL NOT NULL
);
CREATE INDEX students_by_class ON students (class_id);
CREATE TABLE drawings (
    id INTEGER PRIMARY KEY,
    class_id INTEGER NOT NULL REFERENCES classes (id) ON DELETE CASCADE,
    student_id INTEGER NOT NULL REFERENCES students (id) ON DELETE CASCADE,
    input_kind TEXT NOT NULL,
    input_data BLOB NOT NULL,
    mnist BLOB NOT NULL CHECK (length(mnist) = 784),
    model TEXT NOT NULL,
    digit INTEGER NOT NULL,
    confidence REAL NOT NULL,
    probabilities TEXT NOT NULL,
    extra TEXT NOT NULL DEFAULT '{}',
    prompt INTEGER CHECK (prompt BETWEEN 0 AND 9),
    label INTEGER CHECK (label BETWEEN 0 AND 9),
    labelled_by TEXT CHECK (labelled_by IN ('student', 'teacher')),
    created_at REAL NOT NULL,
    hidden INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX drawings_by_class ON drawings (class_id, id);
CREATE INDEX drawings_by_student ON drawings (student_id, created_at);
CREATE TABLE class_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    class_id INTEGER NOT NULL REFERENCES classes (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX class_events_by_class ON class_events (class_id, id)
""",
    ),
]


def db_path(data_dir: Path) -> Path:
    return data_dir / DB_FILE


def connect(path: Path) -> sqlite3.Connection:
    """A connection with the store's settings; one per thread (or per request), never shared."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Never shared, but it may change threads: a streamed export (GET /corrections/export?
        # format=csv) is a generator Starlette resumes in whichever pool thread is free.
        connection = sqlite3.connect(
            path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
        )
        connection.row_factory = sqlite3.Row
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = FULL")
        connection.execute("PRAGMA foreign_keys = ON")
    except (OSError, sqlite3.Error) as error:
        raise StoreUnavailable(f"Cannot open the store {path}: {error}") from error
    return connection


@contextmanager
def transaction(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT: the write lock is taken up front, so no deadlock on upgrade."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield connection
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def schema_version(connection: sqlite3.Connection) -> int:
    return int(connection.execute("PRAGMA user_version").fetchone()[0])


def migrate(connection: sqlite3.Connection, migrations: list[Migration] | None = None) -> int:
    """Apply every step newer than the file's PRAGMA user_version; returns the new version.

    Safe to call from several workers at once: the version is re-read inside the write lock.
    """
    steps = sorted(MIGRATIONS if migrations is None else migrations, key=lambda m: m.version)
    for step in steps:
        with transaction(connection):
            if schema_version(connection) >= step.version:
                continue
            for statement in step.sql.split(";\n"):
                if statement.strip():
                    connection.execute(statement)
            connection.execute(f"PRAGMA user_version = {int(step.version)}")
    return schema_version(connection)


def open_store(data_dir: Path) -> sqlite3.Connection:
    """Connect to the store in `data_dir` and bring its schema up to date."""
    connection = connect(db_path(data_dir))
    try:
        migrate(connection)
    except sqlite3.Error as error:
        connection.close()
        raise StoreUnavailable(f"Cannot prepare the store {db_path(data_dir)}: {error}") from error
    return connection


# The corrections feature's step (app/store/corrections.py). It is appended here, away from the
# list above, so that branches adding steps in parallel merge without touching the same lines;
# migrate() applies the steps in version order whatever order they are listed in.
MIGRATIONS.append(
    Migration(
        2,
        "corrections",
        # One row per "it was really a 7": the input as sent (strokes or pixels as JSON text,
        # an image as its file bytes), the 28x28 the model saw (784 bytes, white on black),
        # which model and version answered what, and the digit it really was.
        """
CREATE TABLE corrections (
    id INTEGER PRIMARY KEY,
    created_at REAL NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('page', 'class', 'api')),
    writer TEXT,
    input_kind TEXT NOT NULL CHECK (input_kind IN ('image', 'strokes', 'pixels')),
    input_data BLOB NOT NULL,
    mnist BLOB NOT NULL CHECK (length(mnist) = 784),
    model TEXT NOT NULL,
    model_version INTEGER NOT NULL,
    digit INTEGER NOT NULL CHECK (digit BETWEEN 0 AND 9),
    shown_digit INTEGER CHECK (shown_digit BETWEEN 0 AND 9),
    probabilities TEXT NOT NULL,
    label INTEGER NOT NULL CHECK (label BETWEEN 0 AND 9)
);
CREATE INDEX corrections_by_time ON corrections (created_at)
""",
    )
)
