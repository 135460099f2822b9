"""python -m training live: the JSON-lines trainer the server runs for "Watch it learn"."""

import base64
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app.inference import load_model
from tests.conftest import REPO_ROOT
from tests.helpers import quiet_env
from training.card_file import read_card
from training.live import (
    LiveSettings,
    check_settings,
    free_name,
    model_name,
    quantise_weights,
)

RUN_SECONDS = 180  # TensorFlow's import alone takes 10 s or more on a loaded machine


def run_live(*arguments: str) -> tuple[int, list[dict], str]:
    process = subprocess.run(
        [sys.executable, "-m", "training", "live", *arguments],
        cwd=REPO_ROOT,
        env=quiet_env(),
        capture_output=True,
        text=True,
        timeout=RUN_SECONDS,
    )
    events = [json.loads(line) for line in process.stdout.splitlines()]
    return process.returncode, events, process.stderr


@pytest.mark.slow
def test_a_small_run_reports_every_step_and_stores_a_servable_model(
    mnist_path: Path, tmp_path: Path
) -> None:
    drawing = tmp_path / "drawing.json"
    with np.load(mnist_path) as data:
        three = data["x_test"][data["y_test"] == 3][0]
    drawing.write_text(json.dumps({"pixels": three.tolist()}))
    out = tmp_path / "models"
    code, events, stderr = run_live(
        "--model", "mlp512", "--optimizer", "sgd", "--learning-rate", "0.1",
        "--epochs", "1", "--batch-size", "64", "--train-size", "2000",
        "--data", str(mnist_path), "--out", str(out), "--drawing", str(drawing), "--nice", "0",
    )  # fmt: skip
    assert code == 0, stderr
    kinds = [event["event"] for event in events]
    assert kinds[0] == "started" and kinds[-1] == "done", kinds
    assert events[0]["name"] == "class-mlp512-sgd-0.1"
    assert events[0]["steps_per_epoch"] == 32

    progress = [event for event in events if event["event"] == "progress"]
    assert [event["batch"] for event in progress] == list(range(1, 33))
    assert progress[-1]["loss"] < progress[0]["loss"] - 0.5
    assert progress[-1]["accuracy"] > 0.5

    weights = [event for event in events if event["event"] == "weights"]
    assert weights[0]["batch"] == 0 and weights[-1]["batch"] == 32
    first, last = (
        np.frombuffer(base64.b64decode(w["data"]), np.uint8) for w in (weights[0], weights[-1])
    )
    assert weights[0]["count"] == 32 and weights[0]["side"] == 28
    assert first.size == last.size == 32 * 28 * 28
    assert (first != last).mean() > 0.1  # the weights moved
    change = np.frombuffer(base64.b64decode(weights[0]["change"]), np.uint8)
    assert (change == 128).all()  # nothing changed before the first batch
    change = np.frombuffer(base64.b64decode(weights[-1]["change"]), np.uint8)
    assert change.min() == 0 or change.max() == 255  # each image spans its own scale

    predictions = [event for event in events if event["event"] == "prediction"]
    assert predictions[0]["batch"] == 0
    assert max(predictions[0]["probabilities"]) < 0.3  # before training: about chance
    assert predictions[-1]["digit"] == 3

    (epoch,) = [event for event in events if event["event"] == "epoch"]
    assert 0.5 < epoch["val_accuracy"] <= 1
    done = events[-1]
    folder = out / done["name"]
    card = read_card(folder)
    assert card["evaluation"]["mnist_test"]["accuracy"] == done["mnist_test_accuracy"] > 0.5
    assert card["training"]["optimizer"] == "sgd (learning rate 0.1)"
    assert card["training"]["train_size"] == 2000
    assert card["files"]["model.tflite"]["top1_agreement"] == 1.0
    assert load_model(folder).predict(three[np.newaxis].astype(np.float32))[0].argmax() == 3

    # Same settings again: a new name, the first model is kept.
    assert free_name(out, "class-mlp512-sgd-0.1") == "class-mlp512-sgd-0.1-2"


def test_a_missing_data_file_ends_in_a_failed_line(tmp_path: Path) -> None:
    code, events, _ = run_live("--data", str(tmp_path / "none.npz"), "--out", str(tmp_path))
    assert code == 1
    assert [event["event"] for event in events] == ["failed"]
    assert "none.npz: file not found" in events[0]["reason"]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"optimizer": "adagrad"}, "optimizer"),
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"epochs": 1000}, "epochs"),
        ({"train_size": 60_000}, "train_size"),
        ({"model": "mlp128-64", "hidden_units": 32}, "hidden_units"),
    ],
)
def test_settings_out_of_range_are_refused(change: dict, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        check_settings(LiveSettings(**change))


def test_names_say_what_was_trained() -> None:
    assert model_name(LiveSettings()) == "class-mlp512-sgd-0.1"
    assert model_name(LiveSettings(hidden_units=64, optimizer="adam", learning_rate=0.001)) == (
        "class-mlp64-adam-0.001"
    )


def test_weights_become_images_with_zero_at_128() -> None:
    kernel = np.zeros((784, 40), np.float32)
    kernel[0, 0], kernel[1, 0] = 2.0, -2.0
    count, side, data = quantise_weights(kernel)
    images = np.frombuffer(data, np.uint8).reshape(count, side, side)
    assert (count, side) == (32, 28)
    assert images[0, 0, 0] == 255 and images[0, 0, 1] == 0 and images[0, 0, 2] == 128
    count, side, data = quantise_weights(np.ones((3, 3, 1, 32), np.float32))
    assert (count, side, len(data)) == (32, 3, 32 * 9)
