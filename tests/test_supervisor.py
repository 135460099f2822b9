"""``python -m app`` start-up and shutdown: models loaded once, a socket per worker, workers
replaced after kill -9, SIGTERM under load losing no request, one clear line for a bad store."""

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from app.settings import Settings
from tests.conftest import REPO_ROOT
from tests.helpers import app_command, free_port, quiet_env, running_server, wait_until_ready

SETTINGS = Settings()
STROKES = {"strokes": [[[10, 10], [90, 10], [40, 110]]]}
# About 40 ms of work: a request that is surely in flight when the signal comes.
SLOW_BATCH = {"inputs": [{"strokes": [[[10, 10], [90, 10], [40, 110], [5, 100]]]}] * 48}
# python -m app with app.inference.open_interpreter logging each call (pid, model) to a file.
COUNTING_START = """\
import os, sys
import app.inference as inference
original = inference.open_interpreter
def counted(path, *args):
    with open(os.environ["LOAD_LOG"], "a") as log:
        log.write(f"{os.getpid()} {path.parent.name}\\n")
    return original(path, *args)
inference.open_interpreter = counted
from app.__main__ import main
sys.exit(main(sys.argv[1:]))
"""


def worker_pids(parent: int) -> list[int]:
    """The supervisor's children (Linux /proc)."""
    children = Path(f"/proc/{parent}/task/{parent}/children")
    return sorted(int(pid) for pid in children.read_text().split())


def wait_for(condition, seconds: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def fresh_connection_statuses(base_url: str, count: int) -> list[int]:
    """`count` POSTs, each on a new connection, so the kernel picks a worker for each."""
    statuses = []
    for _ in range(count):
        with httpx.Client(timeout=30) as client:
            statuses.append(client.post(f"{base_url}/predict", json=STROKES).status_code)
    return statuses


@contextmanager
def counting_server(tmp_path: Path, *arguments: str) -> Iterator[tuple[str, subprocess.Popen]]:
    port = free_port()
    command = [sys.executable, "-c", COUNTING_START, "--port", str(port), *arguments]
    variables = {"LOAD_LOG": str(tmp_path / "loads.txt"), "DIGITDRAW_DATA_DIR": str(tmp_path)}
    with open(tmp_path / "server.log", "w+") as log:
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=quiet_env(**variables), stdout=log, stderr=log
        )
        try:
            wait_until_ready(f"http://127.0.0.1:{port}", process, log)
            yield f"http://127.0.0.1:{port}", process
        finally:
            process.terminate()
            process.wait(timeout=20)


@pytest.mark.parametrize("workers", [1, 2])
def test_each_model_is_loaded_once_per_start(tmp_path: Path, workers: int) -> None:
    with counting_server(tmp_path, "--workers", str(workers)) as (base_url, process):
        wait_for(lambda: len(worker_pids(process.pid)) == workers or workers == 1)
        assert set(fresh_connection_statuses(base_url, 6)) == {200}
    loads = (tmp_path / "loads.txt").read_text().split("\n")[:-1]
    models = sorted(line.split()[1] for line in loads)
    served = sorted(path.parent.name for path in SETTINGS.model_dir.glob("*/card.json"))
    assert models == served  # each model once, not once in main() and again in each worker
    assert {line.split()[0] for line in loads} == {str(process.pid)}


@pytest.fixture(scope="module")
def two_workers() -> Iterator[tuple[str, subprocess.Popen]]:
    with running_server(SETTINGS.model_dir, "--workers", "2", "--log-level", "warning") as served:
        wait_for(lambda: len(worker_pids(served[1].pid)) == 2)
        yield served


def test_new_connections_are_spread_over_both_workers(
    two_workers: tuple[str, subprocess.Popen],
) -> None:
    base_url, process = two_workers
    pids = worker_pids(process.pid)
    before = worker_request_counts(base_url)
    assert set(fresh_connection_statuses(base_url, 40)) == {200}
    after = worker_request_counts(base_url)
    answered = {pid: after.get(pid, 0) - before.get(pid, 0) for pid in pids}
    # The kernel hashes each connection to a socket: fewer than 8 of 40 has odds of 1 in 50,000.
    assert min(answered.values()) >= 8, answered


def worker_request_counts(base_url: str) -> dict[int, float]:
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(f"{base_url}/metrics").text
    counts = {}
    for family in text_string_to_metric_families(text):
        if family.name == "digitdraw_worker_requests":
            for sample in family.samples:
                counts[int(sample.labels["pid"])] = sample.value
    return counts


def test_a_worker_killed_with_sigkill_is_replaced(
    two_workers: tuple[str, subprocess.Popen],
) -> None:
    base_url, process = two_workers
    old = worker_pids(process.pid)
    os.kill(old[0], signal.SIGKILL)
    wait_for(lambda: len(worker_pids(process.pid)) == 2 and worker_pids(process.pid) != old)
    # Connections hashed to the replaced worker's socket wait for it rather than fail.
    assert fresh_connection_statuses(base_url, 20) == [200] * 20
    assert process.poll() is None
    new = worker_pids(process.pid)
    assert old[1] in new and old[0] not in new
    metrics = httpx.get(f"{base_url}/metrics").text
    assert "digitdraw_worker_restarts_total 1.0" in metrics


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_under_load_answers_every_request_then_exits(workers: int) -> None:
    with running_server(SETTINGS.model_dir, "--workers", str(workers)) as (base_url, process):
        outcomes: list[str] = []
        signalled = threading.Event()

        def client(body: dict, path: str) -> None:
            with httpx.Client(timeout=30) as session:
                while True:
                    try:
                        response = session.post(f"{base_url}{path}", json=body)
                    except httpx.ConnectError:  # the port is closed: the server stopped taking work
                        outcomes.append("refused")
                        return
                    except httpx.HTTPError as error:
                        outcomes.append(f"lost {error!r}")
                        return
                    outcomes.append(f"{response.status_code}{'+' if signalled.is_set() else ''}")

        clients = [
            threading.Thread(target=client, args=(body, path))
            for body, path in [(STROKES, "/predict")] * 3 + [(SLOW_BATCH, "/predict/batch")] * 2
        ]
        for thread in clients:
            thread.start()
        wait_for(lambda: len(outcomes) >= 20, seconds=60)  # under load: the machine may be slow
        process.send_signal(signal.SIGTERM)
        signalled.set()
        exit_code = process.wait(timeout=30)
        for thread in clients:
            thread.join(timeout=30)
    counts = Counter(outcomes)
    # One worker: uvicorn re-raises the signal once it has shut down, as a shell expects.
    assert exit_code == (-signal.SIGTERM if workers == 1 else 0)
    assert set(counts) <= {"200", "200+", "refused"}, counts
    assert counts["refused"] == len(clients)
    assert counts["200"] >= 20 and counts["200+"] >= 1, counts  # answers under load, after SIGTERM


def corrupt_store(tmp_path: Path) -> Path:
    store = tmp_path / "store"
    shutil.copytree(SETTINGS.model_dir, store)
    model = store / SETTINGS.default_model / "model.tflite"
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    return store


@pytest.mark.parametrize("problem", ["corrupt", "missing"])
@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_bad_model_file_refuses_start_up_with_one_clear_line(
    tmp_path: Path, problem: str, workers: str
) -> None:
    store = corrupt_store(tmp_path)
    model = store / SETTINGS.default_model / "model.tflite"
    if problem == "missing":
        model.unlink()
    result = subprocess.run(
        app_command("--model-dir", str(store), "--port", str(free_port()), "--workers", workers),
        cwd=REPO_ROOT,
        env=quiet_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"error: {model}")
    assert ("does not match the sha256" if problem == "corrupt" else "is missing") in lines[0]
    assert f"python -m training train --model {SETTINGS.default_model}" in lines[0]


def test_a_port_in_use_refuses_start_up_with_one_clear_line(
    two_workers: tuple[str, subprocess.Popen],
) -> None:
    port = two_workers[0].rsplit(":", 1)[1]
    result = subprocess.run(
        app_command("--port", port, "--workers", "2"),
        cwd=REPO_ROOT,
        env=quiet_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        f"error: cannot listen on 127.0.0.1:{port}: "
        f"[Errno 98] 127.0.0.1:{port} is already in use by another program"
    ], result.stderr
