"""The class's training job: one `python -m training live` subprocess at a time, its JSON lines
kept as numbered events in a file that every worker can stream.

The server never imports TensorFlow: the trainer is a child process in a session (process group)
of its own, so cancelling, or the server stopping, kills it and anything it started. Its CPU use
is bounded by the trainer itself (one TensorFlow thread, a higher niceness).

Everything about a job lives under ``<data_dir>/training/``:

- ``job.lock``: held (flock) by the worker running a job, so a second start in any worker of
  this server gets 409; the kernel releases it if that worker dies;
- ``current``: the id of the latest job, for a page that opens while one runs;
- ``jobs/<id>/job.json``: settings, process id and state (running, done, failed, cancelled);
- ``jobs/<id>/events.jsonl``: one event a line, ``{"id", "event", "data"}``, ids from 1, the
  trainer's lines as they come plus the server's own ending (cancelled, or failed for a crash);
- ``jobs/<id>/drawing.json``: the pad's latest 28x28 drawing, which the trainer re-reads;
- ``jobs/<id>/stderr.log``: the trainer's log, whose last line explains a crash.

Finished class models are stored in ``<data_dir>/models/<name>/``.
"""

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import re
import secrets
import shutil
import signal
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from app.errors import (
    JobFinished,
    MnistMissing,
    TrainingBusy,
    UnknownClassModel,
    UnknownJob,
)
from app.inference import ModelRegistry, ReloadFailed, class_models_dir, request_reload
from app.settings import REPO_ROOT

logger = logging.getLogger(__name__)

# The same choices and ranges as training/live.py (the server does not import training);
# tests/test_training_jobs.py checks that they match.
TUTORIAL_MODELS = ("mlp512", "mlp128-64", "cnn-tutorial")
OPTIMIZERS = ("sgd", "momentum", "rmsprop", "adam")
MAX_EPOCHS = 50
MAX_BATCH_SIZE = 4096
MIN_TRAIN_SIZE = 100
MAX_TRAIN_SIZE = 55_000
MAX_HIDDEN_UNITS = 2048
MAX_LEARNING_RATE = 10.0

TERMINAL_EVENTS = ("done", "failed", "cancelled")
POLL_SECONDS = 0.1  # how often a stream looks for new lines in the event file
HEARTBEAT_SECONDS = 15  # a comment line keeps proxies and phones from closing a quiet stream
TERMINATE_SECONDS = 3  # SIGTERM, then SIGKILL after this long
LINE_LIMIT = 1 << 20  # a weights line is ~35 KB; asyncio's default limit is 64 KB
TRAINER_NICENESS = 10
CLASS_MODEL_NAME = re.compile(r"^class-[a-z0-9][a-z0-9.-]*$")
HOW_TO_GET_MNIST = (
    "MNIST is not on this computer: before class, run `python -m training fetch-data` on a "
    "machine with internet (or copy mnist.npz to {path}, or set DIGITDRAW_MNIST to its path)."
)


@dataclass(frozen=True)
class JobSettings:
    """What the teacher chose; already validated by the API schema."""

    model: str
    optimizer: str
    learning_rate: float
    epochs: int
    batch_size: int
    train_size: int
    hidden_units: int | None = None


def keras_cache_path() -> Path:
    """Where keras.datasets.mnist.load_data() keeps MNIST ($KERAS_HOME or ~/.keras)."""
    keras_home = os.environ.get("KERAS_HOME", os.path.join("~", ".keras"))
    return Path(keras_home).expanduser() / "datasets" / "mnist.npz"


def mnist_file(configured: Path | None) -> Path:
    """The configured MNIST file, else Keras's cache (which may not exist)."""
    return configured if configured else keras_cache_path()


def mnist_problem(configured: Path | None) -> str | None:
    """None when MNIST is there; else the one sentence that says how to get it."""
    path = mnist_file(configured)
    if path.is_file():
        return None
    return HOW_TO_GET_MNIST.format(path=path)


def write_json(path: Path, value: Any) -> None:
    """Replace a small JSON file whole: readers in other workers never see half of it."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_text(json.dumps(value, ensure_ascii=False), encoding="utf-8")
    partial.replace(path)


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def kill_group(pid: int, sig: int) -> None:
    """Signal the trainer's whole process group (its pid is the group's id)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


class EventLog:
    """The job's numbered events, appended by the worker that runs it, read by every worker."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.last_id = 0

    def append(self, event: str, data: dict[str, Any]) -> int:
        self.last_id += 1
        line = json.dumps({"id": self.last_id, "event": event, "data": data}, ensure_ascii=False)
        with self.path.open("a", encoding="utf-8") as file:
            file.write(line + "\n")
        return self.last_id


@dataclass
class RunningJob:
    """The job this worker runs: its process, its event log and the lock it holds."""

    job_id: str
    folder: Path
    process: asyncio.subprocess.Process
    log: EventLog
    lock: IO[str]
    watcher: asyncio.Task | None = None


class TrainingJobs:
    """Start, follow, cancel and clean up the one training job; one instance per worker."""

    def __init__(
        self,
        data_dir: Path,
        mnist_path: Path | None,
        registry: ModelRegistry | None = None,
        python: str = sys.executable,
    ) -> None:
        self.data_dir = data_dir
        self.root = data_dir / "training"
        self.models_dir = class_models_dir(data_dir)  # where the registry looks for them
        self.mnist_path = mnist_path
        self.registry = registry
        self.python = python
        self.running: RunningJob | None = None
        self.stopping = False  # the server is stopping: streams end, the trainer goes first

    def stop_with_the_server(self) -> None:
        """Chain onto uvicorn's SIGINT and SIGTERM handlers (main thread only).

        uvicorn lets open responses finish before the lifespan's shutdown runs, and an event
        stream of a running job only finishes with the job: without this, stopping the server
        while a page follows a job would wait for the job. Here the trainer's group is killed
        at the signal, so its ending is logged and every stream closes.
        """
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous = signal.getsignal(sig)
            if not callable(previous):
                continue

            def handler(number: int, frame: Any, previous: Callable = previous) -> None:
                self.stopping = True
                if self.running:
                    (self.running.folder / "cancel").write_text("server", encoding="utf-8")
                    kill_group(self.running.process.pid, signal.SIGTERM)
                previous(number, frame)

            signal.signal(sig, handler)

    # --- paths and state -------------------------------------------------------------------
    def folder(self, job_id: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{16}", job_id) or not (self.root / "jobs" / job_id).is_dir():
            raise UnknownJob(f"There is no training job {job_id!r}; start one with POST.")
        return self.root / "jobs" / job_id

    def state(self, job_id: str) -> dict[str, Any]:
        """job.json, with a job whose worker died without a word reported as failed."""
        folder = self.folder(job_id)
        job = read_json(folder / "job.json") or {}
        if job.get("state") == "running" and not self.lock_held_elsewhere(job):
            job = {**job, "state": "failed", "reason": "The server stopped during training."}
        return job

    def lock_held_elsewhere(self, job: dict[str, Any]) -> bool:
        """True while some worker still runs `job` (its process is alive)."""
        if self.running and self.running.job_id == job.get("id"):
            return True
        pid = job.get("pid")
        return isinstance(pid, int) and process_alive(pid)

    def current(self) -> dict[str, Any] | None:
        """The latest job's state, or None before the first."""
        try:
            job_id = (self.root / "current").read_text(encoding="utf-8").strip()
            return self.state(job_id)
        except (OSError, UnknownJob):
            return None

    # --- start -----------------------------------------------------------------------------
    def take_lock(self) -> IO[str]:
        self.root.mkdir(parents=True, exist_ok=True)
        lock = (self.root / "job.lock").open("a")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            running = self.current() or {}
            raise TrainingBusy(
                f"A training job is already running ({running.get('id', 'in another worker')}); "
                "wait for it to finish or cancel it with DELETE /api/training/{job_id}."
            ) from None
        return lock

    def command(self, settings: JobSettings, folder: Path) -> list[str]:
        words = [
            self.python,
            "-m",
            "training",
            "live",
            "--model",
            settings.model,
            "--optimizer",
            settings.optimizer,
            "--learning-rate",
            repr(settings.learning_rate),
            "--epochs",
            str(settings.epochs),
            "--batch-size",
            str(settings.batch_size),
            "--train-size",
            str(settings.train_size),
            "--data",
            str(mnist_file(self.mnist_path)),
            "--out",
            str(self.models_dir),
            "--drawing",
            str(folder / "drawing.json"),
            "--threads",
            "1",
            "--nice",
            str(TRAINER_NICENESS),
        ]
        if settings.hidden_units:
            words += ["--hidden-units", str(settings.hidden_units)]
        return words

    async def start(self, settings: JobSettings) -> str:
        """Start the trainer; TrainingBusy (409) while a job runs, MnistMissing without data."""
        problem = mnist_problem(self.mnist_path)
        if problem:
            raise MnistMissing(problem)
        lock = self.take_lock()
        try:
            job_id = secrets.token_hex(8)
            folder = self.root / "jobs" / job_id
            folder.mkdir(parents=True)
            stderr = (folder / "stderr.log").open("wb")
            try:
                process = await asyncio.create_subprocess_exec(
                    *self.command(settings, folder),
                    cwd=REPO_ROOT,
                    env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1"},
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=stderr,
                    start_new_session=True,  # its own process group: one killpg ends it all
                    limit=LINE_LIMIT,
                )
            finally:
                stderr.close()
        except BaseException:
            lock.close()
            raise
        job = {
            "id": job_id,
            "settings": asdict(settings),
            "pid": process.pid,
            "state": "running",
            "started": time.time(),
        }
        write_json(folder / "job.json", job)
        (self.root / "current").write_text(job_id, encoding="utf-8")
        log = EventLog(folder / "events.jsonl")
        log.append("queued", {"job_id": job_id, "settings": asdict(settings)})
        running = RunningJob(job_id, folder, process, log, lock)
        self.running = running
        running.watcher = asyncio.create_task(self.follow(running))
        logger.info("Training job %s started (pid %d): %s", job_id, process.pid, settings)
        return job_id

    # --- the running job -------------------------------------------------------------------
    async def follow(self, job: RunningJob) -> None:
        """Relay the trainer's lines into the event log until it exits, then end the job."""
        ending: tuple[str, dict[str, Any]] | None = None
        try:
            assert job.process.stdout is not None
            async for raw in job.process.stdout:
                try:
                    line = json.loads(raw)
                    event = str(line.pop("event"))
                except (ValueError, KeyError, TypeError, AttributeError):
                    continue  # not one of ours; the trainer keeps its stdout for JSON only
                if event in TERMINAL_EVENTS:
                    ending = (event, line)  # written after the process has exited
                    continue
                job.log.append(event, line)
            await job.process.wait()
        finally:
            await self.finish(job, ending)

    async def finish(self, job: RunningJob, ending: tuple[str, dict[str, Any]] | None) -> None:
        code = job.process.returncode
        cancel = job.folder / "cancel"
        if cancel.exists():
            by_server = cancel.read_text(encoding="utf-8") == "server"
            reason = "The server stopped." if by_server else "The teacher cancelled the job."
            event, data = "cancelled", {"reason": reason}
        elif ending:
            event, data = ending
        else:
            event, data = "failed", {"reason": self.crash_reason(job.folder, code)}
        if event == "done":
            await self.models_changed()  # served before the page hears "done"
        job.log.append(event, {"job_id": job.job_id, **data})
        state = read_json(job.folder / "job.json") or {}
        state.update(state=event, finished=time.time(), returncode=code)
        if event == "done":
            state["name"] = data.get("name")
        else:
            state["reason"] = data.get("reason")
        write_json(job.folder / "job.json", state)
        if self.running is job:
            self.running = None
        job.lock.close()  # releases the flock: the next job may start
        logger.info("Training job %s ended: %s", job.job_id, event)

    @staticmethod
    def crash_reason(folder: Path, code: int | None) -> str:
        try:
            lines = (folder / "stderr.log").read_text(errors="replace").strip().splitlines()
        except OSError:
            lines = []
        last = lines[-1] if lines else ""
        return f"The trainer stopped (exit status {code}). {last}".strip()

    # --- cancel and shutdown ---------------------------------------------------------------
    async def cancel(self, job_id: str) -> dict[str, Any]:
        """Kill the job's process group (from any worker) and wait until it has ended."""
        folder = self.folder(job_id)
        job = self.state(job_id)
        if job.get("state") != "running":
            raise JobFinished(f"Training job {job_id} has already ended ({job.get('state')}).")
        (folder / "cancel").write_text("teacher", encoding="utf-8")
        pid = int(job["pid"])
        kill_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + TERMINATE_SECONDS
        while process_alive(pid) and time.monotonic() < deadline:
            await asyncio.sleep(POLL_SECONDS)
        if process_alive(pid):
            kill_group(pid, signal.SIGKILL)
        # The worker running the job writes the ending once it has reaped the process.
        deadline = time.monotonic() + TERMINATE_SECONDS * 2
        while time.monotonic() < deadline:
            job = self.state(job_id)
            if job.get("state") != "running":
                break
            await asyncio.sleep(POLL_SECONDS)
        return job

    async def shutdown(self) -> None:
        """Server stopping: end this worker's job and its children, and say so in the log."""
        job = self.running
        self.stopping = True
        if job is None:
            return
        (job.folder / "cancel").write_text("server", encoding="utf-8")
        kill_group(job.process.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(job.process.wait(), TERMINATE_SECONDS)
        except TimeoutError:
            kill_group(job.process.pid, signal.SIGKILL)
            await job.process.wait()
        if job.watcher:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(job.watcher, TERMINATE_SECONDS)

    # --- the pad's drawing -----------------------------------------------------------------
    def set_drawing(self, job_id: str, pixels: list[list[int]]) -> None:
        """Hand the pad's drawing (28x28 0..255) to the trainer, which re-reads the file."""
        folder = self.folder(job_id)
        if self.state(job_id).get("state") != "running":
            raise JobFinished(f"Training job {job_id} has ended; ask the model with /predict.")
        write_json(folder / "drawing.json", {"pixels": pixels})

    # --- the event stream ------------------------------------------------------------------
    async def events(self, job_id: str, after: int = 0) -> AsyncIterator[str]:
        """SSE text: every event after id `after`, then new ones as they come, until the end."""
        folder = self.folder(job_id)
        path = folder / "events.jsonl"
        offset, buffer, quiet_since = 0, b"", time.monotonic()
        ended_without_a_word = False
        stopped_at = 0.0
        while True:
            try:
                with path.open("rb") as file:
                    file.seek(offset)
                    chunk = file.read()
            except FileNotFoundError:
                chunk = b""
            offset += len(chunk)
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")  # a half-written last line waits its turn
            for raw in lines:
                entry = json.loads(raw)
                if entry["id"] <= after:
                    continue
                quiet_since = time.monotonic()
                data = json.dumps(entry["data"], ensure_ascii=False, separators=(",", ":"))
                yield f"id: {entry['id']}\nevent: {entry['event']}\ndata: {data}\n\n"
                if entry["event"] in TERMINAL_EVENTS:
                    return
            if not lines and self.state(job_id).get("state") != "running":
                # The ending is written before the state: read once more before concluding
                # that the worker running the job died without one.
                if ended_without_a_word:
                    reason = self.state(job_id).get("reason") or "The job ended without a word."
                    data = json.dumps({"job_id": job_id, "reason": reason})
                    yield f"event: failed\ndata: {data}\n\n"
                    return
                ended_without_a_word = True
            if self.stopping and not lines:
                # The server is stopping: the ending (cancelled) comes within moments of the
                # trainer's death; a stream of a job in no one's hands ends anyway.
                stopped_at = stopped_at or time.monotonic()
                if time.monotonic() - stopped_at > TERMINATE_SECONDS * 2:
                    return
            if time.monotonic() - quiet_since > HEARTBEAT_SECONDS:
                quiet_since = time.monotonic()
                yield ": still training\n\n"
            await asyncio.sleep(POLL_SECONDS)

    def last_event_id(self, job_id: str) -> int:
        """The id of the job's last event (0 when it has none)."""
        try:
            lines = (self.folder(job_id) / "events.jsonl").read_bytes().splitlines()
        except FileNotFoundError:
            return 0
        return json.loads(lines[-1])["id"] if lines else 0

    # --- class models ----------------------------------------------------------------------
    def class_models(self) -> list[dict[str, Any]]:
        """The models trained in class, newest first, with what their cards say."""
        if not self.models_dir.is_dir():
            return []
        models = []
        for folder in self.models_dir.iterdir():
            card = read_json(folder / "card.json")
            if not CLASS_MODEL_NAME.match(folder.name) or not isinstance(card, dict):
                continue
            training = card.get("training") or {}
            models.append(
                {
                    "name": folder.name,
                    "description": card.get("description"),
                    "created": card.get("created"),
                    "mnist_test_accuracy": (card.get("evaluation") or {})
                    .get("mnist_test", {})
                    .get("accuracy"),
                    "train_size": training.get("train_size"),
                    "epochs": training.get("epochs"),
                    "optimizer": training.get("optimizer"),
                    "seconds": training.get("seconds"),
                }
            )
        return sorted(models, key=lambda model: model.get("created") or "", reverse=True)

    async def delete_model(self, name: str) -> None:
        """Remove a class model's folder, then let the registry forget it."""
        folder = self.models_dir / name
        if not CLASS_MODEL_NAME.match(name) or not (folder / "card.json").is_file():
            raise UnknownClassModel(
                f"There is no class model {name!r}; GET /api/training/models lists them."
            )
        shutil.rmtree(folder)
        await self.models_changed()

    async def models_changed(self) -> None:
        """Reload this worker's models now and ask every other worker to (app.inference)."""
        request_reload(self.data_dir)
        if self.registry is None:
            return
        try:
            await asyncio.to_thread(self.registry.reload)
        except ReloadFailed as error:  # the old models are still served; a restart retries
            logger.error("%s", error.message)
