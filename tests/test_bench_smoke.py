"""Smoke runs of the benchmark machinery: real servers, one second per scenario.

These check that every scenario runs, answers the right digit and counts no error; they assert
nothing about speed, which belongs to `python -m bench.bench_predict` on a quiet machine.
"""

import json
import os
from pathlib import Path

import pytest

from bench import bench_predict, stages
from bench.payloads import DIGIT_LABEL
from tests.conftest import REPO_ROOT

# Every (server, input, connections) the full benchmark measures.
EXPECTED_ROWS = {
    *(("ceiling", "any", c) for c in (1, 10, 50)),
    *(("digitdraw", name, c) for name in ("png", "strokes") for c in (1, 10, 50)),
    *(("digitdraw-2w", name, c) for name in ("png", "strokes") for c in (10, 50)),
    *(("seed", name, c) for name in ("png", "strokes") for c in (1, 10, 50)),
}


@pytest.fixture(scope="module")
def model_dir() -> Path:
    """A model store holding the default model, as the servers need one to start."""
    path = Path(os.environ.get("DIGITDRAW_MODEL_DIR", REPO_ROOT / "model_store"))
    if (path / "robust-cnn" / "model.tflite").is_file():
        return path
    message = f"no robust-cnn model in {path} (set DIGITDRAW_MODEL_DIR to a model store)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def run_benchmark(output: Path, *arguments: str) -> dict:
    exit_code = bench_predict.main(["--quick", "--output", str(output), *arguments])
    assert exit_code == 0, (output / "latest.md").read_text()
    return json.loads((output / "latest.json").read_text())


@pytest.mark.slow
def test_quick_benchmark_reports_every_scenario_without_errors(
    model_dir: Path, tmp_path: Path
) -> None:
    results = run_benchmark(tmp_path, "--model-dir", str(model_dir))

    rows = {(row["server"], row["input"], row["concurrency"]): row for row in results["rows"]}
    assert set(rows) == EXPECTED_ROWS
    assert {key: row["errors"] for key, row in rows.items() if row["errors"]} == {}
    for server in results["servers"]:
        assert server["started"], server["problem"]
        if server["server"] != "ceiling":
            assert set(server["answers"].values()) == {DIGIT_LABEL}, server
    assert all(row["requests"] > 0 for key, row in rows.items() if key[0] != "seed")
    report = (tmp_path / "latest.md").read_text()
    table_lines = [line for line in report.splitlines() if line.startswith("| 1 |")]
    assert len(table_lines) == sum(1 for key in EXPECTED_ROWS if key[2] == 1)
    assert "PNG, 1 connection, p50 ≤ 2 ms: " in report


def test_fallback_load_generator_drives_the_ceiling_server(tmp_path: Path) -> None:
    results = run_benchmark(tmp_path, "--variants", "ceiling", "--load-generator", "httpx")

    assert [(row["input"], row["concurrency"]) for row in results["rows"]] == [
        ("any", 1),
        ("any", 10),
        ("any", 50),
    ]
    assert all(row["requests"] > 0 and row["errors"] == 0 for row in results["rows"])
    assert results["machine"]["load_generator"].startswith("httpx")


def test_stage_timings_cover_every_stage_of_both_requests(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert stages.main(["--repeat", "2"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")]
    names = [row.split(" | ")[0].removeprefix("| ") for row in rows[1:]]
    idle_rows = [f"{stages.WHOLE_PNG}, after {idle} ms idle" for idle in stages.IDLE_MS]
    assert names == [*stages.stages(stages.Settings().default_model), *idle_rows]
    assert all(float(row.rstrip(" |").rpartition("| ")[2]) > 0 for row in rows[1:])
