"""Watch it learn, measured: /predict latency before and during a class training job, and how long
each tutorial model takes to train on this machine.

    .venv/bin/python -m bench.bench_training --mnist /path/to/mnist.npz
    .venv/bin/python -m bench.bench_training --quick       # 5 s per rate, small jobs only

A real `python -m app` (one worker) is started with a fresh data folder. The load is as pads send:
each pad keeps one request in flight and waits the page's 120 ms throttle before the next, with
the page's strokes body (bench/payloads.py); wrk runs the pads (a Python client would compete
with the server for the two cores). Pads: one drawing (about 8 requests a second) and a class of
30 drawing at once (up to 250 a second). Each rate runs idle, then while
cnn-tutorial (the heaviest tutorial model) trains on 55,000 digits. Then every tutorial model is
trained twice with nothing else running: the classroom defaults (SGD 0.1, 2,000 digits, 1 epoch,
batch 64) and all 55,000 digits for 1 epoch. Results go to stdout and bench/results/training.md.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from app.settings import Settings
from bench.payloads import strokes_request_body
from tests.helpers import TEACHER, running_server

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS = REPO_ROOT / "bench" / "results"
PAGE_INTERVAL_S = 0.120  # app/routers/pages.py LIVE_PREDICT_INTERVAL_MS
PADS = (1, 30)  # one pad drawing; a class of 30 drawing at once
LOAD_JOB = {"model": "cnn-tutorial", "optimizer": "adam", "learning_rate": 0.001, "epochs": 5,
            "train_size": 55_000}  # fmt: skip
JOB_TIMEOUT_S = 1800


WRK_SCRIPT = """
local file = io.open(os.getenv("DIGITDRAW_BENCH_BODY"), "rb")
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = "application/json"
function delay() return %d end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %%d %%d %%.3f %%.3f %%.3f %%.3f\\n", summary.requests,
    summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, latency.mean / 1000))
end
"""


def pads(base_url: str, count: int, seconds: float, folder: Path) -> dict[str, float]:
    """`count` pads, each one request in flight and PAGE_INTERVAL_S between answers and the next
    request (the page's throttle), run by wrk so the load generator costs little CPU."""
    body, script = folder / "body.json", folder / "pads.lua"
    body.write_bytes(strokes_request_body())
    script.write_text(WRK_SCRIPT % round(PAGE_INTERVAL_S * 1000))
    output = subprocess.run(
        [
            "wrk",
            "-t",
            "1",
            "-c",
            str(count),
            "-d",
            f"{seconds:g}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            f"{base_url}/predict",
        ],  # fmt: skip
        env={**os.environ, "DIGITDRAW_BENCH_BODY": str(body)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    numbers = next(line for line in output.splitlines() if line.startswith("RESULT")).split()[1:]
    requests, errors, p50, p95, p99, mean = numbers
    return {
        "requests": int(requests),
        "errors": int(errors),
        "p50": float(p50),
        "p95": float(p95),
        "p99": float(p99),
        "mean": float(mean),
        "rate": int(requests) / seconds,
    }


def start_job(base_url: str, settings: dict) -> str:
    response = httpx.post(f"{base_url}/api/training", json=settings, headers=TEACHER, timeout=30)
    response.raise_for_status()
    return response.json()["job_id"]


def follow_until(base_url: str, job_id: str, kinds: tuple[str, ...]) -> tuple[str, dict]:
    """Read the job's events until one of `kinds`; returns it (event, data)."""
    url = f"{base_url}/api/training/{job_id}/events"
    with httpx.stream("GET", url, timeout=JOB_TIMEOUT_S) as response:
        event = ""
        for line in response.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event in kinds:
                return event, json.loads(line[6:])
    raise RuntimeError(f"job {job_id} ended without {kinds}")


def time_job(base_url: str, settings: dict) -> dict:
    started = time.perf_counter()
    job_id = start_job(base_url, settings)
    event, data = follow_until(base_url, job_id, ("done", "failed", "cancelled"))
    if event != "done":
        raise RuntimeError(f"{settings}: {event} {data}")
    return {
        **settings,
        "wall_s": round(time.perf_counter() - started, 1),
        "fit_s": data["fit_seconds"],
        "accuracy": data["mnist_test_accuracy"],
        "name": data["name"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mnist", type=Path, default=os.environ.get("DIGITDRAW_MNIST"))
    parser.add_argument("--seconds", type=float, default=20, help="per rate and phase")
    parser.add_argument("--quick", action="store_true", help="5 s per rate, small jobs only")
    args = parser.parse_args()
    if not args.mnist or not Path(args.mnist).is_file():
        print("error: pass --mnist path/to/mnist.npz (or set DIGITDRAW_MNIST)", file=sys.stderr)
        return 2
    seconds = 5 if args.quick else args.seconds
    lines = [
        f"# Watch it learn: bench ({time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f} at the start)"
    ]
    with (
        tempfile.TemporaryDirectory(prefix="digitdraw-bench-") as data_dir,
        running_server(
            Settings().model_dir,
            "--log-level",
            "warning",
            data_dir=Path(data_dir),
            env={"DIGITDRAW_MNIST": str(args.mnist)},
        ) as (base_url, _),
    ):
        rows = []
        folder = Path(data_dir)
        for count in PADS:
            rows.append(("idle", count, pads(base_url, count, seconds, folder)))
        job_id = start_job(base_url, LOAD_JOB)
        follow_until(base_url, job_id, ("progress",))  # TensorFlow is up and training
        for count in PADS:
            rows.append(("training", count, pads(base_url, count, seconds, folder)))
        still = httpx.get(f"{base_url}/api/training/{job_id}").json()["state"]
        httpx.delete(f"{base_url}/api/training/{job_id}", headers=TEACHER, timeout=30)
        lines += [
            "",
            f"/predict (strokes body, robust-cnn), pads sending as the page does (one request "
            f"in flight, {PAGE_INTERVAL_S * 1000:.0f} ms between), {seconds:g} s per row; during: "
            f"{LOAD_JOB['model']} training on {LOAD_JOB['train_size']:,} digits (job {still} "
            "at the end of the row)",
            "",
            "| phase | pads | requests/s | errors | p50 ms | p95 ms | p99 ms |",
            "|---|---|---|---|---|---|---|",
        ]
        for phase, count, stats in rows:
            lines.append(
                f"| {phase} | {count} | {stats['rate']:.0f} | {stats['errors']} | "
                f"{stats['p50']:.1f} | {stats['p95']:.1f} | {stats['p99']:.1f} |"
            )
        print("\n".join(lines), flush=True)

        jobs = []
        sizes = (2000,) if args.quick else (2000, 55_000)
        for model in ("mlp512", "mlp128-64", "cnn-tutorial"):
            for size in sizes:
                jobs.append(time_job(base_url, {"model": model, "train_size": size}))
                print(jobs[-1], flush=True)
        lines += [
            "",
            "Job durations, nothing else running (SGD 0.1, batch 64, 1 epoch, 1 TensorFlow "
            "thread; wall = POST to the done event: TensorFlow's start, training, test, TFLite "
            "check, card)",
            "",
            "| model | digits | wall s | training s | MNIST test |",
            "|---|---|---|---|---|",
        ]
        for job in jobs:
            lines.append(
                f"| {job['model']} | {job['train_size']:,} | {job['wall_s']} | {job['fit_s']} | "
                f"{job['accuracy']:.2%} |"
            )
    lines.append(f"\nLoad average at the end: {os.getloadavg()[0]:.1f}")
    report = "\n".join(lines) + "\n"
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "training.md").write_text(report, encoding="utf-8")
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
