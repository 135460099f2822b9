"""Quick end-to-end training runs: what they store is what the server and the card promise."""

import json
from pathlib import Path

import keras
import numpy as np
import pytest

from app.preprocessing import PREPROCESSING_VERSION
from tests.helpers import run_training
from training.__main__ import main
from training.card_file import read_card
from training.data import file_sha256, load_mnist
from training.export import tflite_predict
from training.train import TrainOptions, train_model

# The card layout of the shared model-store contract, written out here so a drift shows up.
CARD_KEYS = {
    "name", "description", "architecture", "layers", "params", "input", "output",
    "preprocessing_version", "training", "versions", "created", "evaluation", "files", "pictures",
}  # fmt: skip
TRAINING_KEYS = {
    "data_file", "data_sha256", "epochs", "batch_size", "optimizer", "learning_rate_schedule",
    "augmentation", "extra_data", "validation_split", "seed", "seconds", "strategy", "command",
}  # fmt: skip
MNIST_TEST_KEYS = {"accuracy", "loss", "per_class_accuracy", "confusion_matrix"}
HISTORY_KEYS = {"loss", "accuracy", "val_loss", "val_accuracy"}
INPUT_SPEC = {
    "shape": [28, 28],
    "dtype": "float32",
    "range": [0, 255],
    "polarity": "white_on_black",
}
QUICK_COMMAND = ["train", "--model", "mlp512", "--limit", "2000", "--epochs", "1", "--seed", "1"]


@pytest.fixture(scope="module")
def small_mnist(mnist_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 2,000 training and 1,000 test digits of MNIST, in Keras's layout."""
    with np.load(mnist_path) as data:
        arrays = {key: data[key] for key in ("x_train", "y_train", "x_test", "y_test")}
    path = tmp_path_factory.mktemp("data") / "mnist.npz"
    np.savez(
        path,
        x_train=arrays["x_train"][:2000],
        y_train=arrays["y_train"][:2000],
        x_test=arrays["x_test"][:1000],
        y_test=arrays["y_test"][:1000],
    )
    return path


@pytest.fixture(scope="module")
def quick_store(small_mnist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model store holding mlp512 after one epoch, trained through the command line."""
    store = tmp_path_factory.mktemp("store")
    arguments = [*QUICK_COMMAND, "--data", str(small_mnist), "--out", str(store), "--threads", "2"]
    result = run_training(*arguments)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "mlp512" in result.stdout.splitlines()[-1]  # the summary table's row
    return store


def assert_complete_card(card: dict, name: str) -> None:
    assert set(card) == CARD_KEYS
    assert card["name"] == name
    assert set(card["training"]) == TRAINING_KEYS
    assert card["input"] == INPUT_SPEC
    assert card["output"] == {"shape": [10], "meaning": "softmax probabilities, index = digit"}
    assert card["preprocessing_version"] == PREPROCESSING_VERSION
    assert set(card["versions"]) == {"tensorflow", "keras", "python"}
    assert set(card["evaluation"]["mnist_test"]) == MNIST_TEST_KEYS
    assert set(card["evaluation"]["history"]) == HISTORY_KEYS
    assert len(card["evaluation"]["mnist_test"]["per_class_accuracy"]) == 10
    assert np.asarray(card["evaluation"]["mnist_test"]["confusion_matrix"]).shape == (10, 10)
    assert card["params"] == sum(layer["params"] for layer in card["layers"])
    assert card["pictures"] == {"curves": "curves.png", "confusion": "confusion.png"}


def test_quick_cli_run_stores_a_loadable_model_its_twin_and_a_complete_card(
    quick_store: Path, small_mnist: Path
) -> None:
    folder = quick_store / "mlp512"
    assert sorted(p.name for p in quick_store.iterdir()) == ["mlp512"]  # no partial folder left
    card = read_card(folder)
    assert_complete_card(card, "mlp512")
    command = " ".join(QUICK_COMMAND)
    # Local paths are reduced to file names: cards are committed and shared.
    expected = f"python -m training {command} --data mnist.npz --out {quick_store.name} --threads 2"
    assert card["training"]["command"] == expected
    assert card["training"]["data_sha256"] == file_sha256(small_mnist)
    assert card["training"]["epochs"] == 1 and card["training"]["seed"] == 1
    assert card["training"]["validation_split"] == 0.1
    for file_name in ("model.keras", "model.tflite"):
        assert card["files"][file_name]["sha256"] == file_sha256(folder / file_name)
        assert card["files"][file_name]["bytes"] == (folder / file_name).stat().st_size
    assert card["files"]["model.tflite"]["top1_agreement"] == 1.0
    assert card["files"]["model.tflite"]["max_abs_diff"] <= 1e-4
    for picture in ("curves.png", "confusion.png"):
        assert (folder / picture).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    mnist = load_mnist(small_mnist)
    model = keras.models.load_model(folder / "model.keras")
    keras_probabilities = model.predict(mnist.x_test, batch_size=1000, verbose=0)
    tflite_probabilities = tflite_predict(folder / "model.tflite", mnist.x_test)
    np.testing.assert_allclose(tflite_probabilities, keras_probabilities, atol=1e-4)
    accuracy = float((keras_probabilities.argmax(axis=1) == mnist.y_test).mean())
    assert accuracy == pytest.approx(card["evaluation"]["mnist_test"]["accuracy"])
    assert accuracy > 0.5  # one epoch on 1,800 digits already learns most digits


def test_evaluate_rescores_a_stored_model_and_updates_its_card(
    quick_store: Path, small_mnist: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    card_path = quick_store / "mlp512" / "card.json"
    card = json.loads(card_path.read_text(encoding="utf-8"))
    trained_accuracy = card["evaluation"]["mnist_test"]["accuracy"]
    card["evaluation"]["mnist_test"] = {"accuracy": 0.0, "loss": 99.0}
    card_path.write_text(json.dumps(card), encoding="utf-8")

    arguments = ["--data", str(small_mnist), "--out", str(quick_store)]
    assert main(["evaluate", *arguments, "--update-card"]) == 0
    rescored = json.loads(card_path.read_text(encoding="utf-8"))["evaluation"]["mnist_test"]
    assert set(rescored) == MNIST_TEST_KEYS
    assert rescored["accuracy"] == pytest.approx(trained_accuracy)
    assert f"{trained_accuracy:.2%}" in capsys.readouterr().out

    assert main(["list", "--out", str(quick_store)]) == 0
    rows = {line.split()[0]: line.split()[1:] for line in capsys.readouterr().out.splitlines()}
    assert rows["mlp512"][:2] == ["407,050", f"{trained_accuracy:.2%}"]
    assert rows["robust-cnn"] == ["yes", "-", "-", "not", "trained"]


def test_evaluate_names_a_model_missing_from_the_store(
    quick_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["evaluate", "--model", "lenet", "--out", str(quick_store)]) == 2
    assert capsys.readouterr().err.startswith(
        f"error: No stored model lenet in {quick_store}. Stored: mlp512."
    )


UNIPEN = """.SEGMENT DIGIT 0 ? "{label}"
.COMMENT {label} {writer} 1
.PEN_DOWN
{points}
.PEN_UP
"""


def write_tiny_pendigits(path: Path) -> Path:
    """Six UNIPEN digits, ones (vertical lines) and zeros (circles), by writers 5, 12 and 25."""
    angles = np.linspace(0, 2 * np.pi, 24)
    zero = [(int(200 + 60 * np.cos(a)), int(200 + 90 * np.sin(a))) for a in angles]
    one = [(200, y) for y in range(100, 300, 10)]
    records = []
    for writer in (5, 12, 25):
        for label, points in [(1, one), (0, zero)]:
            text = "\n".join(f" {x} {y}" for x, y in points)
            records.append(UNIPEN.format(label=label, writer=writer, points=text))
    path.write_text("".join(records), encoding="ascii")
    return path


def test_robust_cnn_trains_under_mirrored_strategy_with_pendigits_training_writers(
    small_mnist: Path, tmp_path: Path
) -> None:
    pendigits = write_tiny_pendigits(tmp_path / "pendigits-orig.tra")
    options = TrainOptions(
        model="robust-cnn",
        data=small_mnist,
        out=tmp_path / "store",
        epochs=1,
        limit=600,
        strategy="mirrored",
        pendigits=pendigits,
        command="python -m training train --limit 600 --epochs 1 --strategy mirrored",
    )
    result = train_model(options)
    assert result.params == keras.models.load_model(result.folder / "model.keras").count_params()
    card = read_card(result.folder)
    assert_complete_card(card, "robust-cnn")
    training = card["training"]
    assert training["extra_data"].startswith(
        f"UCI pendigits pendigits-orig.tra (sha256 {file_sha256(pendigits)}): training writers "
        "1-20 only (4 digits"
    )
    canvases = "each seen 2x per epoch, and 2x more drawn on random browser-like canvases"
    assert canvases in training["extra_data"]
    assert "rotation ±12°" in training["augmentation"]
    assert "cosine decay" in training["learning_rate_schedule"]
    assert "label smoothing 0.05" in training["optimizer"]
    assert training["command"] == options.command
    assert training["strategy"] == "mirrored"
    assert training["validation_split"] == pytest.approx(5_000 / 60_000)
    assert card["files"]["model.tflite"]["top1_agreement"] == 1.0
    assert len(card["evaluation"]["history"]["val_accuracy"]) == 1


def test_help_explains_every_training_option() -> None:
    result = run_training("train", "--help")
    assert result.returncode == 0
    for option in (
        "--model", "--data", "--out", "--seed", "--deterministic", "--epochs", "--batch-size",
        "--limit", "--strategy", "--pendigits", "--threads", "DIGITDRAW_MNIST", "mirrored",
        "multiworker", "robust-cnn",
    ):  # fmt: skip
        assert option in result.stdout
    assert run_training("--help").returncode == 0
