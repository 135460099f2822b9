"""Shared test tools: the one error-shape assertion, drawn-digit images, and a real server."""

import base64
import io
import os
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx
import numpy as np
from PIL import Image

from app.main import create_app
from app.settings import Settings
from tests.conftest import REPO_ROOT

with warnings.catch_warnings():
    # Starlette now prefers httpx2; the project installs httpx, which still works.
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`", UserWarning)
    from fastapi.testclient import TestClient

SERVER_START_SECONDS = 60  # a cold start imports LiteRT and checks every model
TEACHER_KEY = "test-teacher-key-not-secret"  # the key every test server is started with
TEACHER = {"Authorization": f"Bearer {TEACHER_KEY}"}


def assert_error(
    response: httpx.Response, status: int | range, code: str | None, message_part: str = ""
) -> str:
    """The API's one error shape, with this status (or range), code and message fragment."""
    if isinstance(status, range):
        assert response.status_code in status, (response.status_code, response.text)
    else:
        assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"] == "application/json", response.headers
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message"}, body
    error_code, message = body["error"]["code"], body["error"]["message"]
    assert isinstance(error_code, str) and error_code.isidentifier() and error_code.islower()
    assert isinstance(message, str) and len(message) > 10, body
    if code is not None:
        assert error_code == code, body
    assert message_part in message, body
    return message


@contextmanager
def served_app(settings: Settings | None = None) -> Iterator[TestClient]:
    """An in-process client with the lifespan run: models loaded and warm."""
    with TestClient(create_app(settings)) as client:
        yield client


def encode(image: Image.Image, image_format: str = "PNG", **options: object) -> bytes:
    buffer = io.BytesIO()
    if image_format in ("JPEG", "BMP") and image.mode == "RGBA":
        image = image.convert("RGB")
    image.save(buffer, format=image_format, **options)
    return buffer.getvalue()


def data_url(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64," + base64.b64encode(data).decode("ascii")


def digit_canvas(
    digit: np.ndarray,
    scale: int = 8,
    size: tuple[int, int] = (280, 280),
    position: tuple[int, int] | None = None,
    transparent: bool = False,
) -> Image.Image:
    """An MNIST digit (white on black, 28x28 uint8) drawn as black ink on a larger canvas.

    The background is white, or fully transparent with the ink in the alpha channel, as a
    browser canvas exports a drawing when nothing painted the background.
    """
    side = 28 * scale
    ink = Image.fromarray(digit).resize((side, side), Image.Resampling.BILINEAR)
    if position is None:
        position = ((size[0] - side) // 2, (size[1] - side) // 2)
    if transparent:
        canvas = Image.new("RGBA", size, (0, 0, 0, 0))
        stroke = Image.new("RGBA", (side, side), (0, 0, 0, 255))
        stroke.putalpha(ink)
        canvas.paste(stroke, position)
        return canvas
    canvas = Image.new("L", size, 255)
    canvas.paste(Image.fromarray(255 - np.asarray(ink)), position)
    return canvas


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def app_command(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "app", *arguments]


def quiet_env(**variables: str) -> dict[str, str]:
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **variables}


def run_training(*arguments: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``python -m training ...`` from the repository, its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "training", *arguments],
        cwd=REPO_ROOT,
        env=quiet_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@contextmanager
def running_server(
    model_dir: Path,
    *arguments: str,
    log_path: Path | None = None,
    data_dir: Path | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[tuple[str, subprocess.Popen]]:
    """``python -m app`` on a free loopback port, yielded (base URL, process) once /ready is 200.

    The server's output goes to `log_path` when given (read it after the block), else nowhere.
    Its data folder (the SQLite store) is `data_dir`, or a fresh temporary folder; its teacher
    key is TEACHER_KEY.
    """
    if data_dir is None:
        with (
            tempfile.TemporaryDirectory(prefix="digitdraw-data-") as fresh,
            running_server(
                model_dir, *arguments, log_path=log_path, data_dir=Path(fresh), env=env
            ) as served,
        ):
            yield served
        return
    port = free_port()
    command = app_command(
        "--host", "127.0.0.1", "--port", str(port), "--model-dir", str(model_dir), *arguments
    )
    # A file, not a pipe: a chatty server must never block on a full pipe nobody reads.
    opened = open(log_path, "w+") if log_path else tempfile.TemporaryFile("w+")  # noqa: SIM115
    with opened as log:
        variables = {
            "DIGITDRAW_DATA_DIR": str(data_dir),
            "DIGITDRAW_TEACHER_KEY": TEACHER_KEY,
            **(env or {}),
        }
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=quiet_env(**variables), stdout=log, stderr=subprocess.STDOUT
        )
        base_url = f"http://127.0.0.1:{port}"
        try:
            wait_until_ready(base_url, process, log)
            yield base_url, process
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_until_ready(base_url: str, process: subprocess.Popen, log: IO[str]) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise AssertionError(f"server exited with {process.returncode}: {log.read()}")
        try:
            if httpx.get(f"{base_url}/ready", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{base_url}/ready did not answer 200 in {SERVER_START_SECONDS} s")
