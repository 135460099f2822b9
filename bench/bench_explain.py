"""POST /explain against POST /predict in the same run: what the look inside costs per drawing.

    python -m bench.bench_explain                    # 10 s per scenario, every model
    python -m bench.bench_explain --seconds 3 --model robust-cnn

One `python -m app` server on 127.0.0.1 (one worker), driven by wrk at one connection with the
strokes body a drawing page sends (bench.payloads), for /predict (the baseline) and /explain
(the prediction plus every layer's activations and the saliency map), per model. The answers
are checked first: /explain must read the same digit as /predict. Prints a Markdown table and
writes it, with the raw figures, to --output (default test-artifacts/bench-explain/).
"""

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench.bench_predict import (
    LoadResult,
    generate_load,
    post_once,
    running,
    server_environment,
)
from bench.payloads import strokes_request_body
from tests.conftest import REPO_ROOT

MODELS = ("robust-cnn", "cnn-tutorial", "mlp512", "mlp128-64")
P50_TARGET_MS = 15.0  # /explain, robust-cnn, one connection
DEFAULT_OUTPUT = REPO_ROOT / "test-artifacts" / "bench-explain"


def body_for(model: str, **fields: str) -> bytes:
    return json.dumps({**json.loads(strokes_request_body()), "model": model, **fields}).encode()


def measure(
    models: Sequence[str], seconds: int, generator: str, work: Path
) -> list[dict[str, object]]:
    command = [sys.executable, "-m", "app", "--host", "127.0.0.1", "--port", "{port}",
               "--model-dir", str(REPO_ROOT / "model_store"), "--log-level", "warning"]  # fmt: skip
    rows = []
    with running(command, server_environment(REPO_ROOT / "model_store"), work / "server.log") as s:
        s.wait_ready()
        for model in models:
            scenarios = {
                "/predict": ("predict", body_for(model)),
                "/explain": ("explain", body_for(model)),
                "/explain base64": ("explain", body_for(model, encoding="base64")),
            }
            predicted = post_once(f"{s.url}/predict", scenarios["/predict"][1])
            for label, (endpoint, body) in scenarios.items():
                body_path = work / f"{model}-{endpoint}.json"
                body_path.write_bytes(body)
                answer = post_once(f"{s.url}/{endpoint}", body)
                if answer["digit"] != predicted["digit"]:
                    raise RuntimeError(f"{model}: {label} read {answer['digit']}, not {predicted}")
                result: LoadResult = generate_load(
                    generator, f"{s.url}/{endpoint}", body_path, 1, seconds
                )
                rows.append(
                    {
                        "model": model,
                        "endpoint": label,
                        "p50_ms": round(result.p50_ms, 2),
                        "p99_ms": round(result.p99_ms, 2),
                        "requests_per_s": round(result.requests_per_s, 1),
                        "errors": result.errors,
                        "answer_kib": round(len(json.dumps(answer)) / 1024),
                    }
                )
    return rows


def table(rows: list[dict[str, object]]) -> str:
    lines = [
        "| model | endpoint | p50 ms | p99 ms | req/s | answer KiB | errors |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['model']} | {row['endpoint']} | {row['p50_ms']} | {row['p99_ms']} | "
            f"{row['requests_per_s']} | {row['answer_kib']} | {row['errors']} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_explain", description=__doc__)
    parser.add_argument("--seconds", type=int, default=10, help="per scenario (default 10).")
    parser.add_argument("--model", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--load-generator", choices=("wrk", "httpx"), default="wrk")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    options = parser.parse_args(argv)
    options.output.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-explain-") as work:
        rows = measure(options.model, options.seconds, options.load_generator, Path(work))
    report = table(rows)
    explain_default = next(
        (r for r in rows if r["model"] == "robust-cnn" and r["endpoint"] == "/explain base64"),
        None,
    )
    if explain_default is not None:
        verdict = "met" if float(explain_default["p50_ms"]) <= P50_TARGET_MS else "NOT met"
        report += (
            "\n\n/explain (base64, as the page asks) robust-cnn p50 "
            f"{explain_default['p50_ms']} ms "
            f"(target <= {P50_TARGET_MS} ms: {verdict})"
        )
    print(report)
    (options.output / "latest.md").write_text(report + "\n")
    (options.output / "latest.json").write_text(json.dumps(rows, indent=1) + "\n")
    return 0 if all(row["errors"] == 0 for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
