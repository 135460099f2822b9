"""Honest answers, measured: not-a-digit rejection, calibrated confidence and scanned digits.

    python -m training honest --data mnist.npz --pendigits pendigits-orig.tra [--compare]
                              [--update-cards]

For every model in the store, side by side, through the server's own preprocessing and LiteRT
(app.honesty does the same per request):

- real digits (held out from every model and from the detector): MNIST test (the pixels path),
  pendigits writers 21-30 as strokes and as canvas PNGs (the same inputs as realdraw): share
  accepted by the digit detector, accuracy among the accepted, accepted-and-right share;
- not digits: training.negatives' "heldout" split (fonts, seeds and writers the detector never
  saw), the share rejected per kind;
- calibration: one temperature T per model, fitted (least NLL) on pendigits writers 21-25, both
  paths, plus MNIST training digits 55,001-60,000 (every model's validation slice, never trained
  on); expected calibration error (15 equal-width bins) measured on pendigits writers 26-30 and
  MNIST test, before and after; reliability diagram model_store/<name>/reliability.png;
- scans (training.scans): simulated low-resolution scans of MNIST test and of pendigits writers
  21-30, error per model;
- the detector's threshold: the highest score that still accepts >= 99% of each held-out real
  digit source (MNIST test, pendigits strokes, pendigits images); the trade-off curve (digit
  recall against non-digit rejection) in model_store/_digit-detector/tradeoff.png.

--compare also measures the two signals that need no extra model, for every classifier: the top
softmax probability and the energy score logsumexp(logits) (Liu et al. 2020; logits read from
model.keras, so this part imports TensorFlow), each at its own 99%-recall threshold.
--update-cards writes the threshold and figures into the detector's card and each model's card
(calibration.temperature, which the server applies, and evaluation.honesty).

Inputs are cached in --cache (test-artifacts/honest/inputs-<seed>.npz): the first run draws
~15,000 canvases (a few minutes on two cores), later runs take seconds.
"""

import argparse
import json
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from app.honesty import DETECTOR_FOLDER, calibrate, open_detector
from app.inference import Model, load_model, model_folders
from app.preprocessing import image_bytes_to_mnist
from app.settings import Settings
from training.card_file import read_card, write_card
from training.negatives import KINDS, negative_inputs
from training.pendigits import read_pendigits, writer_split

DEFAULT_OUT = Path("test-artifacts/honest")
NEGATIVES_PER_KIND = 1000  # held-out negatives of each kind: +-1 point at 90%
NEGATIVE_SEED = 1001  # the held-out negatives' seed; the detector trains on split "train"
SCANS_MNIST = 3000  # MNIST test digits scanned (the first ones)
TARGET_RECALL = 0.99  # share of each real-digit source the threshold must accept
CALIBRATION_BINS = 15
FIT_WRITERS = (21, 25)  # pendigits writers on which temperatures are fitted
MNIST_HELDOUT_TRAIN = 5000  # the last MNIST training digits: every model's validation slice
REAL_SOURCES = ("mnist_test", "pendigits_strokes", "pendigits_image")
SCAN_SOURCES = ("scans_mnist", "scans_pendigits")
# Further columns per model, (title, function(model, args) -> text): the number-reading
# evaluation (POST /predict/number, another branch) registers its "numbers" column here.
EXTRA_COLUMNS: list[tuple[str, Callable[[Model, argparse.Namespace], str]]] = []


# --- inputs ------------------------------------------------------------------------------------


def build_inputs(args: argparse.Namespace) -> dict[str, np.ndarray]:
    """Every evaluation input (float32 28x28 in [0, 1]) and label, cached by seed."""
    cache = Path(args.cache) / f"inputs-{args.seed}-{args.negatives}.npz"
    if cache.is_file():
        with np.load(cache) as stored:
            return dict(stored)
    from training.realdraw import image_inputs, strokes_input
    from training.scans import scan_png, scan_png_from_strokes

    mnist = np.load(args.data)
    digits = read_pendigits(args.pendigits)
    place = {id(digit): index for index, digit in enumerate(digits)}
    heldout = writer_split(digits)[1]
    indices = np.array([place[id(d)] for d in heldout])
    sets: dict[str, np.ndarray] = {
        "mnist_test": mnist["x_test"].astype(np.float32) / 255.0,
        "mnist_test_labels": mnist["y_test"].astype(np.int64),
        "mnist_val": mnist["x_train"][-MNIST_HELDOUT_TRAIN:].astype(np.float32) / 255.0,
        "mnist_val_labels": mnist["y_train"][-MNIST_HELDOUT_TRAIN:].astype(np.int64),
        "pendigits_strokes": np.stack([strokes_input(d) for d in heldout]),
        "pendigits_image": image_inputs(heldout, indices, args.seed, args.workers),
        "pendigits_labels": np.array([d.label for d in heldout], dtype=np.int64),
        "pendigits_writers": np.array([d.writer for d in heldout], dtype=np.int64),
    }
    x_scan = mnist["x_test"][:SCANS_MNIST]
    sets["scans_mnist"] = np.stack(
        [
            image_bytes_to_mnist(scan_png(x_scan[i], np.random.default_rng([args.seed, 30, i])))
            for i in range(len(x_scan))
        ]
    )
    sets["scans_mnist_labels"] = mnist["y_test"][:SCANS_MNIST].astype(np.int64)
    sets["scans_pendigits"] = np.stack(
        [
            image_bytes_to_mnist(
                scan_png_from_strokes(d.strokes, np.random.default_rng([args.seed, 31, i]))
            )
            for i, d in enumerate(heldout)
        ]
    )
    sets["scans_pendigits_labels"] = sets["pendigits_labels"]
    for kind in KINDS:
        sets[f"negative_{kind}"] = negative_inputs(
            kind, args.negatives, NEGATIVE_SEED + args.seed, "heldout", heldout
        )
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(cache, **sets)
    return sets


def labels_of(sets: dict[str, np.ndarray], source: str) -> np.ndarray:
    if source.startswith("pendigits"):
        return sets["pendigits_labels"]
    return sets[f"{source}_labels"]


# --- calibration -------------------------------------------------------------------------------


def nll(probabilities: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    calibrated = calibrate(probabilities, temperature)
    return float(-np.log(np.maximum(calibrated[np.arange(len(labels)), labels], 1e-12)).mean())


def fit_temperature(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """The T of least negative log-likelihood, on a log grid then refined."""
    grid = np.exp(np.linspace(np.log(0.2), np.log(5.0), 161))
    best = min(grid, key=lambda t: nll(probabilities, labels, t))
    fine = best * np.exp(np.linspace(-0.03, 0.03, 31))
    return round(float(min(fine, key=lambda t: nll(probabilities, labels, t))), 4)


def reliability(
    probabilities: np.ndarray, labels: np.ndarray, bins: int = CALIBRATION_BINS
) -> dict[str, Any]:
    """ECE and the per-bin (confidence, accuracy, count) of top-1 answers."""
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    rows, ece = [], 0.0
    for b in range(bins):
        mask = which == b
        if not mask.any():
            continue
        mean_confidence, accuracy = float(confidence[mask].mean()), float(correct[mask].mean())
        ece += mask.mean() * abs(mean_confidence - accuracy)
        rows.append((mean_confidence, accuracy, int(mask.sum())))
    return {"ece": float(ece), "bins": rows}


def plot_reliability(path: Path, title: str, before: dict, after: dict, temperature: float):
    from matplotlib.figure import Figure

    figure = Figure(figsize=(4.6, 4.4), dpi=110)
    axes = figure.add_subplot()
    axes.plot([0, 1], [0, 1], color="#999999", linewidth=1, label="perfectly calibrated")
    for data, colour, name in (
        (before, "#d62728", f"raw softmax, ECE {before['ece']:.1%}"),
        (after, "#1f77b4", f"T = {temperature:g}, ECE {after['ece']:.1%}"),
    ):
        xs, ys, counts = zip(*data["bins"], strict=True)
        axes.plot(xs, ys, marker="o", color=colour, label=name)
        del counts
    axes.set_xlabel("confidence (top probability)")
    axes.set_ylabel("accuracy")
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.02)
    axes.set_title(title, fontsize=9)
    axes.legend(loc="upper left", fontsize=8)
    figure.tight_layout()
    figure.savefig(path)


# --- rejection -------------------------------------------------------------------------------


def threshold_for(scores: dict[str, np.ndarray], recall: float = TARGET_RECALL) -> float:
    """The highest threshold that accepts >= `recall` of every real-digit source."""
    return float(min(np.quantile(scores[s], 1 - recall, method="lower") for s in REAL_SOURCES))


def rejection_table(
    scores_by_signal: dict[str, dict[str, np.ndarray]], thresholds: dict[str, float]
) -> str:
    """Per signal: real digits accepted, and every kind of non-digit rejected (%)."""
    columns = [*REAL_SOURCES, *[f"negative_{k}" for k in KINDS]]
    heads = ["accept " + s.replace("pendigits_", "pen ") for s in REAL_SOURCES]
    heads += [k.replace("_", " ") for k in KINDS]
    lines = [f"{'signal':34}" + "".join(f"{h[:11]:>12}" for h in heads) + f"{'mean rej.':>12}"]
    for signal, scores in scores_by_signal.items():
        cells = []
        for column in columns:
            accepted = float((scores[column] >= thresholds[signal]).mean())
            cells.append(accepted if column in REAL_SOURCES else 1 - accepted)
        mean_rejected = float(np.mean(cells[len(REAL_SOURCES) :]))
        lines.append(
            f"{signal:34}"
            + "".join(f"{100 * c:>12.1f}" for c in cells)
            + f"{100 * mean_rejected:>12.1f}"
        )
    return "\n".join(lines)


def plot_tradeoff(path: Path, curves: dict[str, dict[str, np.ndarray]], chosen: float) -> None:
    """Recall of real digits against the share of non-digits rejected, one line per signal."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(5.4, 4.4), dpi=110)
    axes = figure.add_subplot()
    for name, scores in curves.items():
        real = np.concatenate([scores[s] for s in REAL_SOURCES])
        fake = np.concatenate([scores[f"negative_{k}"] for k in KINDS])
        cuts = np.unique(np.quantile(real, np.linspace(0, 0.2, 201)))
        recall = [(real >= c).mean() for c in cuts]
        rejected = [(fake < c).mean() for c in cuts]
        axes.plot(recall, rejected, label=name)
        if name.startswith("digit detector"):
            axes.scatter(
                [(real >= chosen).mean()],
                [(fake < chosen).mean()],
                color="black",
                zorder=3,
                label=f"served threshold {chosen:.3f}",
            )
    axes.axvline(TARGET_RECALL, color="#999999", linestyle=":", linewidth=1)
    axes.axhline(0.9, color="#999999", linestyle=":", linewidth=1)
    axes.set_xlabel("real digits accepted (held out: MNIST test, pendigits 21-30)")
    axes.set_ylabel("non-digits rejected (held-out negatives)")
    axes.set_xlim(0.8, 1.0)
    axes.set_ylim(0, 1.0)
    axes.legend(loc="lower left", fontsize=8)
    axes.set_title("Not a digit: the trade-off", fontsize=10)
    figure.tight_layout()
    figure.savefig(path)


def energy_scores(model_dir: Path, name: str, sets: dict[str, np.ndarray]) -> dict:
    """logsumexp of the logits (the input of the last softmax) for every set, via Keras."""
    import keras

    model = keras.saving.load_model(model_dir / name / "model.keras", compile=False)
    last = model.layers[-1]
    features = keras.Model(model.inputs, last.input)
    kernel, bias = (np.asarray(w) for w in last.get_weights())
    out = {}
    for source in [*REAL_SOURCES, *[f"negative_{k}" for k in KINDS]]:
        hidden = features.predict(sets[source] * 255.0, batch_size=1000, verbose=0)
        logits = hidden @ kernel + bias
        top = logits.max(axis=1)
        out[source] = top + np.log(np.exp(logits - top[:, None]).sum(axis=1))
    return out


# --- the run ---------------------------------------------------------------------------------


def write(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def percent(value: float) -> str:
    return f"{100 * value:.2f}"


def accepted_cell(figures: dict[str, float]) -> str:
    return f"{percent(figures['accepted'])}|{percent(figures['accuracy_among_accepted'])}"


def run_honest(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    model_dir = Path(args.model_dir)
    sets = build_inputs(args)
    prepared = time.perf_counter()
    detector = open_detector(model_dir / DETECTOR_FOLDER)
    models = [load_model(folder) for folder in model_folders(model_dir)]
    evaluated = [*REAL_SOURCES, *SCAN_SOURCES, *[f"negative_{k}" for k in KINDS], "mnist_val"]
    detector_scores = {s: np.array([detector.score(image) for image in sets[s]]) for s in evaluated}
    threshold = (
        round(threshold_for(detector_scores), 4)
        if not args.keep_threshold
        else (detector.threshold)
    )
    accepted = {s: detector_scores[s] >= threshold for s in evaluated}
    writers = sets["pendigits_writers"]
    fit_mask = (writers >= FIT_WRITERS[0]) & (writers <= FIT_WRITERS[1])

    write(f"Digit detector threshold {threshold:.4f} (>= {TARGET_RECALL:.0%} of each real source)")
    write(rejection_table({"digit detector": detector_scores}, {"digit detector": threshold}))
    for source in SCAN_SOURCES:
        write(f"  {source}: {percent(accepted[source].mean())}% accepted")

    entries: dict[str, dict[str, Any]] = {}
    head = (
        f"\n{'model':14}{'T':>7}{'ECE raw':>9}{'ECE cal':>9}{'(MNIST':>8}{'pen)':>7}"
        + "".join(f"{'acc|acc ' + s.split('_')[-1][:5]:>15}" for s in REAL_SOURCES)
        + "".join(f"{'err ' + s:>17}" for s in SCAN_SOURCES)
        + "".join(f"{title:>10}" for title, _ in EXTRA_COLUMNS)
    )
    rows = []
    for model in models:
        probabilities = {s: model.predict(sets[s] * 255.0) for s in evaluated}
        fit_p = np.concatenate(
            [
                probabilities["pendigits_strokes"][fit_mask],
                probabilities["pendigits_image"][fit_mask],
                probabilities["mnist_val"],
            ]
        )
        fit_y = np.concatenate(
            [sets["pendigits_labels"][fit_mask]] * 2 + [sets["mnist_val_labels"]]
        )
        temperature = fit_temperature(fit_p, fit_y)
        measure = {
            "mnist_test": (probabilities["mnist_test"], sets["mnist_test_labels"]),
            "pendigits_26_30": (
                np.concatenate(
                    [probabilities[p][~fit_mask] for p in ("pendigits_strokes", "pendigits_image")]
                ),
                np.concatenate([sets["pendigits_labels"][~fit_mask]] * 2),
            ),
        }
        every_p = np.concatenate([p for p, _ in measure.values()])
        every_y = np.concatenate([y for _, y in measure.values()])
        before, after = (
            reliability(every_p, every_y),
            reliability(calibrate(every_p, temperature), every_y),
        )
        per_set = {
            name: round(reliability(calibrate(p, temperature), y)["ece"], 4)
            for name, (p, y) in measure.items()
        }
        plot_reliability(
            model_dir / model.name / "reliability.png",
            f"{model.name}: MNIST test + pendigits writers 26-30",
            before,
            after,
            temperature,
        )
        accuracy = {}
        for source in REAL_SOURCES:
            right = probabilities[source].argmax(1) == labels_of(sets, source)
            kept = accepted[source]
            accuracy[source] = {
                "accepted": round(float(kept.mean()), 4),
                "accuracy_among_accepted": round(float(right[kept].mean()), 4),
                "accepted_and_right": round(float((right & kept).mean()), 4),
                "accuracy_all": round(float(right.mean()), 4),
            }
        scans = {
            source: round(
                float((probabilities[source].argmax(1) != labels_of(sets, source)).mean()), 4
            )
            for source in SCAN_SOURCES
        }
        entries[model.name] = {
            "temperature": temperature,
            "ece_raw": round(before["ece"], 4),
            "ece_calibrated": round(after["ece"], 4),
            "ece_calibrated_per_set": per_set,
            "real_digits": accuracy,
            "scan_error": scans,
        }
        extra = "".join(f"{fn(model, args):>10}" for _, fn in EXTRA_COLUMNS)
        rows.append(
            f"{model.name:14}{temperature:>7.3f}{percent(before['ece']):>9}{percent(after['ece']):>9}"
            f"{percent(per_set['mnist_test']):>8}{percent(per_set['pendigits_26_30']):>7}"
            + "".join(f"{accepted_cell(accuracy[s]):>15}" for s in REAL_SOURCES)
            + "".join(f"{percent(scans[s]):>17}" for s in SCAN_SOURCES)
            + extra
        )
    write(
        "\nPer model (%): temperature, ECE before/after (and per set after), real digits "
        "accepted|accuracy among accepted, error on simulated scans"
    )
    write(head)
    for row in rows:
        write(row)

    curves = {"digit detector (all models)": detector_scores}
    if args.compare:
        write("\nCompared signals, each at its own threshold for >= 99% of each real source:")
        signals: dict[str, dict[str, np.ndarray]] = {"digit detector": detector_scores}
        for model in models:
            signals[f"{model.name} max softmax"] = {
                s: model.predict(sets[s] * 255.0).max(1) for s in evaluated if s != "mnist_val"
            }
            signals[f"{model.name} energy"] = energy_scores(model_dir, model.name, sets)
        thresholds = {name: threshold_for(scores) for name, scores in signals.items()}
        write(rejection_table(signals, thresholds))
        default = Settings().default_model
        curves[f"{default} max softmax"] = signals[f"{default} max softmax"]
        curves[f"{default} energy"] = signals[f"{default} energy"]
    plot_tradeoff(model_dir / DETECTOR_FOLDER / "tradeoff.png", curves, threshold)

    if args.update_cards:
        update_cards(model_dir, models, entries, detector_scores, threshold, args)
        write(f"\nUpdated the cards of the detector and {len(models)} model(s).")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(json.dumps(entries, indent=2) + "\n", encoding="utf-8")
    save_accepted_negatives(args.out / "accepted-negatives.png", sets, detector_scores, threshold)
    table = markdown_tables(entries, detector_scores, threshold)
    (args.out / "table.md").write_text(table, encoding="utf-8")
    write(f"\nMarkdown tables for the README in {args.out / 'table.md'}")
    write(f"\ninputs {prepared - started:.0f} s, evaluation {time.perf_counter() - prepared:.0f} s")
    return 0


def save_accepted_negatives(path: Path, sets: dict, scores: dict, threshold: float) -> None:
    """One row per kind: the held-out negatives the detector let through, most digit-like first."""
    from PIL import Image

    per_row = 16
    rows = []
    for kind in KINDS:
        source = f"negative_{kind}"
        order = np.argsort(-scores[source])
        passed = [sets[source][i] for i in order if scores[source][i] >= threshold][:per_row]
        passed += [np.zeros((28, 28), np.float32)] * (per_row - len(passed))
        rows.append(np.concatenate(passed, axis=1))
    picture = np.clip(np.concatenate(rows) * 255, 0, 255).astype(np.uint8)
    Image.fromarray(picture).resize((picture.shape[1] * 2, picture.shape[0] * 2)).save(path)


def markdown_tables(entries: dict, detector_scores: dict, threshold: float) -> str:
    """The README's two tables: per model, and the detector's rejection per kind."""
    lines = [
        "| model | T | ECE raw → calibrated | MNIST test: accepted, accuracy among accepted "
        "| pendigits 21–30 strokes | pendigits 21–30 image | scan error MNIST / pendigits |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, entry in entries.items():
        real = entry["real_digits"]
        cells = [
            f"{percent(real[s]['accepted'])}%, **{percent(real[s]['accuracy_among_accepted'])}%**"
            for s in REAL_SOURCES
        ]
        scans = entry["scan_error"]
        lines.append(
            f"| {name} | {entry['temperature']:.3f} | {percent(entry['ece_raw'])}% → "
            f"{percent(entry['ece_calibrated'])}% | " + " | ".join(cells) + " | "
            f"{percent(scans['scans_mnist'])}% / {percent(scans['scans_pendigits'])}% |"
        )
    lines += [
        "",
        f"Non-digits rejected by the detector at threshold {threshold:.4f} (held-out negatives):",
        "",
        "| " + " | ".join(k.replace("_", " ") for k in KINDS) + " |",
        "|" + "---:|" * len(KINDS),
        "| "
        + " | ".join(
            f"{percent(float((detector_scores[f'negative_{k}'] < threshold).mean()))}%"
            for k in KINDS
        )
        + " |",
    ]
    return "\n".join(lines) + "\n"


def command(args: argparse.Namespace) -> str:
    return shlex.join(
        [
            "python",
            "-m",
            "training",
            "honest",
            "--data",
            Path(args.data).name,
            "--pendigits",
            Path(args.pendigits).name,
            "--update-cards",
        ]
    )


def update_cards(model_dir, models, entries, detector_scores, threshold, args) -> None:
    """Threshold and figures into the detector's card; temperature and figures into each model's."""
    card = read_card(model_dir / DETECTOR_FOLDER)
    card["threshold"] = threshold
    card["evaluation"] = {
        "threshold_rule": f"highest score accepting >= {TARGET_RECALL:.0%} of each of "
        + ", ".join(REAL_SOURCES)
        + " (held out)",
        "real_digits_accepted": {
            s: round(float((detector_scores[s] >= threshold).mean()), 4) for s in REAL_SOURCES
        },
        "scans_accepted": {
            s: round(float((detector_scores[s] >= threshold).mean()), 4) for s in SCAN_SOURCES
        },
        "non_digits_rejected": {
            k: round(float((detector_scores[f"negative_{k}"] < threshold).mean()), 4) for k in KINDS
        },
        "negatives": f"training.negatives split 'heldout', {args.negatives} per kind, "
        f"seed {NEGATIVE_SEED + args.seed}",
        "tradeoff_file": "tradeoff.png",
        "command": command(args),
    }
    write_card(card, model_dir / DETECTOR_FOLDER)
    for model in models:
        card = read_card(model_dir / model.name)
        entry = entries[model.name]
        card["calibration"] = {
            "temperature": entry["temperature"],
            "method": "temperature scaling, served as normalise(p ** (1 / T)) (app.honesty)",
            "fitted_on": f"pendigits writers {FIT_WRITERS[0]}-{FIT_WRITERS[1]} (strokes and "
            f"image paths) and MNIST training digits {60000 - MNIST_HELDOUT_TRAIN + 1}-60000",
            "measured_on": "pendigits writers 26-30 (both paths) and MNIST test",
            "ece_raw": entry["ece_raw"],
            "ece_calibrated": entry["ece_calibrated"],
            "ece_calibrated_per_set": entry["ece_calibrated_per_set"],
            "bins": CALIBRATION_BINS,
            "reliability_file": "reliability.png",
        }
        card.setdefault("evaluation", {})["honesty"] = {
            "detector_threshold": threshold,
            "real_digits": entry["real_digits"],
            "scan_error": entry["scan_error"],
            "command": command(args),
        }
        write_card(card, model_dir / model.name)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    settings = Settings()
    parser.add_argument("--data", type=Path, required=True, help="MNIST .npz (Keras layout).")
    parser.add_argument("--pendigits", type=Path, required=True, help="pendigits-orig.tra.")
    parser.add_argument("--model-dir", type=Path, default=settings.model_dir)
    parser.add_argument("--negatives", type=int, default=NEGATIVES_PER_KIND, help="per kind.")
    parser.add_argument("--seed", type=int, default=0, help="canvas and negatives seed.")
    parser.add_argument("--workers", type=int, default=2, help="canvas drawing processes.")
    parser.add_argument("--cache", type=Path, default=DEFAULT_OUT, help="input cache folder.")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="summary.json folder.")
    parser.add_argument("--compare", action="store_true", help="also max-softmax and energy.")
    parser.add_argument(
        "--keep-threshold", action="store_true", help="report at the card's threshold."
    )
    parser.add_argument("--update-cards", action="store_true", help="write the figures.")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training honest", description=__doc__)
    add_arguments(parser)
    return run_honest(parser.parse_args(argv))
