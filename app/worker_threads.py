"""The two threads that prepare drawings and run models, off the event loop.

One thread takes the drawings (the page's live requests, API calls with a canvas image), one the
bulky requests (bodies over settings.bulk_body_bytes: photos, batches), so a class's drawings do
not queue behind a photo. The body's size is the sign of a slow request: cheap to know before any
work, and right for what people send (a small file that unpacks into a huge image still runs
with the drawings). Measured on 2 cores, a 280x280 canvas PNG, wrk for 8 s on `python -m app`:
- a shared pool of two threads handed requests to both in turn, each time waking a thread on a
  cold core: ~0.2 ms more CPU a request, ~740 instead of ~860-910 requests/s at 1 connection;
- two threads busy at once fight over the GIL: 1 worker at 10 connections served ~630 requests/s
  at 1.95 ms CPU each, against ~765 at 1.35 ms with one thread.
"""

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

Result = TypeVar("Result")


class WorkerThreads:
    """A thread for drawings and a thread for bulky requests, each with its own queue."""

    def __init__(self) -> None:
        self.drawings = ThreadPoolExecutor(1, thread_name_prefix="digitdraw-drawings")
        self.bulk = ThreadPoolExecutor(1, thread_name_prefix="digitdraw-bulk")

    async def run(self, function: Callable[..., Result], *args: object, bulky: bool) -> Result:
        """`function(*args)` in the thread of its kind, awaited without blocking the loop."""
        executor = self.bulk if bulky else self.drawings
        return await asyncio.get_running_loop().run_in_executor(executor, function, *args)

    def shutdown(self) -> None:
        """Finish the jobs already given, then stop both threads."""
        self.drawings.shutdown(wait=True)
        self.bulk.shutdown(wait=True)
