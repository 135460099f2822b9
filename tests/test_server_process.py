"""``python -m app`` as users run it: a real uvicorn process on a loopback port."""

import http.client
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import numpy as np
import pytest

from app.settings import Settings
from tests.conftest import REPO_ROOT
from tests.helpers import (
    app_command,
    assert_error,
    data_url,
    digit_canvas,
    encode,
    quiet_env,
    running_server,
)

SETTINGS = Settings()


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, subprocess.Popen]]:
    with running_server(SETTINGS.model_dir, "--log-level", "warning") as running:
        yield running


def test_server_becomes_ready_with_every_model(server: tuple[str, subprocess.Popen]) -> None:
    base_url, _ = server
    ready = httpx.get(f"{base_url}/ready").json()
    assert ready["status"] == "ready" and ready["default_model"] == SETTINGS.default_model


def test_server_reads_a_drawn_digit(
    server: tuple[str, subprocess.Popen], mnist_test: tuple[np.ndarray, np.ndarray]
) -> None:
    base_url, _ = server
    images, labels = mnist_test
    answers = []
    for image in images[:10]:
        response = httpx.post(
            f"{base_url}/predict", json={"image": data_url(encode(digit_canvas(image)))}
        )
        assert response.status_code == 200, response.text
        answers.append(response.json()["digit"])
    assert (np.array(answers) == labels[:10]).mean() >= 0.9


def test_server_refuses_a_chunked_body_over_the_limit(server: tuple[str, subprocess.Popen]) -> None:
    address = urlsplit(server[0])
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    chunks = (b"A" * 65536 for _ in range(SETTINGS.max_body_bytes // 65536 + 2))
    try:
        connection.request(
            "POST",
            "/predict",
            body=chunks,
            headers={"Content-Type": "application/json"},
            encode_chunked=True,
        )
        response = connection.getresponse()
        status, headers, body = response.status, response.getheaders(), response.read()
    except (BrokenPipeError, ConnectionResetError):
        pytest.fail("the server closed the connection instead of answering 413")
    finally:
        connection.close()
    assert_error(httpx.Response(status, content=body, headers=headers), 413, "body_too_large")


def test_server_never_loads_tensorflow(server: tuple[str, subprocess.Popen]) -> None:
    _, process = server
    maps = Path(f"/proc/{process.pid}/maps")
    if not maps.exists():
        pytest.skip("needs /proc to list the server's shared libraries")
    libraries = maps.read_text()
    assert "ai_edge_litert" in libraries
    assert "site-packages/tensorflow/" not in libraries


def test_app_lifespan_imports_no_tensorflow() -> None:
    script = (
        "import sys, warnings\n"
        "warnings.simplefilter('ignore')\n"
        "from fastapi.testclient import TestClient\n"
        "from app.main import create_app\n"
        "with TestClient(create_app()) as client:\n"
        "    response = client.post('/predict', json={'strokes': [[[0, 0], [0, 9]]]})\n"
        "    assert response.status_code == 200, response.text\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        env=quiet_env(),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_help_lists_every_option_with_examples() -> None:
    result = subprocess.run(app_command("--help"), cwd=REPO_ROOT, capture_output=True, text=True)
    assert result.returncode == 0
    for option in (
        "--host",
        "--port",
        "--workers",
        "--model-dir",
        "--default-model",
        "--log-level",
        "--access-log",
    ):
        assert option in result.stdout
    assert "examples:" in result.stdout and "DIGITDRAW_PORT=9000" in result.stdout


@pytest.mark.parametrize("flag, logged", [(None, False), ("--access-log", True)])
def test_requests_are_logged_only_when_asked(
    tmp_path: Path, flag: str | None, logged: bool
) -> None:
    log_path = tmp_path / "server.log"
    arguments = [flag] if flag else []
    with running_server(SETTINGS.model_dir, *arguments, log_path=log_path) as (base_url, _):
        assert httpx.get(f"{base_url}/health").status_code == 200
    log = log_path.read_text()
    assert "Application startup complete" in log
    assert ('"GET /health HTTP/1.1" 200' in log) is logged


def test_missing_model_folder_stops_the_server_with_one_clear_line(tmp_path: Path) -> None:
    missing = tmp_path / "no-models-here"
    result = subprocess.run(
        app_command("--model-dir", str(missing), "--port", "1"),
        cwd=REPO_ROOT,
        env=quiet_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert len(lines) == 1, lines
    assert str(missing) in lines[0]
    assert f"python -m training train --model {SETTINGS.default_model} --data" in lines[0]


def test_invalid_setting_stops_the_server_naming_the_variable() -> None:
    result = subprocess.run(
        app_command("--help"),
        cwd=REPO_ROOT,
        env=quiet_env(DIGITDRAW_PORT="eighty"),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: --port / DIGITDRAW_PORT: Input should be a valid")
