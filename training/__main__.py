"""Command line for offline training: python -m training (or digitdraw-train) <command>.

    python -m training train --model robust-cnn --data path/to/mnist.npz
    python -m training train --model mlp512 --limit 2000 --epochs 1 --out /tmp/store   # quick
    python -m training evaluate --data path/to/mnist.npz --update-card
    python -m training list
    python -m training preview --data path/to/mnist.npz --png augmentation.png
    python -m training corrections export --db data/digitdraw.sqlite3 --out corrections.npz
    python -m training finetune --model robust-cnn --corrections corrections.npz --data mnist.npz
    python -m training export --model robust-cnn --format savedmodel --out exported/
    python -m training live --model mlp512 --optimizer sgd --out data/models   # JSON lines
    python -m training fetch-data                        # MNIST into Keras's cache (internet)

TensorFlow is imported only once a command runs, so --help answers at once.
"""

import argparse
import logging
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from training.detector import add_arguments as add_detector_arguments
from training.finetune import add_parsers as add_finetune_parsers
from training.finetune import run as run_finetune
from training.honest import add_arguments as add_honest_arguments
from training.live import add_live_parser, main_fetch_data, main_live
from training.numbers import add_numbers_parser, run_numbers_eval
from training.pendigits import TRAINING_WRITERS, WRITERS
from training.realdraw import add_realdraw_parser, run_realdraw
from training.splitter import add_arguments as add_splitter_arguments

# Kept here, not imported from the recipes, so that --help needs no TensorFlow;
# tests/test_training_architectures.py checks they match training.architectures and .train.
MODEL_NAMES = ("mlp512", "mlp128-64", "cnn-tutorial", "robust-cnn")
DEFAULT_MODEL = "robust-cnn"
STRATEGIES = ("none", "mirrored", "multiworker")
DEFAULT_STORE = Path(__file__).resolve().parent.parent / "model_store"
DEFAULT_SEED = 42
USAGE_ERROR = 2  # bad data or arguments, as argparse itself exits
FAILURE = 1  # a TFLite file that does not match its Keras model


def positive_int(text: str) -> int:
    """argparse type: an integer of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _add_data_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data",
        type=Path,
        metavar="PATH",
        help="MNIST in Keras's .npz layout (x_train, y_train, x_test, y_test). Default: "
        "$DIGITDRAW_MNIST, else downloaded by keras.datasets.mnist.load_data().",
    )


def _add_threads_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--threads",
        type=positive_int,
        metavar="N",
        help="TensorFlow intra- and inter-op threads (default: all cores).",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; every option explains itself in --help."""
    parser = argparse.ArgumentParser(
        prog="python -m training",
        description="Train and evaluate the digitdraw MNIST models stored in model_store/.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser(
        "train",
        help="train named models and store them with their cards",
        description="Train models, evaluate them on MNIST test, and write model.keras, "
        "model.tflite (checked against Keras), card.json, curves.png and confusion.png "
        "to OUT/<name>/.",
    )
    train.add_argument(
        "--model",
        nargs="+",
        choices=MODEL_NAMES,
        default=[DEFAULT_MODEL],
        metavar="NAME",
        help=f"model(s) to train: {', '.join(MODEL_NAMES)} (default: {DEFAULT_MODEL}).",
    )
    _add_data_option(train)
    train.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_STORE,
        metavar="DIR",
        help="model store to write into (default: the repository's model_store/).",
    )
    train.add_argument(
        "--seed",
        type=int,
        default=DEFAULT_SEED,
        help="random seed for weights, shuffling and augmentation (default: "
        f"{DEFAULT_SEED}). Reruns may still differ slightly in float rounding; add "
        "--deterministic for bit-identical ones.",
    )
    train.add_argument(
        "--deterministic",
        action="store_true",
        help="deterministic TensorFlow kernels (tf.config.experimental.enable_op_determinism): "
        "bit-identical reruns, but training takes about 1.5-2x as long on a CPU.",
    )
    train.add_argument(
        "--epochs", type=positive_int, metavar="N", help="override the recipe's epochs."
    )
    train.add_argument(
        "--batch-size", type=positive_int, metavar="N", help="override the recipe's batch size."
    )
    train.add_argument(
        "--limit",
        type=positive_int,
        metavar="N",
        help="quick mode: use only the first N training digits (the test set stays whole).",
    )
    train.add_argument(
        "--strategy",
        choices=STRATEGIES,
        default="none",
        help="tf.distribute strategy: mirrored (all local devices) or multiworker "
        "(machines listed in TF_CONFIG). Default: none.",
    )
    train.add_argument(
        "--pendigits",
        type=Path,
        metavar="PATH",
        help=f"UCI pendigits-orig.tra: add its training writers ({TRAINING_WRITERS} of "
        f"{WRITERS}, rendered like drawings) to the training digits; the other writers stay "
        "held out.",
    )
    _add_threads_option(train)

    evaluate = commands.add_parser(
        "evaluate",
        help="re-score stored models on MNIST test",
        description="Load OUT/<name>/model.keras and score it on MNIST test.",
    )
    evaluate.add_argument(
        "--model",
        nargs="+",
        metavar="NAME",
        help="stored model(s) to score (default: every model in the store).",
    )
    _add_data_option(evaluate)
    evaluate.add_argument(
        "--out",
        "--store",
        dest="out",
        type=Path,
        default=DEFAULT_STORE,
        metavar="DIR",
        help="model store to read (default: the repository's model_store/).",
    )
    evaluate.add_argument(
        "--update-card",
        action="store_true",
        help="write the new scores into card.json and redraw confusion.png.",
    )
    _add_threads_option(evaluate)

    listing = commands.add_parser(
        "list", help="list the models and what the store holds", description="List models."
    )
    listing.add_argument(
        "--out",
        "--store",
        dest="out",
        type=Path,
        default=DEFAULT_STORE,
        metavar="DIR",
        help="model store to read (default: the repository's model_store/).",
    )

    preview = commands.add_parser(
        "preview",
        help="write a grid of augmented training digits to check the augmentation by eye",
        description="Each row: an MNIST training digit, then augmented variants of it.",
    )
    _add_data_option(preview)
    preview.add_argument(
        "--png", type=Path, required=True, help="picture to write (keep it out of the repository)."
    )
    preview.add_argument("--count", type=positive_int, default=16, help="digits (rows) to show.")
    preview.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed.")
    add_realdraw_parser(commands)
    add_finetune_parsers(commands, positive_int)
    detector = commands.add_parser(
        "detector",
        help="train the digit detector (model_store/_digit-detector)",
        description="Train the binary 'is it a digit' network on real digits and generated "
        "non-digits (training.negatives); see training/detector.py.",
    )
    add_detector_arguments(detector)
    splitter = commands.add_parser(
        "splitter",
        help="train the digit splitter (model_store/_digit-splitter)",
        description="Train the network that says which digit each pixel of touching ink is "
        "in, on numbers written by pendigits' training writers; see training/splitter.py.",
    )
    add_splitter_arguments(splitter)
    honest = commands.add_parser(
        "honest",
        help="not-a-digit rejection, calibration and scans, per model (see training/honest.py)",
        description="Measure the digit detector, fit and check each model's temperature, "
        "and read simulated scans; --update-cards records it all.",
    )
    add_honest_arguments(honest)
    add_numbers_parser(commands)
    add_export_parser(commands)
    add_live_parser(commands, positive_int)
    report = commands.add_parser(
        "report",
        help="write the report page's gallery of wrong MNIST test digits",
        description="Run stored models on MNIST test and write mistakes.json and mistakes.png "
        "(the most confident wrong answers) into OUT/<name>/, for /report/<name>.",
    )
    report.add_argument(
        "--model", nargs="+", metavar="NAME", help="stored model(s) (default: every model)."
    )
    _add_data_option(report)
    report.add_argument(
        "--out",
        "--store",
        dest="out",
        type=Path,
        default=DEFAULT_STORE,
        metavar="DIR",
        help="model store to read and write (default: the repository's model_store/).",
    )
    _add_threads_option(report)
    return parser


def add_export_parser(commands: argparse._SubParsersAction) -> None:
    export = commands.add_parser(
        "export",
        help="write a stored model as a SavedModel for TF Serving, KServe or Triton",
        description="Write STORE/<name>/model.keras as a SavedModel whose serving_default "
        "signature takes pixels [N, 28, 28] float 0..255 (white on black) and returns "
        "probabilities [N, 10] and digit [N]. savedmodel: TF Serving's layout "
        "OUT/NAME/VERSION/; triton: a Triton model repository entry "
        "OUT/NAME/{config.pbtxt, VERSION/model.savedmodel}.",
    )
    export.add_argument("--model", required=True, metavar="NAME", help="stored model to export.")
    export.add_argument(
        "--format", choices=("savedmodel", "triton"), default="savedmodel", help="layout to write."
    )
    export.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="model base path to write into."
    )
    export.add_argument(
        "--store",
        type=Path,
        default=DEFAULT_STORE,
        metavar="DIR",
        help="model store to read (default: the repository's model_store/).",
    )
    export.add_argument(
        "--version", type=positive_int, default=1, help="version folder to write (default: 1)."
    )


def run_export(args: argparse.Namespace) -> int:
    """Export one stored model; say where it went."""
    from training.data import DatasetError

    source = args.store / args.model / "model.keras"
    if not source.is_file():
        raise DatasetError(
            f"No stored model {source}. Stored: {', '.join(stored_models(args.store)) or 'none'}."
        )
    import keras

    from training.export import ExportError, export_savedmodel

    try:
        folder = export_savedmodel(
            keras.saving.load_model(source), args.out, args.model, args.version, args.format
        )
    except ExportError as error:
        print(f"error: {error}", file=sys.stderr)
        return USAGE_ERROR
    print(f"wrote {folder} (signature serving_default: pixels [N, 28, 28] float 0..255)")
    return 0


PATH_OPTIONS = ("--data", "--pendigits", "--out", "--store", "--corrections", "--db", "--data-dir")


def command_line(argv: Sequence[str]) -> str:
    """The command as typed, for the card, with file names instead of local paths.

    Cards are committed and published: a path says nothing to another machine (and may reveal
    a user name), while the file name still says which file was used.
    """
    program = Path(sys.argv[0]).name
    if program != "digitdraw-train":
        program = "python -m training"
    words = list(argv)
    for index, word in enumerate(words):
        option, equals, value = word.partition("=")
        if option in PATH_OPTIONS and equals:
            words[index] = f"{option}={Path(value).name}"
        elif index > 0 and words[index - 1] in PATH_OPTIONS:
            words[index] = Path(word).name
    return " ".join([program, shlex.join(words)])


def run_train(args: argparse.Namespace, argv: Sequence[str]) -> int:
    """Train each requested model in turn, then print the summary table."""
    from training.data import load_mnist, resolve_data_path

    # A wrong data file fails here, before TensorFlow takes seconds to import.
    mnist = load_mnist(resolve_data_path(args.data))
    from training.export import ExportError
    from training.train import (
        TrainOptions,
        configure_runtime,
        format_summary,
        make_strategy,
        train_model,
    )

    configure_runtime(args.threads, deterministic=args.deterministic)
    strategy = make_strategy(args.strategy)
    results = []
    for name in args.model:
        options = TrainOptions(
            model=name,
            data=mnist.path,
            out=args.out,
            seed=args.seed,
            epochs=args.epochs,
            batch_size=args.batch_size,
            limit=args.limit,
            strategy=args.strategy,
            pendigits=args.pendigits,
            threads=args.threads,
            command=command_line(argv),
        )
        try:
            results.append(train_model(options, mnist=mnist, strategy=strategy))
        except ExportError as error:
            print(f"error: {error}", file=sys.stderr)
            return FAILURE
    print(format_summary(results))
    return 0


def stored_models(store: Path) -> list[str]:
    """Names of the folders in the store that hold a card."""
    if not store.is_dir():
        return []
    return sorted(path.name for path in store.iterdir() if (path / "card.json").is_file())


def run_evaluate(args: argparse.Namespace) -> int:
    """Score stored models and print old and new accuracy side by side."""
    from training.data import DatasetError, load_mnist, resolve_data_path
    from training.evaluate import evaluate_stored_model
    from training.train import configure_runtime

    available = stored_models(args.out)
    names = args.model or available
    unknown = [name for name in names if name not in available]
    if unknown or not names:
        raise DatasetError(
            f"No stored model {', '.join(unknown) or 'at all'} in {args.out}. "
            f"Stored: {', '.join(available) or 'none'}. Train one with: python -m training train."
        )
    configure_runtime(args.threads, deterministic=False)
    mnist = load_mnist(resolve_data_path(args.data))
    print(f"{'model':<14}{'params':>10}{'card':>10}{'now':>10}{'loss':>8}")
    for name in names:
        result = evaluate_stored_model(args.out / name, mnist, args.update_card)
        claimed = "-" if result.card_accuracy is None else f"{result.card_accuracy:.2%}"
        print(
            f"{name:<14}{result.params:>10,}{claimed:>10}{result.scores['accuracy']:>10.2%}"
            f"{result.scores['loss']:>8.4f}"
        )
    return 0


def run_list(args: argparse.Namespace) -> int:
    """Known models, which one is the default, and what the store holds for each."""
    import json

    stored = set(stored_models(args.out))
    print(f"{'model':<14}{'default':>8}{'params':>10}{'accuracy':>10}  created")
    for name in sorted(set(MODEL_NAMES) | stored, key=lambda n: (n not in MODEL_NAMES, n)):
        default = "yes" if name == DEFAULT_MODEL else ""
        if name not in stored:
            print(f"{name:<14}{default:>8}{'-':>10}{'-':>10}  not trained")
            continue
        card = json.loads((args.out / name / "card.json").read_text(encoding="utf-8"))
        accuracy = card.get("evaluation", {}).get("mnist_test", {}).get("accuracy")
        shown = "-" if accuracy is None else f"{accuracy:.2%}"
        print(
            f"{name:<14}{default:>8}{card.get('params', 0):>10,}{shown:>10}  "
            f"{card.get('created', '-')}"
        )
    return 0


def run_preview(args: argparse.Namespace) -> int:
    """Write the augmentation grid for a person to check."""
    from training.augment import save_preview
    from training.data import load_mnist, resolve_data_path

    mnist = load_mnist(resolve_data_path(args.data))
    path = save_preview(mnist.x_train[: args.count], args.png, seed=args.seed)
    print(f"wrote {path}")
    return 0


def run_report(args: argparse.Namespace) -> int:
    """Write each stored model's gallery of wrong test digits (training.report)."""
    from training.report import report_models
    from training.train import configure_runtime

    names = args.model or stored_models(args.out)
    configure_runtime(args.threads, deterministic=False)
    for line in report_models(args.out, names, args.data):
        print(line)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of python -m training and digitdraw-train; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from training.data import DatasetError
    from training.pendigits import PendigitsError

    try:
        if args.command == "train":
            return run_train(args, argv)
        if args.command == "evaluate":
            return run_evaluate(args)
        if args.command == "list":
            return run_list(args)
        if args.command == "realdraw":
            return run_realdraw(args)
        if args.command in ("finetune", "corrections"):
            return run_finetune(args, command_line(argv))
        if args.command == "honest":
            from training.honest import run_honest

            return run_honest(args)
        if args.command == "detector":
            from training.detector import train_detector

            return train_detector(args)
        if args.command == "splitter":
            from training.splitter import train_splitter

            return train_splitter(args)
        if args.command == "numbers-eval":
            return run_numbers_eval(args)
        if args.command == "export":
            return run_export(args)
        if args.command == "live":
            return main_live(args)
        if args.command == "fetch-data":
            return main_fetch_data()
        if args.command == "report":
            return run_report(args)
        return run_preview(args)
    except (DatasetError, PendigitsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return USAGE_ERROR


if __name__ == "__main__":
    sys.exit(main())
