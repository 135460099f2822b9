"""Soak and faults against ``python -m app --workers 2``: long mixed load, idle crowds, kill -9.

    .venv/bin/python -m bench.soak [--seconds 600] [--connections 50] [--idle 200]

1. Soak: wrk at 50 connections for 10 minutes, cycling through valid drawings (PNG, strokes,
   multipart), bad inputs (bench/hostile.py) and oversized bodies. Counted: answers by status
   (no 5xx allowed), socket errors, p50/p99, and the server's memory every 30 s (growth from the
   first minute to the end).
2. Idle and slow connections: 200 connections opened at once, half silent, half sending a request
   header a few bytes at a time; meanwhile, requests on fresh connections must still be answered.
3. kill -9 of a worker under load: the supervisor starts a replacement and every request after it
   is answered.

Prints PASS/FAIL per part; exit code 0 when all pass. tests/test_soak_smoke.py runs a 20 s soak
and the idle and kill parts in CI.
"""

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):
    sys.path.insert(0, str(REPO_ROOT))

from bench import hostile  # noqa: E402
from bench.payloads import request_bodies  # noqa: E402

RSS_SAMPLE_SECONDS = 30
MAX_RSS_GROWTH = 0.10  # from the first sample to the last
REQUEST_TIMEOUT = 30

# wrk: each connection cycles through the request list from its own offset; response() counts
# statuses per thread and done() adds them up and prints one RESULT line and one STATUS line.
WRK_SCRIPT = """\
local requests = {}
counts = {}  -- global: done() reads it from each thread
local index = 0
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local list = assert(io.open(os.getenv("SOAK_LIST"), "r"))
  for line in list:lines() do
    local path, ctype, file = line:match("^(%S+) (%S+) (.+)$")
    local f = assert(io.open(file, "rb"))
    local body = f:read("*a")
    f:close()
    table.insert(requests, wrk.format("POST", path, {["Content-Type"] = ctype}, body))
  end
  list:close()
  index = math.random(#requests)
end

function request()
  index = index % #requests + 1
  return requests[index]
end

function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
end

function done(summary, latency, requests_made)
  local total = {}
  for _, thread in ipairs(threads) do
    local c = thread:get("counts")
    for status, n in pairs(c) do
      total[status] = (total[status] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(total) do
    table.insert(parts, status .. "=" .. n)
  end
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%.0f p50_us=%.0f p99_us=%.0f socket_errors=%d\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout))
  io.write("STATUS " .. table.concat(parts, " ") .. "\\n")
end
"""


@dataclass
class SoakResult:
    """What the soak measured."""

    requests: int = 0
    seconds: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    socket_errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    rss_mib: list[float] = field(default_factory=list)

    @property
    def server_errors(self) -> int:
        return sum(count for status, count in self.statuses.items() if status >= 500)

    @property
    def rss_growth(self) -> float:
        return self.rss_mib[-1] / self.rss_mib[0] - 1 if len(self.rss_mib) > 1 else 0.0


def request_list(work: Path) -> Path:
    """The soak's request mix, one `path content-type file` line per request, in cycle order.

    About 3 in 5 valid drawings, 2 in 5 bad inputs, and one oversized body (a 413) in 50.
    """
    bodies = request_bodies()
    valid = [
        ("/predict", "application/json", bodies["png"]),
        ("/predict", "application/json", bodies["strokes"]),
        (
            "/predict",
            "multipart/form-data;boundary=hostileB0undary",
            hostile.multipart([("file", "d.png", hostile.valid_png())]),
        ),
    ]
    bad = []
    for case in hostile.cases(20 * len(hostile.KINDS), seed=3):
        simple = isinstance(case.content, bytes) and case.method == "POST"
        content_type = case.headers.get("Content-Type", "")
        usable = simple and case.kind != "oversized_body" and isinstance(content_type, str)
        if usable and content_type and len(case.content) < 1_000_000:  # type: ignore[arg-type]
            content_type = content_type.replace("; ", ";")  # type: ignore[union-attr]
            if " " not in content_type:
                bad.append((case.path, content_type, case.content))
    oversized = ("/predict", "application/json", b'{"image": "' + b"A" * 5_300_000 + b'"}')
    lines = []
    for index in range(500):
        if index % 50 == 49:
            entry = oversized
        elif index % 5 < 3:
            entry = valid[index % len(valid)]
        else:
            entry = bad[index % len(bad)]
        path = work / f"body-{index}.bin"
        path.write_bytes(entry[2])
        lines.append(f"{entry[0]} {entry[1]} {path}")
    listing = work / "requests.txt"
    listing.write_text("\n".join(lines) + "\n")
    return listing


def soak(base_url: str, pids: list[int], seconds: int, connections: int) -> SoakResult:
    work = Path(tempfile.mkdtemp(prefix="digitdraw-soak-"))
    listing = request_list(work)
    script = work / "soak.lua"
    script.write_text(WRK_SCRIPT)
    result = SoakResult()
    stop = threading.Event()

    def sample_memory() -> None:
        while not stop.wait(min(RSS_SAMPLE_SECONDS, max(seconds / 4, 1))):
            result.rss_mib.append(hostile.rss_bytes(live(pids)) / 2**20)

    sampler = threading.Thread(target=sample_memory, daemon=True)
    sampler.start()
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", f"--timeout={REQUEST_TIMEOUT}s"]
    completed = subprocess.run(
        [*command, "-s", str(script), f"{base_url}/predict"],
        env={**os.environ, "SOAK_LIST": str(listing)},
        capture_output=True,
        text=True,
        timeout=seconds + 120,
        check=True,
    )
    stop.set()
    sampler.join()
    result.rss_mib.append(hostile.rss_bytes(live(pids)) / 2**20)
    for line in completed.stdout.splitlines():
        if line.startswith("RESULT "):
            values = dict(pair.split("=") for pair in line.split()[1:])
            result.requests = int(values["requests"])
            result.seconds = float(values["duration_us"]) / 1e6
            result.p50_ms = float(values["p50_us"]) / 1000
            result.p99_ms = float(values["p99_us"]) / 1000
            result.socket_errors = int(values["socket_errors"])
        if line.startswith("STATUS "):
            pairs = (pair.split("=") for pair in line.split()[1:])
            result.statuses = {int(status): int(count) for status, count in pairs}
    if not result.requests:
        raise RuntimeError(f"wrk printed no result:\n{completed.stdout}\n{completed.stderr}")
    return result


def live(pids: list[int]) -> list[int]:
    return [pid for pid in pids if Path(f"/proc/{pid}").exists()]


def fresh_request(base_url: str) -> float:
    """Seconds for one strokes request on a new connection; raises unless it is a 200."""
    started = time.perf_counter()
    with httpx.Client(timeout=REQUEST_TIMEOUT) as client:
        response = client.post(
            f"{base_url}/predict", json={"strokes": [[[10, 10], [90, 10], [40, 110]]]}
        )
    response.raise_for_status()
    return time.perf_counter() - started


def idle_and_slow_connections(base_url: str, count: int, hold_seconds: float) -> dict:
    """`count` connections opened at once (half silent, half trickling a header) while fresh
    requests are made; the fresh ones must all be answered."""
    host, port = base_url.removeprefix("http://").split(":")
    crowd = []
    for index in range(count):
        sock = socket.create_connection((host, int(port)), timeout=10)
        if index % 2:
            sock.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\n")
        crowd.append(sock)
    latencies, failures = [], 0
    deadline = time.monotonic() + hold_seconds
    while time.monotonic() < deadline:
        for index, sock in enumerate(crowd):
            if index % 2:
                with contextlib.suppress(OSError):
                    sock.sendall(b"X")  # a slow client: one byte of a header line at a time
        try:
            latencies.append(fresh_request(base_url))
        except (httpx.HTTPError, OSError):
            failures += 1
        time.sleep(0.05)
    still_open = 0
    for sock in crowd:
        try:
            sock.settimeout(0.01)
            still_open += sock.recv(1) != b""
        except TimeoutError:
            still_open += 1
        except OSError:
            pass
        sock.close()
    latencies.sort()
    return {
        "crowd": count,
        "answered": len(latencies),
        "failed": failures,
        "p50_ms": 1000 * latencies[len(latencies) // 2] if latencies else None,
        "max_ms": 1000 * latencies[-1] if latencies else None,
        "crowd_still_open": still_open,
    }


def kill_a_worker(base_url: str, parent: int, requests_after: int = 50) -> dict:
    """kill -9 one worker while a client posts; then `requests_after` on fresh connections."""
    before = worker_pids(parent)
    errors_during = []
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set():
            try:
                fresh_request(base_url)
            except (httpx.HTTPError, OSError) as error:
                errors_during.append(repr(error))

    client = threading.Thread(target=load)
    client.start()
    time.sleep(0.5)
    killed = before[0]
    os.kill(killed, signal.SIGKILL)
    started = time.monotonic()
    while worker_pids(parent) == before or len(worker_pids(parent)) < len(before):
        if time.monotonic() - started > 30:
            break
        time.sleep(0.01)
    replaced_after = time.monotonic() - started
    time.sleep(0.5)
    stop.set()
    client.join()
    failures_after = 0
    for _ in range(requests_after):
        try:
            fresh_request(base_url)
        except (httpx.HTTPError, OSError):
            failures_after += 1
    after = worker_pids(parent)
    return {
        "killed": killed,
        "replaced": killed not in after and len(after) == len(before),
        "replaced_in_s": round(replaced_after, 3),
        "errors_during_kill": errors_during,
        "failures_after": failures_after,
        "requests_after": requests_after,
    }


def worker_pids(parent: int) -> list[int]:
    return sorted(hostile.server_pids(parent)[1:])


def main(argv: list[str] | None = None) -> int:
    from tests.helpers import running_server

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=600)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--idle", type=int, default=200)
    parser.add_argument("--idle-seconds", type=float, default=10.0)
    parser.add_argument("--model-dir", default=str(REPO_ROOT / "model_store"))
    parser.add_argument("--json", help="also write the figures to this file")
    arguments = parser.parse_args(argv)
    with running_server(Path(arguments.model_dir), "--workers", "2", "--log-level", "error") as (
        base_url,
        process,
    ):
        pids = hostile.server_pids(process.pid)
        load = Path("/proc/loadavg").read_text()[:14]
        result = soak(base_url, pids, arguments.seconds, arguments.connections)
        idle = idle_and_slow_connections(base_url, arguments.idle, arguments.idle_seconds)
        killed = kill_a_worker(base_url, process.pid)
    rate = result.requests / result.seconds
    print(f"soak: {result.seconds:.0f} s at {arguments.connections} connections (load {load})")
    print(f"  {result.requests} requests, {rate:.0f}/s, p50 {result.p50_ms:.1f} ms, ", end="")
    print(f"p99 {result.p99_ms:.1f} ms, socket errors {result.socket_errors}")
    print(f"  statuses {dict(sorted(result.statuses.items()))}")
    rss = ", ".join(f"{value:.0f}" for value in result.rss_mib)
    print(f"  server RSS MiB (all processes): {rss} ({result.rss_growth:+.1%})")
    soak_ok = result.server_errors == 0 and result.rss_growth <= MAX_RSS_GROWTH
    print(f"  {'PASS' if soak_ok else 'FAIL'}: {result.server_errors} 5xx")
    print(f"idle: {json.dumps(idle)}")
    idle_ok = idle["failed"] == 0 and idle["answered"] > 0
    print(f"  {'PASS' if idle_ok else 'FAIL'}")
    print(f"kill -9: {json.dumps(killed)}")
    kill_ok = killed["replaced"] and killed["failures_after"] == 0
    print(f"  {'PASS' if kill_ok else 'FAIL'}")
    if arguments.json:
        figures = {"soak": result.__dict__, "idle": idle, "kill": killed, "load": load}
        Path(arguments.json).write_text(json.dumps(figures, indent=2))
    return 0 if soak_ok and idle_ok and kill_ok else 1


if __name__ == "__main__":
    sys.exit(main())
