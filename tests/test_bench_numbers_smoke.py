"""A smoke run of bench.bench_numbers: three numbers per gap, a row for every gap and path.

Speed is not asserted here (it belongs to `python -m bench.bench_numbers` on a quiet machine).
"""

from pathlib import Path

import pytest

from bench import bench_numbers


def test_bench_numbers_times_every_gap_and_path(
    pendigits_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert bench_numbers.main(["--pendigits", str(pendigits_path), "--count", "3"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()[2:]]
    assert [(row[0], row[1]) for row in rows] == [
        (gap, path) for gap in ("clear", "close", "touching") for path in ("strokes", "image")
    ]
    for row in rows:
        split_p50, split_p90, one_digit_p50 = (float(value) for value in row[2:5])
        assert 0 < split_p50 <= split_p90 and one_digit_p50 > 0
        # The ratio is of the unrounded times; each time printed is within 0.05 ms of its own.
        ratio = float(row[5].removesuffix("x"))
        low = (split_p50 - 0.05) / (one_digit_p50 + 0.05) - 0.05
        high = (split_p50 + 0.05) / max(one_digit_p50 - 0.05, 1e-9) + 0.05
        assert low <= ratio <= high, (row, low, high)
