"""Build the web app: lifespan (load and warm the models), middleware, error handlers, routers.

Nothing happens at import; ``create_app`` is the factory uvicorn calls in each worker
(``uvicorn app.main:create_app --factory``, or ``python -m app``).
"""

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import honesty, metrics
from app.dependencies import InvalidRequest, NotReady, field_path
from app.errors import InputError, error_body
from app.inference import ModelRegistry, class_models_dir, registry_for, watch_for_reloads
from app.jobs.training import TrainingJobs
from app.memory import keep_request_buffers
from app.numbers.splitter import splitter_in
from app.routers import (
    classes,
    classroom_pages,
    corrections,
    explain,
    health,
    inside_pages,
    models,
    numbers,
    pages,
    predict,
    training,
    v2,
)
from app.schemas import add_request_schemas
from app.settings import REPO_ROOT, Settings
from app.store.db import StoreUnavailable
from app.v2_protocol import is_v2_path
from app.worker_threads import WorkerThreads

logger = logging.getLogger(__name__)

STATIC_DIR = REPO_ROOT / "static"
PAGE_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'self'"
)
# /docs and /redoc serve Swagger UI and ReDoc from this server (fastapi-offline bundles them, so
# the docs work in a classroom without internet); both start with an inline script and style.
DOCS_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' 'unsafe-inline'; worker-src 'self' blob:; connect-src 'self'; "
    "object-src 'none'; base-uri 'self'; frame-ancestors 'self'"
)
DOCS_PATHS = ("/docs", "/redoc")
DOCS_ASSETS_URL = "/static-docs"
NOSNIFF = {"X-Content-Type-Options": "nosniff"}


class RevalidatedStaticFiles(StaticFiles):
    """Static files that browsers keep but check (ETag) on every load: names carry no version,
    so a new release must never meet a stale script, while 304s keep a classroom's reloads cheap.
    """

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "no-cache"
        return response


class BodyTooLarge(InputError):
    """A request body over settings.max_body_bytes."""

    code = "body_too_large"
    status = 413


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None, path: str = ""
) -> Response:
    """An error response in the API's one shape (app.errors.error_body); under /v2, the
    Open Inference Protocol's own shape."""
    metrics.count_refusal(code)
    if is_v2_path(path):
        return v2.v2_error_response(status, message, headers)
    body = json.dumps(error_body(code, message))
    return Response(body, status, {**NOSNIFF, **(headers or {})}, media_type="application/json")


class BodySizeLimit:
    """Refuse bodies over the limit: by Content-Length up front, else by counting the stream.

    A chunked upload has no Content-Length, so the bytes are counted as they arrive and the read
    fails with BodyTooLarge as soon as they pass the limit. Pure ASGI: a header lookup and a
    counter per request, no Request object.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def too_large(self) -> BodyTooLarge:
        return BodyTooLarge(
            f"The request body is larger than {self.max_bytes} bytes. Send a smaller image "
            "(a 280x280 PNG is a few kilobytes) or fewer items per batch."
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.max_bytes:
            error = self.too_large()
            answer = error_response(error.status, error.code, error.message, path=scope["path"])
            await answer(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise self.too_large()
            return message

        await self.app(scope, counting_receive, send)


class SecurityHeaders:
    """nosniff on every response; the Content-Security-Policy on HTML ones."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = DOCS_POLICY if scope["path"].startswith(DOCS_PATHS) else PAGE_POLICY

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Content-Type-Options"] = "nosniff"
                if headers.get("content-type", "").startswith("text/html"):
                    headers["Content-Security-Policy"] = policy
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def handle_api_error(request: Request, error: InputError | NotReady) -> Response:
    # Some errors carry headers of their own (Retry-After on 429).
    return error_response(error.status, error.code, error.message, getattr(error, "headers", None))


async def handle_http_error(request: Request, error: HTTPException) -> Response:
    """404 and 405 from routing (and static files) in the API's error shape."""
    path = request.url.path
    if error.status_code == 404:
        message = f"Nothing at {path}. The API is listed at /docs."
        return error_response(404, "not_found", message, path=path)
    if error.status_code == 405:
        allowed = (error.headers or {}).get("Allow", "")
        message = f"{request.method} is not allowed on {path}; use {allowed}."
        return error_response(405, "method_not_allowed", message, error.headers, path)
    code = HTTPStatus(error.status_code).phrase.lower().replace(" ", "_").replace("-", "_")
    return error_response(error.status_code, code, str(error.detail), error.headers, path)


async def handle_validation_error(request: Request, error: RequestValidationError) -> Response:
    first = error.errors()[0]
    problem = InvalidRequest(f"{field_path(tuple(first['loc']))}: {first['msg']}.")
    return error_response(problem.status, problem.code, problem.message)


async def handle_store_unavailable(request: Request, error: StoreUnavailable) -> Response:
    """The data folder cannot be used (read-only, full, corrupt): features that store refuse."""
    logger.error("The store is unavailable on %s %s: %s", request.method, request.url.path, error)
    return error_response(
        503,
        "store_unavailable",
        "The server cannot use its data folder right now (read-only, full or damaged), so "
        "nothing can be stored. Drawing and predictions still work; try again later.",
        path=request.url.path,
    )


async def handle_unexpected_error(request: Request, error: Exception) -> Response:
    # The server logs the traceback itself: Starlette re-raises after this response is sent.
    logger.error("Internal error on %s %s: %r", request.method, request.url.path, error)
    return error_response(
        500,
        "internal_error",
        "The server failed to answer this request; the error was logged. Try again later.",
        path=request.url.path,
    )


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Load (unless python -m app already did), check and warm every model before serving."""
    settings: Settings = app.state.settings
    keep_request_buffers(settings.malloc_mmap_threshold)
    registry = app.state.preloaded_registry or registry_for(
        settings.model_dir, settings.default_model, settings.data_dir
    )
    registry.warm_up()
    metrics.record_model_loads(registry)
    # Another worker (or a training run) asks for a reload through a file; see app.inference.
    reload_watcher = asyncio.create_task(watch_for_reloads(registry))
    honesty.detector_in(settings.model_dir)  # a damaged digit detector stops the start here
    splitter_in(settings.model_dir)  # and so does a damaged digit splitter
    # Preprocessing and inference hold the GIL most of the time: more threads than these two
    # (Starlette's default pool has 40) only add memory and contention.
    worker_threads = WorkerThreads()
    app.state.worker_threads = worker_threads
    app.state.registry = registry
    app.state.training_jobs = TrainingJobs(settings.data_dir, settings.mnist_path, registry)
    app.state.training_jobs.stop_with_the_server()
    logger.info(
        "Serving models %s (default %s) from %s and %s",
        ", ".join(registry.names),
        registry.default_name,
        settings.model_dir,
        class_models_dir(settings.data_dir),
    )
    yield
    await app.state.training_jobs.shutdown()  # no trainer outlives the server
    reload_watcher.cancel()
    app.state.registry = None
    worker_threads.shutdown()


def create_app(settings: Settings | None = None, registry: ModelRegistry | None = None) -> FastAPI:
    """The app for these settings (by default from DIGITDRAW_* environment variables).

    `registry` is the model store already loaded by python -m app (once, before it starts its
    workers); without it the lifespan loads the store itself.
    """
    settings = settings or Settings()
    app = FastAPIOffline(
        title="digitdraw",
        summary="Draw a digit; a model trained on MNIST reads it.",
        lifespan=lifespan,
        static_url=DOCS_ASSETS_URL,
    )
    app.state.settings = settings
    app.state.registry = None
    app.state.preloaded_registry = registry

    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_credentials=False,
        allow_methods=["GET", "POST"],
        allow_headers=["Content-Type"],
    )
    app.add_middleware(SecurityHeaders)  # covers CORS and size-limit answers
    app.add_middleware(metrics.RequestMetrics, openapi=lambda: app.openapi())  # outermost

    app.add_exception_handler(InputError, handle_api_error)
    app.add_exception_handler(NotReady, handle_api_error)
    app.add_exception_handler(HTTPException, handle_http_error)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(StoreUnavailable, handle_store_unavailable)
    app.add_exception_handler(Exception, handle_unexpected_error)

    for router in (
        predict.router,
        explain.router,
        models.router,
        health.router,
        pages.router,
        classes.router,
        classroom_pages.router,
        corrections.router,
        numbers.router,
        v2.router,
        metrics.router,
        training.router,
        inside_pages.router,
    ):
        app.include_router(router)
    app.mount("/static", RevalidatedStaticFiles(directory=STATIC_DIR), name="static")

    build_openapi = app.openapi
    app.openapi = lambda: add_request_schemas(build_openapi())  # type: ignore[method-assign]
    return app
