"""A few seconds of the classroom benchmark: it runs, loses nothing and counts no error.

Speed is not asserted here: that is `python -m bench.bench_classroom` on a quiet machine.
"""

import json
from pathlib import Path

from bench import bench_classroom


def test_a_short_simulated_class_stores_and_shows_every_acknowledged_drawing(
    tmp_path: Path,
) -> None:
    exit_code = bench_classroom.main(
        ["--students", "3", "--seconds", "3", "--output", str(tmp_path)]
    )
    assert exit_code == 0
    result = json.loads((tmp_path / "classroom.json").read_text())
    assert result["drawings_acknowledged"] >= 1, result
    assert result["drawings_stored"] == result["drawings_acknowledged"]
    assert result["lost_in_store"] == result["missing_on_wall"] == 0
    assert result["errors"] == 0, result["error_samples"]
    assert result["send_to_wall_ms"]["p50"] is not None
    assert result["predict_ms"]["count"] > 10
