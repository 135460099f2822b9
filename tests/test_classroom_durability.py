"""The classroom survives what happens in a real lesson: a kill -9 of the server, a restart, and
two worker processes that each hold some phones and the wall.
"""

import os
import signal
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import psutil
import pytest

from app.settings import Settings
from tests.classroom_helpers import SseReader, Student, image_payload, join, kinds, start_class
from tests.helpers import TEACHER, running_server

ENV = {"DIGITDRAW_CLASSROOM_HEARTBEAT_S": "1", "DIGITDRAW_CLASSROOM_DRAWINGS_PER_MINUTE": "1000"}
MODEL_DIR = Settings().model_dir


@pytest.fixture(scope="module")
def images(mnist_test: tuple[np.ndarray, np.ndarray]) -> list[dict[str, str]]:
    return [image_payload(image) for image in mnist_test[0][:12]]


def drawing_ids(base_url: str, code: str) -> list[int]:
    response = httpx.get(f"{base_url}/api/classes/{code}/drawings", headers=TEACHER, timeout=30)
    assert response.status_code == 200, response.text
    return [row["id"] for row in response.json()["drawings"]]


def test_every_acknowledged_drawing_survives_kill_9_and_a_restart(
    tmp_path: Path, images: list[dict[str, str]]
) -> None:
    acknowledged: list[int] = []
    with running_server(MODEL_DIR, "--log-level", "warning", data_dir=tmp_path, env=ENV) as (
        base_url,
        process,
    ):
        code = start_class(base_url)["code"]
        students = [join(base_url, code, f"Student {i}") for i in range(3)]
        stop = threading.Event()

        def keep_sending(student: Student, offset: int) -> None:
            with httpx.Client(timeout=10) as client:
                for i in range(10_000):
                    if stop.is_set():
                        return
                    try:
                        response = client.post(
                            f"{base_url}/api/classes/{code}/drawings",
                            json=images[(i + offset) % len(images)],
                            headers=student.auth,
                        )
                    except httpx.TransportError:
                        return  # the server is gone: what it acknowledged must be on disk
                    if response.status_code == 201:
                        acknowledged.append(response.json()["drawing_id"])

        senders = [
            threading.Thread(target=keep_sending, args=(s, i), daemon=True)
            for i, s in enumerate(students)
        ]
        for sender in senders:
            sender.start()
        deadline = time.monotonic() + 60
        while len(acknowledged) < 30 and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(process.pid, signal.SIGKILL)  # mid-class, with requests in flight
        process.wait(10)
        stop.set()
        for sender in senders:
            sender.join(15)
    assert len(acknowledged) >= 30
    with running_server(MODEL_DIR, "--log-level", "warning", data_dir=tmp_path, env=ENV) as (
        base_url,
        _,
    ):
        stored = drawing_ids(base_url, code)
        assert set(acknowledged) <= set(stored), set(acknowledged) - set(stored)
        # The wall's replay has them too, and the students come back as themselves.
        wall = SseReader(f"{base_url}/api/classes/{code}/events", TEACHER)
        events = wall.wait_for(
            lambda seen: len([e for e in seen if e["event"] == "drawing"]) >= len(stored)
        )
        assert {e["data"]["id"] for e in events if e["event"] == "drawing"} == set(stored)
        again = httpx.post(
            f"{base_url}/api/classes/{code}/drawings", json=images[0], headers=students[0].auth
        )
        assert again.status_code == 201, again.text
        me = httpx.get(f"{base_url}/api/classes/{code}/me", headers=students[0].auth).json()
        assert me["name"] == "Student 0"
        wall.wait_for(
            lambda seen: again.json()["drawing_id"] in {e["data"].get("id") for e in seen}
        )
        wall.close()


def worker_of(children: list[psutil.Process], server_port: int, client_port: int) -> int:
    """The pid of the worker process holding the TCP connection from `client_port`."""
    for child in children:
        # psutil 6 renamed connections() to net_connections(); the project allows 5.9 too.
        listing = getattr(child, "net_connections", None) or child.connections
        for connection in listing(kind="tcp"):
            if (
                connection.laddr
                and connection.laddr.port == server_port
                and connection.raddr
                and connection.raddr.port == client_port
            ):
                return child.pid
    raise AssertionError(f"no worker holds the connection from port {client_port}")


def test_with_two_workers_drawings_through_either_reach_walls_on_either(
    images: list[dict[str, str]],
) -> None:
    with running_server(MODEL_DIR, "--workers", "2", "--log-level", "warning", env=ENV) as (
        base_url,
        process,
    ):
        server_port = int(base_url.rsplit(":", 1)[1])
        deadline = time.monotonic() + 30
        children: list[psutil.Process] = []
        while len(children) < 2 and time.monotonic() < deadline:
            children = [c for c in psutil.Process(process.pid).children() if "python" in c.name()]
            time.sleep(0.2)
        # Uvicorn's two workers, and multiprocessing's resource tracker (which holds no socket).
        assert len(children) >= 2, children
        code = start_class(base_url)["code"]
        # Walls until each worker holds one.
        walls: dict[int, SseReader] = {}
        for _ in range(20):
            reader = SseReader(f"{base_url}/api/classes/{code}/events", TEACHER)
            assert reader.connected.wait(15)
            walls.setdefault(worker_of(children, server_port, reader.client_port), reader)
            if len(walls) == 2:
                break
        assert len(walls) == 2, "the kernel gave every stream to one worker"
        # Phones (one connection each) until drawings went through both workers.
        sent: dict[int, list[int]] = {}
        clients: list[httpx.Client] = []
        for i in range(30):
            student = join(base_url, code, f"Phone {i}")
            client = httpx.Client(timeout=30)
            clients.append(client)
            response = client.post(
                f"{base_url}/api/classes/{code}/drawings",
                json=images[i % len(images)],
                headers=student.auth,
            )
            assert response.status_code == 201, response.text
            port = response.extensions["network_stream"].get_extra_info("client_addr")[1]
            worker = worker_of(children, server_port, port)
            sent.setdefault(worker, []).append(response.json()["drawing_id"])
            if len(sent) == 2 and i >= 5:
                break
        assert len(sent) == 2, "every phone went to one worker"
        every_id = {drawing for ids in sent.values() for drawing in ids}
        for wall in walls.values():
            events = wall.wait_for(
                lambda seen: (
                    every_id <= {e["data"].get("id") for e in seen if e["event"] == "drawing"}
                )
            )
            assert kinds(events)[0] == "start"
            wall.close()
        for client in clients:
            client.close()
