"""Benchmark POST /predict on a real uvicorn server, beside a tutorial-style server and a ceiling.

Run from the repository root (about 4 minutes; `--quick` takes under a minute):

    .venv/bin/python -m bench.bench_predict [--seconds 10] [--quick] [--model-dir DIR]

Each server is started as its own process on 127.0.0.1, one at a time, and driven with a canvas
PNG and with strokes of the same hand-drawn digit (bench/payloads.py) at 1, 10 and 50 concurrent
connections. The servers: digitdraw itself (`python -m app`) with 1 and 2 workers; the
tutorial way of serving the same model (Keras `model.predict`, bench/seed_server.py); and a
constant JSON answer under the same uvicorn settings, the framework's ceiling. wrk generates the
load (one thread, so it takes little CPU from the servers); without wrk, an asyncio + httpx
client does, at a cost in CPU and precision. Latency percentiles, throughput, errors and the
servers' resident memory go to stdout and to bench/results/latest.md and latest.json, followed by
PASS/FAIL lines for the project's performance targets.
"""

import argparse
import asyncio
import datetime
import importlib.metadata
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):  # run as a file (python bench/bench_predict.py), not as a module
    sys.path.insert(0, str(REPO_ROOT))

from app.settings import Settings  # noqa: E402
from bench.payloads import DIGIT_LABEL, request_bodies  # noqa: E402

DEFAULT_SECONDS = 10  # per scenario; wrk counts whole seconds
WARMUP_SECONDS = 1  # per server and input, at WARMUP_CONCURRENCY, before anything is timed
WARMUP_CONCURRENCY = 10
CONCURRENCIES = (1, 10, 50)
MULTI_WORKER_CONCURRENCIES = (10, 50)  # one connection cannot keep two workers busy
WORKERS = 2  # the machine has 2 cores
READY_TIMEOUT = 120.0  # seconds; importing TensorFlow on a busy 2-core machine is slow
REQUEST_TIMEOUT = 30  # seconds; the Keras server queues 50 requests behind ~100 ms each
DEFAULT_OUTPUT = REPO_ROOT / "bench" / "results"
TF_CPP_QUIET = "2"  # TensorFlow's C++ start-up chatter would fill the server logs

# The project's targets, printed as PASS/FAIL lines (never asserted: they depend on the machine).
P50_TARGET_MS = 2.0  # PNG, one connection, one worker
SEED_SPEED_UP_TARGET = 40.0  # throughput over the seed-style server, PNG, one connection
MULTI_WORKER_TARGETS = {10: (1000.0, 30.0), 50: (900.0, 150.0)}  # connections: req/s, p99 ms
READY_TARGET_S = 5.0
RSS_PER_PROCESS_TARGET_MIB = 150.0

# The uvicorn settings `python -m app` runs with by default (log level, access log), read from
# the app's own settings so that the baselines follow them.
APP_DEFAULTS = Settings()
BASELINE_UVICORN_OPTIONS = (
    "--log-level",
    APP_DEFAULTS.log_level,
    "--access-log" if APP_DEFAULTS.access_log else "--no-access-log",
)

# One wrk thread POSTs the body file; done() prints a single line for parse_wrk_result.
WRK_SCRIPT = """\
local file = assert(io.open(os.getenv("BENCH_BODY_FILE"), "rb"))
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = "application/json"

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%.0f p50_us=%.0f p99_us=%.0f "
      .. "status_errors=%d socket_errors=%d\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    errors.status, errors.connect + errors.read + errors.write + errors.timeout))
end
"""


@dataclass(frozen=True)
class Variant:
    """One server to start and the scenarios to drive it with."""

    key: str
    label: str
    inputs: tuple[str, ...]
    concurrencies: tuple[int, ...]
    answers_digits: bool  # False for the ceiling, which answers a constant


@dataclass
class LoadResult:
    """What one load run measured; errors are 4xx/5xx answers plus socket errors."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0


@dataclass
class Row:
    """One line of the results table."""

    server: str
    label: str
    input: str
    concurrency: int
    p50_ms: float
    p99_ms: float
    requests_per_s: float
    requests: int
    errors: int
    rss_mib: float
    cpu_ms_per_request: float  # server CPU time: stable when other jobs share the cores


@dataclass
class ServerFacts:
    """Start-up time, memory and sanity of one server, measured once per run."""

    server: str
    label: str
    started: bool
    ready_s: float | None = None
    processes: int = 0
    rss_total_mib: float = 0.0
    rss_largest_mib: float = 0.0
    rss_per_process_mib: list[float] = field(default_factory=list)
    maps_tensorflow: bool = False
    answers: dict[str, int | None] = field(default_factory=dict)
    problem: str | None = None


# ---------------------------------------------------------------- processes and memory


def progress(message: str) -> None:
    """A line on stderr, so that a four-minute run shows where it is; stdout keeps the report."""
    sys.stderr.write(f"[{time.strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()


def free_port() -> int:
    """A port nobody listens on right now (the kernel's choice)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def process_tree(root: int) -> list[int]:
    """The process and all its descendants (uvicorn's supervisor and its workers)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may contain spaces and parentheses; the fields after it do not.
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    tree, pending = [], [root]
    while pending:
        pid = pending.pop()
        tree.append(pid)
        pending.extend(children.get(pid, []))
    return tree


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used so far (0 once it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    """Resident memory of one process in MiB (0 once it is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def maps_tensorflow(pid: int) -> bool:
    """Whether the process has TensorFlow's shared libraries mapped, i.e. imported it."""
    try:
        return "/tensorflow/" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


class Server:
    """A server process in its own session, so that stopping it stops its workers too."""

    def __init__(self, command: list[str], environment: dict[str, str], log_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.started_at = time.perf_counter()
        with log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [part.replace("{port}", str(self.port)) for part in command],
                cwd=REPO_ROOT,
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> float:
        """Seconds from launch until GET /ready answers 200; RuntimeError if it never does."""
        deadline = self.started_at + timeout
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"exited with code {self.process.returncode}: {self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + "/ready", timeout=1) as response:
                    if response.status == 200:
                        return time.perf_counter() - self.started_at
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.05)
        raise RuntimeError(f"not ready after {timeout:.0f} s: {self.log_tail()}")

    def log_tail(self, lines: int = 5) -> str:
        text = self.log_path.read_text(errors="replace").strip().splitlines()
        return " | ".join(text[-lines:])

    def memory(self) -> list[float]:
        """RSS of every process in the tree (MiB)."""
        return [rss_mib(pid) for pid in process_tree(self.process.pid)]

    def loads_tensorflow(self) -> bool:
        """Whether any process in the tree has TensorFlow mapped (reads every memory map)."""
        return any(maps_tensorflow(pid) for pid in process_tree(self.process.pid))

    def cpu_seconds(self) -> float:
        return sum(cpu_seconds(pid) for pid in process_tree(self.process.pid))

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@contextmanager
def running(command: list[str], environment: dict[str, str], log_path: Path) -> Iterator[Server]:
    server = Server(command, environment, log_path)
    try:
        yield server
    finally:
        server.stop()


def post_once(url: str, body: bytes) -> dict:
    """One request outside the timed runs: the answer must be right before speed matters."""
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:
        return json.loads(response.read())


# ---------------------------------------------------------------- load generators


def parse_wrk_result(output: str) -> LoadResult:
    """Read the RESULT line printed by WRK_SCRIPT's done()."""
    for line in output.splitlines():
        if line.startswith("RESULT "):
            values = dict(pair.split("=") for pair in line.split()[1:])
            return LoadResult(
                requests=int(values["requests"]),
                seconds=float(values["duration_us"]) / 1e6,
                p50_ms=float(values["p50_us"]) / 1000,
                p99_ms=float(values["p99_us"]) / 1000,
                errors=int(values["status_errors"]) + int(values["socket_errors"]),
            )
    raise RuntimeError(f"wrk printed no result line:\n{output}")


def run_wrk(url: str, body_path: Path, concurrency: int, seconds: int, work: Path) -> LoadResult:
    script = work / "post.lua"
    if not script.exists():
        script.write_text(WRK_SCRIPT)
    command = ["wrk", "-t1", f"-c{concurrency}", f"-d{seconds}s", f"--timeout={REQUEST_TIMEOUT}s"]
    completed = subprocess.run(
        [*command, "-s", str(script), url],
        env={**os.environ, "BENCH_BODY_FILE": str(body_path)},
        capture_output=True,
        text=True,
        timeout=seconds + REQUEST_TIMEOUT + 30,
        check=True,
    )
    return parse_wrk_result(completed.stdout)


async def httpx_load(url: str, body: bytes, concurrency: int, seconds: int) -> LoadResult:
    """Fallback generator: `concurrency` clients each POST in a loop until time is up."""
    import httpx  # test dependency, needed only without wrk

    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Content-Type": "application/json"}
    async with httpx.AsyncClient(limits=limits, timeout=REQUEST_TIMEOUT) as client:
        started = time.perf_counter()
        deadline = started + seconds

        async def client_loop() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                sent = time.perf_counter()
                try:
                    response = await client.post(url, content=body, headers=headers)
                except httpx.HTTPError:
                    errors += 1
                    continue
                latencies.append((time.perf_counter() - sent) * 1000)
                errors += response.status_code >= 400  # as wrk counts them

        await asyncio.gather(*(client_loop() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    p50, p99 = np.percentile(latencies, [50, 99]) if latencies else (0.0, 0.0)
    return LoadResult(len(latencies), elapsed, float(p50), float(p99), errors)


def generate_load(
    generator: str, url: str, body_path: Path, concurrency: int, seconds: int
) -> LoadResult:
    if generator == "wrk":
        return run_wrk(url, body_path, concurrency, seconds, body_path.parent)
    return asyncio.run(httpx_load(url, body_path.read_bytes(), concurrency, seconds))


# ---------------------------------------------------------------- the run


def all_variants() -> list[Variant]:
    """Every server, in the order they run (cheapest first)."""
    return [
        Variant("ceiling", "ceiling (constant JSON)", ("any",), CONCURRENCIES, False),
        Variant("digitdraw", "digitdraw, 1 worker", ("png", "strokes"), CONCURRENCIES, True),
        Variant(
            "digitdraw-2w",
            f"digitdraw, {WORKERS} workers",
            ("png", "strokes"),
            MULTI_WORKER_CONCURRENCIES,
            True,
        ),
        Variant("seed", "seed-style (Keras predict)", ("png", "strokes"), CONCURRENCIES, True),
    ]


def server_command(variant: Variant, model_dir: Path) -> list[str]:
    if variant.key.startswith("digitdraw"):
        workers = WORKERS if variant.key.endswith("-2w") else 1
        return [sys.executable, "-m", "app", "--host", "127.0.0.1", "--port", "{port}",
                "--workers", str(workers), "--model-dir", str(model_dir)]  # fmt: skip
    factory = "create_seed_app" if variant.key == "seed" else "create_ceiling_app"
    return [sys.executable, "-m", "uvicorn", "--factory", f"bench.seed_server:{factory}",
            "--host", "127.0.0.1", "--port", "{port}", *BASELINE_UVICORN_OPTIONS]  # fmt: skip


def server_environment(model_dir: Path) -> dict[str, str]:
    path = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    return {
        **os.environ,
        "PYTHONPATH": path,
        "TF_CPP_MIN_LOG_LEVEL": TF_CPP_QUIET,
        "DIGITDRAW_MODEL_DIR": str(model_dir),
    }


def check_answers(server: Server, variant: Variant, bodies: dict[str, Path]) -> dict:
    """The digit each input is read as (the ceiling's constant is not checked)."""
    answers = {}
    for name in variant.inputs:
        answer = post_once(server.url + "/predict", bodies[name].read_bytes())
        answers[name] = answer.get("digit") if variant.answers_digits else None
    return answers


def measure_scenario(
    server: Server,
    variant: Variant,
    name: str,
    concurrency: int,
    options: argparse.Namespace,
    bodies: dict[str, Path],
) -> Row:
    """One timed load run, with the server's CPU time over it and its memory after it."""
    cpu_before = server.cpu_seconds()
    result = generate_load(
        options.load_generator, server.url + "/predict", bodies[name], concurrency, options.seconds
    )
    cpu_ms = (server.cpu_seconds() - cpu_before) * 1000 / max(result.requests, 1)
    memory = server.memory()
    return Row(
        server=variant.key,
        label=variant.label,
        input=name,
        concurrency=concurrency,
        p50_ms=result.p50_ms,
        p99_ms=result.p99_ms,
        requests_per_s=result.requests_per_s,
        requests=result.requests,
        errors=result.errors,
        rss_mib=sum(memory),
        cpu_ms_per_request=cpu_ms,
    )


def measure_variant(
    variant: Variant, options: argparse.Namespace, bodies: dict[str, Path], log_dir: Path
) -> tuple[ServerFacts, list[Row]]:
    """Start one server, check it, warm it up, run its scenarios, stop it."""
    progress(f"{variant.label}: starting")
    facts = ServerFacts(variant.key, variant.label, started=False)
    rows: list[Row] = []
    command = server_command(variant, options.model_dir)
    environment = server_environment(options.model_dir)
    with running(command, environment, log_dir / f"{variant.key}.log") as server:
        try:
            facts.ready_s = server.wait_ready()
            facts.answers = check_answers(server, variant, bodies)
        except (RuntimeError, urllib.error.URLError, ValueError) as error:
            facts.problem = str(error)
            progress(f"{variant.label}: failed: {error}")
            return facts, rows
        facts.started = True
        url = server.url + "/predict"
        for name in variant.inputs:
            generate_load(
                options.load_generator, url, bodies[name], WARMUP_CONCURRENCY, WARMUP_SECONDS
            )
        for concurrency in variant.concurrencies:
            for name in variant.inputs:
                progress(f"{variant.label}: {name}, {concurrency} connections")
                rows.append(measure_scenario(server, variant, name, concurrency, options, bodies))
        memory = server.memory()
        facts.processes = len(memory)
        facts.rss_total_mib = sum(memory)
        facts.rss_largest_mib = max(memory, default=0.0)
        facts.rss_per_process_mib = [round(mib, 1) for mib in memory]
        facts.maps_tensorflow = server.loads_tensorflow()
    return facts, rows


def machine_facts(options: argparse.Namespace) -> dict[str, str]:
    """What the numbers depend on, for the report's header."""

    def version(package: str) -> str:
        try:
            return importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            return "absent"

    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    if options.load_generator == "wrk":
        wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
        generator = " ".join(wrk.stdout.split()[:2])
    else:
        generator = f"httpx {version('httpx')} (asyncio)"
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "load_average": " ".join(f"{load:.2f}" for load in os.getloadavg()),
        "python": platform.python_version(),
        "tensorflow": version("tensorflow"),
        "ai_edge_litert": version("ai-edge-litert"),
        "uvicorn": version("uvicorn"),
        "fastapi": version("fastapi"),
        "load_generator": generator,
        "seconds_per_scenario": str(options.seconds),
        "model_dir": str(options.model_dir),
    }


# ---------------------------------------------------------------- the report


def find_row(rows: list[Row], server: str, name: str, concurrency: int) -> Row | None:
    for row in rows:
        if (row.server, row.input, row.concurrency) == (server, name, concurrency):
            return row
    return None


def speed_up(rows: list[Row], server: str, name: str, concurrency: int, baseline: str) -> str:
    ours = find_row(rows, server, name, concurrency)
    other = find_row(rows, baseline, "any" if baseline == "ceiling" else name, concurrency)
    if ours is None or other is None or other.requests_per_s == 0:
        return "–"
    ratio = ours.requests_per_s / other.requests_per_s
    return f"{ratio:.1f}x" if ratio >= 1 else f"{ratio:.2f}x"


def verdict(ok: bool | None, target: str, measured: str) -> str:
    """One target line: PASS or FAIL with the measured figures, SKIP when it did not run."""
    if ok is None:
        return f"SKIP  {target} (not measured)"
    return f"{'PASS' if ok else 'FAIL'}  {target}: {measured}"


def target_lines(rows: list[Row], servers: list[ServerFacts]) -> list[str]:
    """PASS/FAIL/SKIP for each of the project's targets."""
    single = find_row(rows, "digitdraw", "png", 1)
    seed = find_row(rows, "seed", "png", 1)
    lines = []
    target = f"PNG, 1 connection, p50 ≤ {P50_TARGET_MS:g} ms"
    if single is None:
        lines.append(verdict(None, target, ""))
    else:
        ok = single.p50_ms <= P50_TARGET_MS and single.errors == 0 and single.requests > 0
        lines.append(verdict(ok, target, f"{single.p50_ms:.2f} ms"))
    target = f"PNG, 1 connection, ≥ {SEED_SPEED_UP_TARGET:g}x the seed-style throughput"
    if single is None or seed is None or seed.requests == 0:
        lines.append(verdict(None, target, ""))
    else:
        ratio = single.requests_per_s / seed.requests_per_s
        lines.append(verdict(ratio >= SEED_SPEED_UP_TARGET, target, f"{ratio:.1f}x"))
    for concurrency, (minimum_rate, maximum_p99) in MULTI_WORKER_TARGETS.items():
        for name in ("png", "strokes"):
            row = find_row(rows, "digitdraw-2w", name, concurrency)
            target = (
                f"{WORKERS} workers, {name}, {concurrency} connections: "
                f"≥ {minimum_rate:,.0f} req/s, p99 ≤ {maximum_p99:g} ms, no errors"
            )
            if row is None:
                lines.append(verdict(None, target, ""))
                continue
            ok = row.requests_per_s >= minimum_rate and row.p99_ms <= maximum_p99
            measured = (
                f"{row.requests_per_s:,.0f} req/s, p99 {row.p99_ms:.1f} ms, {row.errors} errors"
            )
            lines.append(verdict(ok and row.errors == 0, target, measured))
    for facts in servers:
        lines.extend(server_target_lines(facts))
    return lines


def server_target_lines(facts: ServerFacts) -> list[str]:
    """Right answers for every server; start-up time and memory for digitdraw's."""
    if facts.server == "ceiling":
        return []
    answers = ", ".join(f"{name} → {digit}" for name, digit in facts.answers.items())
    lines = [
        verdict(
            facts.started and set(facts.answers.values()) == {DIGIT_LABEL},
            f"{facts.label}: reads the drawing as {DIGIT_LABEL} from every input",
            answers or str(facts.problem),
        )
    ]
    if not facts.server.startswith("digitdraw"):
        return lines
    ready_target = f"{facts.label}: ready ≤ {READY_TARGET_S:g} s after launch"
    memory_target = (
        f"{facts.label}: ≤ {RSS_PER_PROCESS_TARGET_MIB:g} MiB per process, no TensorFlow"
    )
    if not facts.started:
        return [*lines, verdict(None, ready_target, ""), verdict(None, memory_target, "")]
    tensorflow = "TensorFlow loaded" if facts.maps_tensorflow else "TensorFlow not loaded"
    return [
        *lines,
        verdict(facts.ready_s <= READY_TARGET_S, ready_target, f"{facts.ready_s:.2f} s"),
        verdict(
            facts.rss_largest_mib <= RSS_PER_PROCESS_TARGET_MIB and not facts.maps_tensorflow,
            memory_target,
            f"largest process {facts.rss_largest_mib:.0f} MiB, {tensorflow}",
        ),
    ]


def results_table(rows: list[Row]) -> list[str]:
    lines = [
        "| connections | server | input | p50 ms | p99 ms | req/s | errors | RSS MiB "
        "| CPU ms/req |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in sorted(rows, key=lambda row: row.concurrency):
        # No request finished within the time: the latencies and CPU share mean nothing.
        timed = row.requests > 0
        p50, p99, cpu = (
            (f"{row.p50_ms:.2f}", f"{row.p99_ms:.2f}", f"{row.cpu_ms_per_request:.2f}")
            if timed
            else ("–", "–", "–")
        )
        lines.append(
            f"| {row.concurrency} | {row.label} | {row.input} | {p50} | {p99} | "
            f"{row.requests_per_s:,.0f} | {row.errors} | {row.rss_mib:.0f} | {cpu} |"
        )
    return lines


def ratio_table(rows: list[Row]) -> list[str]:
    lines = [
        "| input | connections | 1 worker / seed-style | 1 worker / ceiling "
        f"| {WORKERS} workers / seed-style | {WORKERS} workers / ceiling |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name in ("png", "strokes"):
        for concurrency in CONCURRENCIES:
            cells = [
                speed_up(rows, server, name, concurrency, baseline)
                for server in ("digitdraw", "digitdraw-2w")
                for baseline in ("seed", "ceiling")
            ]
            lines.append(f"| {name} | {concurrency} | " + " | ".join(cells) + " |")
    return lines


def servers_table(servers: list[ServerFacts]) -> list[str]:
    lines = [
        "| server | ready s | processes | RSS total MiB | largest process MiB | TensorFlow "
        "| answers |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    for facts in servers:
        if not facts.started:
            lines.append(f"| {facts.label} | failed: {facts.problem} | | | | | |")
            continue
        answers = ", ".join(
            f"{name} → {'constant' if digit is None else digit}"
            for name, digit in facts.answers.items()
        )
        lines.append(
            f"| {facts.label} | {facts.ready_s:.2f} | {facts.processes} | "
            f"{facts.rss_total_mib:.0f} | {facts.rss_largest_mib:.0f} | "
            f"{'loaded' if facts.maps_tensorflow else 'no'} | {answers} |"
        )
    return lines


def render_report(machine: dict[str, str], rows: list[Row], servers: list[ServerFacts]) -> str:
    header = (
        f"nproc {machine['nproc']} · {machine['cpu']} · load average {machine['load_average']} "
        f"at start, {machine['load_average_end']} at end · Python {machine['python']} · "
        f"TensorFlow {machine['tensorflow']} · "
        f"ai-edge-litert {machine['ai_edge_litert']} · uvicorn {machine['uvicorn']} · "
        f"FastAPI {machine['fastapi']} · {machine['load_generator']} · "
        f"{machine['seconds_per_scenario']} s per scenario · {machine['date']}"
    )
    sections = [
        [f"# POST /predict benchmark, {machine['date']}", "", header, ""],
        results_table(rows),
        [
            "",
            f"Every server must read the drawing as {DIGIT_LABEL}. RSS sums every process of the "
            "server after the scenario; CPU ms/req is the server's user + system CPU time over "
            "the scenario divided by its requests, which other jobs on the machine barely change.",
            "",
        ],
        ["## Throughput ratios", ""],
        ratio_table(rows),
        ["", "## Servers", ""],
        servers_table(servers),
        ["", "## Targets", "", "```"],
        target_lines(rows, servers),
        ["```"],
    ]
    return "\n".join(line for section in sections for line in section) + "\n"


# ---------------------------------------------------------------- command line


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=DEFAULT_SECONDS, help="per scenario")
    parser.add_argument("--quick", action="store_true", help="1 s per scenario: a smoke run")
    parser.add_argument(
        "--model-dir",
        type=Path,
        default=Path(os.environ.get("DIGITDRAW_MODEL_DIR", REPO_ROOT / "model_store")),
        help="model store served by every server (default: $DIGITDRAW_MODEL_DIR or model_store)",
    )
    parser.add_argument(
        "--variants",
        default="ceiling,digitdraw,digitdraw-2w,seed",
        help="comma-separated servers to run: ceiling, digitdraw, digitdraw-2w, seed",
    )
    parser.add_argument("--load-generator", choices=("auto", "wrk", "httpx"), default="auto")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="results folder")
    options = parser.parse_args(argv)
    known = {variant.key: variant for variant in all_variants()}
    selected = set(options.variants.split(","))
    unknown = selected - set(known)
    if unknown:
        parser.error(
            f"unknown --variants {', '.join(sorted(unknown))}; choose from {', '.join(known)}"
        )
    options.variants = [variant for variant in known.values() if variant.key in selected]
    if options.quick:
        options.seconds = 1
    if options.seconds < 1:
        parser.error("--seconds must be at least 1")
    if options.load_generator == "auto":
        options.load_generator = "wrk" if shutil.which("wrk") else "httpx"
    options.model_dir = options.model_dir.resolve()
    return options


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    log_dir = options.output / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    machine = machine_facts(options)
    rows: list[Row] = []
    servers: list[ServerFacts] = []
    with tempfile.TemporaryDirectory(prefix="digitdraw-bench-") as work:
        payloads = request_bodies()
        payloads["any"] = payloads["png"]  # the ceiling ignores its body
        bodies = {}
        for name, body in payloads.items():
            bodies[name] = Path(work) / f"{name}.json"
            bodies[name].write_bytes(body)
        for variant in options.variants:
            facts, variant_rows = measure_variant(variant, options, bodies, log_dir)
            servers.append(facts)
            rows.extend(variant_rows)
    machine["load_average_end"] = " ".join(f"{load:.2f}" for load in os.getloadavg())
    report = render_report(machine, rows, servers)
    sys.stdout.write(report)
    (options.output / "latest.md").write_text(report, encoding="utf-8")
    results = {
        "machine": machine,
        "rows": [asdict(row) for row in rows],
        "servers": [asdict(facts) for facts in servers],
        "targets": target_lines(rows, servers),
    }
    (options.output / "latest.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0 if all(facts.started for facts in servers) else 1


if __name__ == "__main__":
    sys.exit(main())
