"""Live streams over the SQLite event log, so they work with any number of worker processes.

Every change in a class is a row of ``class_events``, written in the transaction of the change.
Each worker process runs one EventHub: a task that reads the rows after the last one it saw every
settings.classroom_poll_ms and hands them to the streams connected to that process. A drawing sent
through one worker thus reaches a wall connected to the other within one poll, and a stream that
reconnects with ``Last-Event-ID`` replays what it missed straight from the log.

One query per worker per tick, whatever the number of streams: 60 phones and a wall cost what one
wall costs. A worker that has just stored a drawing reads the log at once (wake), so a wall on
the same worker sees it without waiting for the tick. The poll runs on the event loop: an
indexed read of a few rows takes tens of microseconds, less than a hop to a thread would.
"""

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field

from app.store.classes import ClassStore, Event
from app.store.db import StoreUnavailable

logger = logging.getLogger(__name__)
RETRY_MS = 1000  # what EventSource waits before reconnecting after a drop
# Kinds a student's phone follows: what the teacher asks and whether sending is open.
STUDENT_KINDS = frozenset({"prompt", "pause", "end"})


@dataclass(eq=False)
class Subscription:
    class_id: int
    kinds: frozenset[str] | None
    queue: asyncio.Queue[Event] = field(default_factory=asyncio.Queue)

    def wants(self, event: Event) -> bool:
        return event.class_id == self.class_id and (self.kinds is None or event.kind in self.kinds)


class EventHub:
    """This process's reader of the event log and its fan-out to live streams."""

    def __init__(self, store: ClassStore, poll_seconds: float) -> None:
        self.store = store
        self.poll_seconds = poll_seconds
        self._subscriptions: set[Subscription] = set()
        self._cursor = 0
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    def start(self) -> None:
        try:
            self._cursor = self.store.last_event_id()
        except StoreUnavailable as error:  # served without classes until the store opens
            logger.warning("Class events start from the beginning: %s", error)
        self._task = asyncio.get_running_loop().create_task(self._run(), name="class-events")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.store.close()

    def poll_once(self) -> int:
        """Hand every new event to the streams that want it; returns how many were read."""
        events = self.store.new_events(self._cursor)
        for event in events:
            for subscription in self._subscriptions:
                if subscription.wants(event):
                    subscription.queue.put_nowait(event)
        if events:
            self._cursor = events[-1].id
        return len(events)

    def wake(self) -> None:
        """Read the log now: this process just wrote an event (the other worker reads it at its
        next tick). Call from the event loop."""
        self._wake.set()

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
            self._wake.clear()
            try:
                while self.poll_once() > 0 and self._subscriptions:
                    pass  # a burst of more than one page of events: read on at once
            except (sqlite3.Error, StoreUnavailable) as error:
                # A busy or briefly unreadable file: the next tick tries again; nothing is lost,
                # the cursor only moves past events that were read.
                logger.warning("Reading class events failed: %s", error)

    async def stream(
        self,
        class_id: int,
        after_id: int,
        heartbeat_seconds: float,
        kinds: Iterable[str] | None = None,
        until: Callable[[Event], bool] | None = None,
    ) -> AsyncIterator[str]:
        """SSE text: the events after `after_id` from the log, then live ones, with heartbeats.

        Subscribes before reading the log, so no event falls between replay and live; events seen
        twice (in both) are dropped by id. Ends after an event for which `until` is true.
        """
        subscription = Subscription(class_id, None if kinds is None else frozenset(kinds))
        self._subscriptions.add(subscription)
        try:
            yield f"retry: {RETRY_MS}\n: connected\n\n"
            last = after_id
            while True:
                backlog = self.store.events_after(class_id, last, subscription.kinds)
                if not backlog:
                    break
                for event in backlog:
                    yield event.sse()
                    last = event.id
                    if until is not None and until(event):
                        return
            while True:
                try:
                    event = await asyncio.wait_for(subscription.queue.get(), heartbeat_seconds)
                except TimeoutError:
                    yield ": heartbeat\n\n"
                    continue
                if event.id <= last:
                    continue
                yield event.sse()
                last = event.id
                if until is not None and until(event):
                    return
        finally:
            self._subscriptions.discard(subscription)


def last_event_id(header: str | None, query: str | None) -> int:
    """The id a reconnecting stream saw last: the Last-Event-ID header, else ?last_event_id=."""
    for value in (header, query):
        if value is not None and value.strip().isdigit():
            return int(value.strip())
    return 0
