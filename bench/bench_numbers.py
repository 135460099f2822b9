"""How long POST /predict/number's splitting takes, in process, per kind of gap and path.

Numbers are written from pendigits' held-out writers as `training.numbers` writes them. Each is
timed twice: split and read as the endpoint does (training.numbers.read, through app.numbers)
and, as the baseline, read as one digit the way POST /predict reads a drawing (the whole drawing
through app.preprocessing and the model once), so the ratio is what finding and reading the
digits costs over one digit.

    python -m bench.bench_numbers --pendigits path/to/pendigits-orig.tra [--count 60]
"""

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from app import preprocessing
from app.inference import Model, load_model
from app.settings import Settings
from training.numbers import (
    PENDIGITS_ENV,
    SPACINGS,
    WrittenNumber,
    draw_number,
    read,
    written_numbers,
)
from training.pendigits import read_pendigits, writer_split


def timed(run: Callable[[], object], repeats: int = 3) -> float:
    """The fastest of a few runs, in milliseconds (the machine's noise only adds)."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return 1000 * best


def read_as_one_digit(number: WrittenNumber, png: bytes | None, model: Model) -> None:
    """The baseline: the drawing read as one digit, as POST /predict prepares and reads it."""
    if png is not None:
        image = preprocessing.image_bytes_to_mnist(png)
    else:
        image = preprocessing.strokes_to_mnist(list(number.strokes))
    model.predict(image[np.newaxis] * 255.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pendigits", type=Path, default=os.environ.get(PENDIGITS_ENV))
    parser.add_argument("--count", type=int, default=60, help="numbers per kind of gap")
    parser.add_argument("--model", default=Settings().default_model)
    args = parser.parse_args(argv)
    if args.pendigits is None:
        sys.stderr.write(f"bench_numbers: pass --pendigits or set {PENDIGITS_ENV}\n")
        return 2
    model_dir = Settings().model_dir
    model = load_model(model_dir / args.model)
    heldout = writer_split(read_pendigits(args.pendigits))[1]
    print(f"{args.model}, {args.count} numbers per gap, ms per number (fastest of 3 runs each)")
    print(f"{'gap':10}{'path':9}{'split p50':>10}{'p90':>8}{'one digit p50':>15}{'ratio':>7}")
    for spacing in SPACINGS:
        written = written_numbers(heldout, spacing, args.count, seed=0)
        for path in ("strokes", "image"):
            split, whole = [], []
            for index, number in enumerate(written):
                png = draw_number(number, 0, index) if path == "image" else None
                split.append(timed(lambda n=number, p=png: read(model, model_dir, n, p)))
                whole.append(timed(lambda n=number, p=png: read_as_one_digit(n, p, model)))
            p50, base = statistics.median(split), statistics.median(whole)
            p90 = statistics.quantiles(split, n=10)[-1]
            print(f"{spacing:10}{path:9}{p50:10.1f}{p90:8.1f}{base:15.1f}{p50 / base:6.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
