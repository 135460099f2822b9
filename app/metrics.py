"""Prometheus metrics: the definitions, the ASGI middleware that counts requests, GET /metrics.

Adding a metric: define it here at module level and update it where the thing happens, e.g.

    SESSIONS_OPENED = Counter("digitdraw_sessions_opened_total", "Class sessions opened.")
    metrics.SESSIONS_OPENED.inc()

Names start with ``digitdraw_``; labels take a few known values only (never a user's text or a raw
path, which would grow one series per request).

``python -m app`` sets PROMETHEUS_MULTIPROC_DIR to a fresh folder for every start before any
worker runs (prometheus-client chooses its storage at import, so this module must be imported
after that): each worker then writes its samples to its own memory-mapped files there, and
/metrics, whichever worker answers it, adds up every worker's files. Gauges say how they are
combined (``multiprocess_mode``). Without the variable (tests' in-process apps) the metrics live
in this process alone.
"""

import os
import re
import time
from collections.abc import Callable, Iterable
from typing import Any

from fastapi import APIRouter, Response
from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MULTIPROCESS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
# The route label of a request no route matches (404s): one series however many paths are tried.
UNMATCHED = "unmatched"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


# From a 0.1 ms health probe to a 256-item batch of photos.
def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROCESS_DIR_VARIABLE)


LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class ProcessId:
    """os.getpid, cached and refreshed after a fork.

    prometheus-client calls its process identifier on every update to notice a fork; getpid is
    a system call (13 us each on this machine, four per request), a cached number is not.
    """

    pid = os.getpid()

    @classmethod
    def refresh(cls) -> None:
        cls.pid = os.getpid()

    @classmethod
    def get(cls) -> int:
        return cls.pid


os.register_at_fork(after_in_child=ProcessId.refresh)
if multiprocess_dir() is not None:  # before any metric is defined: each takes ValueClass
    values.ValueClass = values.MultiProcessValue(process_identifier=ProcessId.get)

REQUESTS = Counter(
    "digitdraw_http_requests_total",
    "HTTP requests answered, by method, route template and status code.",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "digitdraw_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by method and route template.",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)
PREDICTIONS = Counter(
    "digitdraw_predictions_total",
    "Drawings answered with a digit (batch items included), by model and digit.",
    ["model", "digit"],
)
REFUSALS = Counter(
    "digitdraw_refusals_total",
    "Error responses, by the error code of their body (empty_input, body_too_large, ...).",
    ["code"],
)
MODEL_LOAD_SECONDS = Gauge(
    "digitdraw_model_load_seconds",
    "Time to check and open a model at start-up (loaded once, before the workers start).",
    ["model"],
    multiprocess_mode="max",
)
WORKER_REQUESTS = Gauge(
    "digitdraw_worker_requests",
    "Requests answered by each live worker process since it started (shows the split).",
    multiprocess_mode="liveall",
)
WORKER_RESTARTS = Counter(
    "digitdraw_worker_restarts_total",
    "Worker processes that died and were replaced by python -m app's supervisor.",
)

router = APIRouter(tags=["health"])


def exposition() -> bytes:
    """Every metric in Prometheus' text format, summed over all workers in multiprocess mode."""
    folder = multiprocess_dir()
    if folder is None:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=folder)
    return generate_latest(registry)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_PLAIN_0_0_4: {"schema": {"type": "string"}}}}},
)
async def metrics() -> Response:
    """Requests, latency, predictions, refusals and model load time, for Prometheus to scrape."""
    return Response(exposition(), media_type=CONTENT_TYPE_PLAIN_0_0_4)


def mark_worker_dead(pid: int) -> None:
    """Forget a dead worker's live gauges (its counters stay in the totals)."""
    if multiprocess_dir() is not None:
        multiprocess.mark_process_dead(pid)


def record_model_loads(models: Iterable[Any]) -> None:
    """The load time of each model, measured by app.inference.load_model."""
    for model in models:
        seconds = getattr(model, "load_seconds", None)
        if seconds is not None:
            MODEL_LOAD_SECONDS.labels(model.name).set(seconds)


_prediction_counters: dict[tuple[str, int], Any] = {}


def count_prediction(model: str, digit: int) -> None:
    """One answered drawing; the labelled child is looked up once per (model, digit)."""
    counter = _prediction_counters.get((model, digit))
    if counter is None:
        counter = _prediction_counters.setdefault((model, digit), PREDICTIONS.labels(model, digit))
    counter.inc()


def count_refusal(code: str) -> None:
    REFUSALS.labels(code).inc()


class RequestMetrics:
    """Pure ASGI middleware: count and time every HTTP request by its route template.

    The template comes from the route the router matched (``/models/{name}``), or, for requests
    answered before routing (a body refused for its size, a CORS preflight), from the paths of
    the OpenAPI document; a path no route matches counts as ``unmatched``. Outermost, so it
    sees every answer.
    """

    def __init__(self, app: ASGIApp, openapi: Callable[[], dict[str, Any]]) -> None:
        self.app = app
        self.openapi = openapi
        self._templates: list[tuple[re.Pattern[str], str]] | None = None
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app fails before answering

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            self.record(scope, status, time.perf_counter() - started)

    def record(self, scope: Scope, status: int, seconds: float) -> None:
        method = scope["method"] if scope["method"] in KNOWN_METHODS else "other"
        route = self.template(scope)
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            children = (REQUESTS.labels(method, route, status), LATENCY.labels(method, route))
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)
        WORKER_REQUESTS.inc()

    def template(self, scope: Scope) -> str:
        path = getattr(scope.get("route"), "path", None)
        if isinstance(path, str):
            return path
        if self._templates is None:  # built once, on the first request answered before routing
            paths = self.openapi().get("paths", {})
            self._templates = [(compile_path(path)[0], path) for path in paths]
        for pattern, template in self._templates:
            if pattern.match(scope["path"]):
                return template
        return UNMATCHED
