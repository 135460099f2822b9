"""A smoke run of bench.bench_explain: a real server, one second per scenario, the right digits.

Speed is not asserted here (it belongs to `python -m bench.bench_explain` on a quiet machine);
the run must measure /predict, /explain and /explain base64 with no error.
"""

import json
from pathlib import Path

from bench import bench_explain


def test_bench_explain_measures_every_scenario_without_errors(tmp_path: Path) -> None:
    exit_code = bench_explain.main(
        ["--seconds", "1", "--model", "mlp128-64", "--output", str(tmp_path)]
    )
    assert exit_code == 0, (tmp_path / "latest.md").read_text()
    rows = json.loads((tmp_path / "latest.json").read_text())
    assert [row["endpoint"] for row in rows] == ["/predict", "/explain", "/explain base64"]
    assert all(row["errors"] == 0 and row["requests_per_s"] > 0 for row in rows)
