"""Tools for the classroom tests: a class on a real server, students, and an SSE reader."""

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import numpy as np

from tests.helpers import TEACHER, data_url, digit_canvas, encode

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
