"""Per-request buffers stay in the heap: an image request costs no fresh pages (app/memory.py)."""

import platform
import subprocess
import sys

import pytest

from app.memory import keep_request_buffers
from bench.payloads import png_request_body
from tests.conftest import REPO_ROOT
from tests.helpers import quiet_env

# Answers canvas PNG requests (the body comes on stdin) in a worker thread, as the server does,
# and prints the page faults a request costs once warm. The body is made in the test process:
# drawing it here would itself change how malloc serves the requests.
FAULTS_PER_REQUEST = """
import resource, sys
from concurrent.futures import ThreadPoolExecutor
from app.inference import load_registry
from app.memory import keep_request_buffers
from app.routers.predict import answer_one
from app.settings import Settings

settings = Settings(malloc_mmap_threshold=int(sys.argv[1]))
print(keep_request_buffers(settings.malloc_mmap_threshold))
registry = load_registry(settings.model_dir, settings.default_model)
body = sys.stdin.buffer.read()

def faults_per_request(count: int) -> float:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(count):
        answer_one(body, registry, settings)
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / count

with ThreadPoolExecutor(1) as pool:
    pool.submit(faults_per_request, 20).result()
    print(pool.submit(faults_per_request, 200).result())
"""


def faults_per_request(mmap_threshold: int) -> tuple[str, float]:
    result = subprocess.run(
        [sys.executable, "-c", FAULTS_PER_REQUEST, str(mmap_threshold)],
        cwd=REPO_ROOT,
        env=quiet_env(),
        input=png_request_body(),
        capture_output=True,
        timeout=120,
        check=True,
    )
    applied, faults = result.stdout.split()
    return applied.decode(), float(faults)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt thresholds are glibc's")
def test_image_requests_fault_in_no_fresh_pages() -> None:
    applied, faults = faults_per_request(4 * 1024 * 1024)
    assert applied == "True"
    assert faults < 5  # about 200 a request here with glibc's own thresholds


def test_a_zero_threshold_leaves_the_allocator_alone() -> None:
    assert keep_request_buffers(0) is False
