"""Serve digitdraw: ``python -m app`` (or ``digitdraw``), options from DIGITDRAW_* by default.

The model store is loaded and checked here, once, before any worker starts: a missing or corrupt
model stops the command with one line that says which file and how to make it, and a non-zero
exit; the workers inherit the loaded models (app.supervisor forks them). Each start gets its own
folder for the workers' metrics (app.metrics), removed on exit.
"""

import argparse
import logging
import logging.config
import os
import shutil
import signal
import sys
import tempfile
from copy import deepcopy
from typing import Any
from urllib.parse import quote

from pydantic import ValidationError
from uvicorn.config import LOGGING_CONFIG

from app import honesty, supervisor
from app.auth import new_teacher_key
from app.classroom.network import join_addresses, reachable_from_lan, url_host
from app.inference import ModelRegistry, ModelStoreError, registry_for
from app.numbers.splitter import splitter_in
from app.settings import Settings

EXAMPLES = """\
examples:
  python -m app                                  serve on http://127.0.0.1:8000/
  python -m app --host 0.0.0.0 --port 8080       serve a classroom on the local network
  python -m app --workers 2                      one process per CPU core
  python -m app --host 0.0.0.0 --workers 2       a classroom: prints the teacher's URL and the
                                                 address students' phones join at
  python -m app --model-dir /srv/models --default-model mlp512
  DIGITDRAW_PORT=9000 python -m app              every option also reads DIGITDRAW_<NAME>

A model is trained with: python -m training train --model robust-cnn --data path/to/mnist.npz
"""
LOG_LEVELS = ["critical", "error", "warning", "info", "debug", "trace"]
# CLI option -> Settings field; each is handed to the workers as DIGITDRAW_<FIELD>.
OPTIONS = ("host", "port", "workers", "model_dir", "default_model", "log_level", "access_log")


def build_parser(defaults: Settings) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m app",
        description="Serve the digitdraw drawing page and its JSON prediction API.\n"
        "Every option defaults from its DIGITDRAW_<NAME> environment variable.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--host",
        default=defaults.host,
        help="address to listen on; 0.0.0.0 for a classroom LAN (default: %(default)s)",
    )
    parser.add_argument(
        "--port", type=int, default=defaults.port, help="TCP port (default: %(default)s)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=defaults.workers,
        help="worker processes; about one per CPU core (default: %(default)s)",
    )
    parser.add_argument(
        "--model-dir",
        default=str(defaults.model_dir),
        help="folder of trained models, one sub-folder each (default: %(default)s)",
    )
    parser.add_argument(
        "--default-model",
        default=defaults.default_model,
        help="model used when a request names none (default: %(default)s)",
    )
    parser.add_argument(
        "--log-level",
        default=defaults.log_level,
        choices=LOG_LEVELS,
        help="server log level (default: %(default)s)",
    )
    parser.add_argument(
        "--access-log",
        action=argparse.BooleanOptionalAction,
        default=defaults.access_log,
        help="log one line per request (default: %(default)s; a class drawing live sends "
        "hundreds a second)",
    )
    return parser


def log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging, extended to the app's own loggers, set up in every worker."""
    config = deepcopy(LOGGING_CONFIG)
    config["loggers"]["app"] = {"handlers": ["default"], "level": level.upper()}
    return config


def print_teacher_url(settings: Settings) -> None:
    """Where the teacher goes, with the key, printed once at start-up (like Jupyter's token).

    The link with ?key= is for the teacher's own browser: the page turns it into an HttpOnly
    cookie and a clean /teach URL, so the key never shows on the projector. Students get the LAN
    address (an IP: phones often cannot resolve .local names).
    """
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    base = f"http://{url_host(host)}:{settings.port}"
    print(f"Teacher key: {settings.teacher_key}", flush=True)
    print(f"Teacher page: {base}/teach", flush=True)
    print(f"    or open: {base}/teach?key={quote(settings.teacher_key or '')}", flush=True)
    if not reachable_from_lan(settings.host):
        print(
            "Students' phones cannot reach this address: for a class, start with --host 0.0.0.0",
            flush=True,
        )
        return
    for address in join_addresses(settings.host, None):
        print(f"Students join at: http://{url_host(address)}:{settings.port}/join", flush=True)


def main(argv: list[str] | None = None) -> int:
    """Parse the options, check the model store, then serve; returns the exit code."""
    try:
        parser = build_parser(Settings())
        arguments = parser.parse_args(argv)
        # Workers are new processes that build their own Settings: hand them the options.
        for option in OPTIONS:
            os.environ[f"DIGITDRAW_{option.upper()}"] = str(getattr(arguments, option))
        # One key for every worker of this start; printed once below, never logged per request.
        os.environ.setdefault("DIGITDRAW_TEACHER_KEY", new_teacher_key())
        settings = Settings()
    except ValidationError as error:
        first = error.errors()[0]
        field = str(first["loc"][0])
        name = f"DIGITDRAW_{field.upper()}"
        if field in OPTIONS:
            name = f"--{field.replace('_', '-')} / {name}"
        print(f"error: {name}: {first['msg']}", file=sys.stderr)
        return 2
    try:
        registry = registry_for(settings.model_dir, settings.default_model, settings.data_dir)
        honesty.detector_in(settings.model_dir)  # loaded once here; forked workers inherit it
        splitter_in(settings.model_dir)
    except ModelStoreError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print_teacher_url(settings)
    metrics_dir = tempfile.mkdtemp(prefix="digitdraw-metrics-")
    # Read by prometheus-client when app.metrics is first imported: before app.main, below.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    # uvicorn ends by re-raising SIGTERM to the handler it found: make that one unwind, so the
    # folder is removed, then die of the signal as uvicorn meant.
    signal.signal(signal.SIGTERM, raise_terminated)
    terminated = False
    try:
        return serve(settings, registry)
    except Terminated:
        terminated = True
        return 0
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
        if terminated:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.raise_signal(signal.SIGTERM)


class Terminated(Exception):
    """SIGTERM outside uvicorn's own handling (before it starts, or re-raised when it ends)."""


def raise_terminated(signum: int, frame: Any) -> None:
    raise Terminated(signum)


def serve(settings: Settings, registry: ModelRegistry) -> int:
    """Serve until stopped: one uvicorn server, or the supervisor and its workers."""
    from app import metrics
    from app.main import create_app

    level = settings.log_level.lower()
    options: dict[str, Any] = {
        "log_level": level,
        "log_config": log_config(level),
        "access_log": settings.access_log,
    }
    if settings.workers == 1:
        return supervisor.serve_one(
            create_app(settings, registry), settings.host, settings.port, **options
        )
    logging.config.dictConfig(options["log_config"])
    try:
        sockets = supervisor.listening_sockets(settings.host, settings.port, settings.workers)
    except OSError as error:
        print(f"error: cannot listen on {settings.host}:{settings.port}: {error}", file=sys.stderr)
        return 1
    logging.getLogger("app").info(
        "Serving on http://%s:%d with %d workers, a listening socket each (Press CTRL+C to quit)",
        settings.host,
        sockets[0].getsockname()[1],
        settings.workers,
    )

    def run_worker(sock: Any) -> int:
        gate = supervisor.DrainGate(create_app(settings, registry))
        config = supervisor.uvicorn_config(gate, settings.host, settings.port, **options)
        server = supervisor.DrainingServer(config, gate, supervisor.WORKER_DRAIN_DELAY)
        server.run(sockets=[sock])
        return 0 if server.started else supervisor.STARTUP_FAILURE

    metrics.mark_worker_dead(os.getpid())  # the supervisor answers no request: no series of its own
    workers = supervisor.Supervisor(
        sockets,
        run_worker,
        on_worker_death=metrics.mark_worker_dead,
        on_replacement=metrics.WORKER_RESTARTS.inc,
    )
    return workers.run()


if __name__ == "__main__":
    sys.exit(main())
