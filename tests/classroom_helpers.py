"""Tools for the classroom tests: a class on a real server, students, and an SSE reader."""

import json
import os
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np

from tests.conftest import REPO_ROOT
from tests.helpers import (
    TEACHER,
    TEACHER_KEY,
    app_command,
    data_url,
    digit_canvas,
    encode,
    free_port,
    quiet_env,
    wait_until_ready,
)

SSE_WAIT_SECONDS = 15  # generous: two cores shared with the rest of the suite


@dataclass
class Student:
    id: int
    token: str
    name: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def start_class(base_url: str) -> dict:
    response = httpx.post(f"{base_url}/api/classes", headers=TEACHER, timeout=30)
    assert response.status_code == 201, response.text
    return response.json()


def join(base_url: str, code: str, name: str | None = None) -> Student:
    body = {} if name is None else {"name": name}
    response = httpx.post(f"{base_url}/api/classes/{code}/join", json=body, timeout=30)
    assert response.status_code == 201, response.text
    joined = response.json()
    return Student(joined["student_id"], joined["student_token"], joined["name"])


def image_payload(digit: np.ndarray) -> dict[str, str]:
    """An MNIST digit as a canvas-like PNG data URL, the way a page sends it."""
    return {"image": data_url(encode(digit_canvas(digit)))}


def send(
    base_url: str, code: str, student: Student, payload: dict, client: httpx.Client | None = None
) -> httpx.Response:
    poster = client or httpx
    return poster.post(
        f"{base_url}/api/classes/{code}/drawings", json=payload, headers=student.auth, timeout=30
    )


class SseReader(threading.Thread):
    """Reads an event stream in a thread; events (id, event, data) pile up in `events`."""

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.headers = headers or {}
        self.events: list[dict] = []
        self.comments: list[str] = []
        self.status: int | None = None
        self.client_port: int | None = None  # this end's TCP port: which worker serves it
        self.error: BaseException | None = None
        self.done = threading.Event()
        self.connected = threading.Event()
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self.start()

    def run(self) -> None:
        try:
            timeout = httpx.Timeout(30, read=60)
            with httpx.stream("GET", self.url, headers=self.headers, timeout=timeout) as response:
                self.status = response.status_code
                stream = response.extensions["network_stream"]
                self.client_port = stream.get_extra_info("client_addr")[1]
                self.connected.set()
                event: dict = {}
                for line in response.iter_lines():
                    if self._stop.is_set():
                        break
                    if line == "":
                        if "data" in event:
                            event["data"] = json.loads(event["data"])
                            with self._changed:
                                self.events.append(event)
                                self._changed.notify_all()
                        event = {}
                    elif line.startswith(":"):
                        self.comments.append(line)
                    else:
                        field, _, value = line.partition(":")
                        event[field] = value.removeprefix(" ")
        except BaseException as error:  # noqa: BLE001 (reported by wait_for)
            self.error = error
        finally:
            self.done.set()
            with self._changed:
                self._changed.notify_all()

    def wait_for(
        self, predicate: Callable[[list[dict]], bool], timeout: float = SSE_WAIT_SECONDS
    ) -> list[dict]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(self.events):
                left = deadline - time.monotonic()
                if left <= 0 or (self.done.is_set() and not predicate(self.events)):
                    raise AssertionError(
                        f"stream {self.url}: condition not met; status {self.status}, "
                        f"error {self.error!r}, {len(self.events)} events: {self.events[-3:]}"
                    )
                self._changed.wait(min(left, 0.5))
        return list(self.events)

    def of_kind(self, kind: str) -> list[dict]:
        return [event for event in self.events if event.get("event") == kind]

    def close(self) -> None:
        self._stop.set()


def kinds(events: list[dict]) -> list[str]:
    return [event["event"] for event in events]


class ClassServer:
    """``python -m app`` on one fixed port and data folder, that a test can kill -9 and restart
    (running_server picks a new port each time; phones must find the laptop where it was)."""

    def __init__(self, model_dir: Path, data_dir: Path, *arguments: str, env: dict | None = None):
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.data_dir = data_dir
        self.model_dir = model_dir
        self.arguments = arguments
        self.env = env or {}
        self.process: subprocess.Popen | None = None
        self.log = tempfile.TemporaryFile("w+")  # noqa: SIM115 (closed in stop())

    def start(self) -> None:
        command = app_command(
            "--host", "127.0.0.1", "--port", str(self.port), "--model-dir", str(self.model_dir),
            *self.arguments,
        )  # fmt: skip
        variables = {
            "DIGITDRAW_DATA_DIR": str(self.data_dir),
            "DIGITDRAW_TEACHER_KEY": TEACHER_KEY,
            **self.env,
        }
        self.process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=quiet_env(**variables),
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_until_ready(self.base_url, self.process, self.log)

    def kill(self) -> None:
        """kill -9: no shutdown, no flush, connections cut mid-stream."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
