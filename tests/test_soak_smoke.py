"""Bounded CI smoke of bench/soak.py against a real 2-worker server: a 20 s soak of mixed good,
bad and oversized requests at 50 connections, 200 idle or slow connections, a worker killed."""

import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest

from app.settings import Settings
from bench import hostile, soak
from tests.helpers import running_server

SETTINGS = Settings()


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, subprocess.Popen]]:
    with running_server(SETTINGS.model_dir, "--workers", "2", "--log-level", "error") as served:
        yield served


def test_mixed_load_gets_no_server_error(server: tuple[str, subprocess.Popen]) -> None:
    if shutil.which("wrk") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("wrk is not installed (.ci/run installs it)")
        pytest.skip("needs wrk")
    base_url, process = server
    result = soak.soak(base_url, hostile.server_pids(process.pid), seconds=20, connections=50)
    assert result.server_errors == 0, result.statuses
    assert result.statuses.get(200, 0) > 100 and result.statuses.get(413, 0) > 0, result.statuses
    assert {status // 100 for status in result.statuses} <= {2, 4}, result.statuses


def test_a_crowd_of_idle_and_slow_connections_does_not_stop_others(
    server: tuple[str, subprocess.Popen],
) -> None:
    idle = soak.idle_and_slow_connections(server[0], count=200, hold_seconds=4)
    assert idle["failed"] == 0 and idle["answered"] >= 5, idle
    assert idle["max_ms"] < 5_000, idle


def test_a_worker_killed_under_load_is_replaced(server: tuple[str, subprocess.Popen]) -> None:
    base_url, process = server
    killed = soak.kill_a_worker(base_url, process.pid, requests_after=30)
    assert killed["replaced"] and killed["replaced_in_s"] < 10, killed
    assert killed["failures_after"] == 0, killed
    assert process.poll() is None
