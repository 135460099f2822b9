"""A class teaches the model its handwriting: corrections, fine-tune, before/after on real pens.

    .venv/bin/python -m bench.learnloop --data path/to/mnist.npz \\
        --pendigits path/to/pendigits-orig.tra [--writers 21-25] [--per-writer 40]

The scenario of "Teach it your handwriting" in the README, on people the model never saw:
1. five of pendigits' held-out writers (21-30; by default the five the model misreads most, the
   students who would press "Wrong?") "correct" the model: each writer's digits are split at
   random into what they drew in class (half) and what they will draw later (the other half);
   of the first half, the 40 the model finds hardest (lowest probability of the true digit,
   strokes path) become corrections, stored through the server's own correction code
   (app.routers.corrections) in a fresh SQLite file;
2. `python -m training finetune` on that store, from robust-cnn version 1 in a temporary copy of
   the model store (never the repository's), every correction learnt from (--holdout-share 0:
   the honest test is the next step);
3. the parent and the new version (their model.tflite, run as the server runs them) score the
   five writers' digits of the second half (never picked, so never easier than their mistakes),
   every digit of the other five writers, and MNIST test.

Prints the before/after table (Markdown) and the fine-tune's wall time, and writes
bench/results/learnloop-<model>.json and .md. Takes the fine-tune's time plus about half a minute.
"""

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from app.inference import ModelRegistry, ModelRoot, ModelSources, load_catalogue, load_model
from app.preprocessing import strokes_to_mnist
from app.routers.corrections import prepare_correction
from app.settings import Settings
from app.store.corrections import CorrectionStore
from training.pendigits import PenDigit, read_pendigits, writer_split

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS = REPO_ROOT / "bench" / "results"
MODEL = "robust-cnn"
SPLIT_SEED = 14  # which half of each writer's digits is "drawn in class"
MAX_DROP = 0.002  # MNIST test and the other writers may lose at most 0.2 points


def writer_range(text: str) -> list[int]:
    first, _, last = text.partition("-")
    return list(range(int(first), int(last or first) + 1))


def inputs(digits: list[PenDigit]) -> np.ndarray:
    """(N, 28, 28) 0..255 float32, the server's strokes path."""
    return np.stack([strokes_to_mnist([s.tolist() for s in d.strokes]) for d in digits]) * 255.0


def accuracy(model_folder: Path, version: int, images: np.ndarray, labels: np.ndarray) -> float:
    model = load_model(model_folder, model_folder.name if version == 1 else "model", version)
    return float((model.predict(images.astype(np.float32)).argmax(axis=1) == labels).mean())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="mnist.npz")
    parser.add_argument("--pendigits", type=Path, required=True, help="pendigits-orig.tra")
    parser.add_argument(
        "--writers",
        default="worst",
        help="the writers who correct, e.g. 21-25 (default: the five the model misreads most)",
    )
    parser.add_argument("--model", default=MODEL, help="the model to fine-tune")
    parser.add_argument("--per-writer", type=int, default=40, help="corrections per writer")
    parser.add_argument("--epochs", type=int, help="fine-tune epochs (default: the command's)")
    parser.add_argument("--limit", type=int, help="MNIST digits mixed in (default: all)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="keep the temporary store here")
    args = parser.parse_args(argv)

    settings = Settings()
    model_name = args.model
    _, heldout = writer_split(read_pendigits(args.pendigits))
    work = Path(args.keep or tempfile.mkdtemp(prefix="digitdraw-learnloop-"))
    store = work / "store"
    shutil.rmtree(store, ignore_errors=True)
    (store / model_name).mkdir(parents=True)
    for name in ("model.keras", "model.tflite", "card.json"):
        shutil.copy(settings.model_dir / model_name / name, store / model_name / name)
    parent = load_model(store / model_name, model_name, 1)
    if args.writers == "worst":
        images = inputs(heldout).astype(np.float32)
        wrong = parent.predict(images).argmax(axis=1) != np.array([d.label for d in heldout])
        mistakes = {w: int(wrong[[d.writer == w for d in heldout]].sum()) for w in range(21, 31)}
        correcting = sorted(sorted(mistakes, key=lambda w: (-mistakes[w], w))[:5])
    else:
        correcting = writer_range(args.writers)
    if not set(correcting) <= {d.writer for d in heldout}:
        parser.error("--writers must be among the held-out writers 21-30")
    writers_text = ", ".join(str(w) for w in correcting)

    # 1. the hardest digits of each correcting writer become its corrections
    sources = ModelSources([ModelRoot(store, strict=True)], model_name)
    registry = ModelRegistry(load_catalogue(sources), sources)
    data_dir = work / "data"
    shutil.rmtree(data_dir, ignore_errors=True)
    corrections = CorrectionStore(data_dir)
    others_of_correcting: list[PenDigit] = []
    rng = np.random.default_rng(SPLIT_SEED)
    for writer in correcting:
        digits = [d for d in heldout if d.writer == writer]
        in_class = rng.permutation(len(digits))[: len(digits) // 2]
        probabilities = parent.predict(inputs([digits[i] for i in in_class]).astype(np.float32))
        labels = np.array([digits[i].label for i in in_class])
        hardest = np.argsort(probabilities[np.arange(len(in_class)), labels], kind="stable")
        drawn_in_class = set(in_class.tolist())
        chosen = {int(in_class[i]) for i in hardest[: args.per_writer]}
        for index, digit in enumerate(digits):
            if index not in drawn_in_class:
                others_of_correcting.append(digit)
            if index not in chosen:
                continue
            body = {
                "strokes": [s.tolist() for s in digit.strokes],
                "label": digit.label,
                "source": "class",
                "writer": f"pendigits-{writer}",
            }
            corrections.add(prepare_correction(json.dumps(body).encode(), registry, settings))
    other_writers = [d for d in heldout if d.writer not in correcting]
    count = corrections.count()

    # 2. fine-tune, timed as a teacher would wait for it
    command = [
        sys.executable,
        "-m",
        "training",
        "finetune",
        "--model",
        model_name,
        "--corrections",
        str(corrections.path),
        "--data",
        str(args.data),
        "--pendigits",
        str(args.pendigits),
        "--store",
        str(store),
        "--holdout-share",
        "0",
        "--threads",
        str(args.threads),
        "--no-reload",
    ]
    if args.epochs:
        command += ["--epochs", str(args.epochs)]
    if args.limit:
        command += ["--limit", str(args.limit)]
    load_before = os.getloadavg()[0]
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        command,
        cwd=REPO_ROOT,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # CPU time does not grow when other jobs share the cores: wall time on a free machine is
    # about this over the two threads the command trains with.
    cpu_seconds = (children_after.ru_utime - children_before.ru_utime) + (
        children_after.ru_stime - children_before.ru_stime
    )
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        return 1
    load_after = os.getloadavg()[0]
    card = json.loads((store / model_name / "versions" / "2" / "card.json").read_text())

    # 3. before and after, as the server runs the two versions
    with np.load(args.data) as mnist:
        mnist_x, mnist_y = mnist["x_test"].astype(np.float32), mnist["y_test"]
    sets = {
        f"writers {writers_text}: the half not drawn in class": others_of_correcting,
        "the other held-out writers": other_writers,
    }
    rows = []
    for title, digits in sets.items():
        images, labels = inputs(digits), np.array([d.label for d in digits])
        rows.append(
            (
                title,
                len(digits),
                accuracy(store / model_name, 1, images, labels),
                accuracy(store / model_name / "versions" / "2", 2, images, labels),
            )
        )
    rows.append(
        (
            "MNIST test",
            len(mnist_y),
            accuracy(store / model_name, 1, mnist_x, mnist_y),
            accuracy(store / model_name / "versions" / "2", 2, mnist_x, mnist_y),
        )
    )
    lines = [
        f"{model_name}: {count} corrections (the {args.per_writer} hardest of the half each of "
        f"writers {writers_text} drew in class); fine-tune {seconds:.0f} s wall time, "
        f"{cpu_seconds:.0f} s CPU (load average "
        f"{load_before:.1f} before, {load_after:.1f} after, {os.cpu_count()} cores); "
        f"marked default: {card['finetune']['marked_default']}",
        "",
        f"| digits | n | {model_name}@1 | {model_name}@2 | change |",
        "|---|---:|---:|---:|---:|",
    ]
    for title, n, before, after in rows:
        change = (after - before) * 100
        lines.append(f"| {title} | {n:,} | {before:.2%} | {after:.2%} | {change:+.2f} points |")
    errors = [
        (title, round((1 - before) * n), round((1 - after) * n)) for title, n, before, after in rows
    ]
    lines.append("")
    lines.append(
        "Mistakes: "
        + "; ".join(f"{title} {b} -> {a}" for title, b, a in errors)
        + ". Command: "
        + " ".join(Path(part).name if os.sep in part else part for part in command[1:])
    )
    report = "\n".join(lines)
    print(report)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"learnloop-{model_name}.json").write_text(
        json.dumps(
            {
                "rows": [{"digits": t, "n": n, "before": b, "after": a} for t, n, b, a in rows],
                "corrections": count,
                "seconds": seconds,
                "cpu_seconds": cpu_seconds,
                "load_average": [load_before, load_after],
                "card_finetune": card["finetune"],
                "fine_tune_output": done.stdout,
            },
            indent=2,
        )
        + "\n"
    )
    (RESULTS / f"learnloop-{model_name}.md").write_text(report + "\n")
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)
    worse = [t for t, n, b, a in rows[1:] if b - a > MAX_DROP]
    return 1 if worse else 0


if __name__ == "__main__":
    sys.exit(main())
