"""Drawings and bulky requests are answered in threads of their own, off the event loop."""

import asyncio
import threading

from app.dependencies import Drawing
from app.routers.predict import body_size
from app.worker_threads import WorkerThreads


def thread_name() -> str:
    return threading.current_thread().name


def test_drawings_always_go_to_one_thread_and_bulky_requests_to_another() -> None:
    async def names() -> tuple[set[str], set[str]]:
        threads = WorkerThreads()
        try:
            drawings = {await threads.run(thread_name, bulky=False) for _ in range(20)}
            bulky = {await threads.run(thread_name, bulky=True) for _ in range(20)}
        finally:
            threads.shutdown()
        return drawings, bulky

    drawings, bulky = asyncio.run(names())
    assert len(drawings) == 1 and len(bulky) == 1
    assert drawings != bulky and threading.main_thread().name not in drawings | bulky


def test_a_drawing_is_answered_while_a_bulky_request_is_still_running() -> None:
    release = threading.Event()

    async def drawing_during_bulky_request() -> tuple[str, bool]:
        threads = WorkerThreads()
        try:
            bulky = asyncio.ensure_future(threads.run(release.wait, 30, bulky=True))
            answer = await asyncio.wait_for(threads.run(str, "drawn", bulky=False), timeout=5)
            still_running = not bulky.done()
            release.set()
            await bulky
        finally:
            release.set()
            threads.shutdown()
        return answer, still_running

    assert asyncio.run(drawing_during_bulky_request()) == ("drawn", True)


def test_body_size_counts_json_bytes_or_the_uploaded_file() -> None:
    assert body_size(b'{"image": "..."}') == 16
    assert body_size(Drawing(kind="image", data=b"\x89PNG" + bytes(1000))) == 1004
