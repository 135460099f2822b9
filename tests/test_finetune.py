"""The learning loop end to end: corrections posted, exported, fine-tuned, reloaded under load."""

import dataclasses
import io
import shutil
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import numpy as np
import pytest

from app.inference import load_model
from app.settings import Settings
from tests.helpers import TEACHER, run_training, running_server
from tests.test_model_versions import post_throughout, wait_until_every_worker_serves
from training.card_file import read_card
from training.finetune import Corrections, default_decision, split_corrections
from training.pendigits import read_pendigits, writer_split

SETTINGS = Settings()
MODEL = SETTINGS.default_model
CORRECTIONS = 240  # "a few hundred", from pendigits writers 1-20
FINETUNE_SECONDS = 900  # a quick run takes 1-3 minutes; the shared machine can be very busy


def training(*arguments: str) -> subprocess.CompletedProcess:
    done = run_training(*arguments, timeout=FINETUNE_SECONDS)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_split_holds_out_whole_writers_or_else_the_latest() -> None:
    count = 50
    groups = np.array([f"writer:{index % 5}" for index in range(count)])
    corrections = Corrections(
        np.zeros((count, 28, 28), np.uint8),
        np.arange(count, dtype=np.uint8) % 10,
        groups,
        np.arange(count, dtype=np.float64),
        "c.npz",
        "",
    )
    learn, held, how = split_corrections(corrections, seed=1)
    assert len(learn) + len(held) == count and len(held) >= 10
    assert not set(learn.group) & set(held.group) and how.startswith("by writer")
    one_writer = dataclasses.replace(corrections, group=np.array(["a"] * count))
    learn, held, how = split_corrections(one_writer, seed=1)
    assert held.created_at.min() > learn.created_at.max() and how.startswith("by time")


@pytest.mark.slow
def test_corrections_fine_tune_into_a_version_the_server_reloads_under_load(
    tmp_path: Path, mnist_path: Path, pendigits_path: Path
) -> None:
    store, data_dir = tmp_path / "store", tmp_path / "data"
    (store / MODEL).mkdir(parents=True)
    for name in ("model.keras", "model.tflite", "card.json"):
        shutil.copy(SETTINGS.model_dir / MODEL / name, store / MODEL / name)
    writers, _ = writer_split(read_pendigits(pendigits_path))
    chosen = writers[:: len(writers) // CORRECTIONS][:CORRECTIONS]

    with running_server(store, "--workers", "2", data_dir=data_dir) as (base_url, _):
        with httpx.Client(base_url=base_url, timeout=30) as client:
            for digit in chosen:
                body = {
                    "strokes": [stroke.tolist() for stroke in digit.strokes],
                    "label": digit.label,
                    "writer": f"pendigits-{digit.writer}",
                }
                assert client.post("/corrections", json=body).status_code == 201
            served = client.get("/corrections/export", headers=TEACHER).content

        exported = tmp_path / "corrections.npz"
        db = data_dir / "digitdraw.sqlite3"
        training("corrections", "export", "--db", str(db), "--out", str(exported))
        with np.load(exported) as from_cli, np.load(io.BytesIO(served)) as from_api:
            assert from_cli["x"].shape == (CORRECTIONS, 28, 28)
            assert np.array_equal(from_cli["x"], from_api["x"])
            assert from_cli["y"].tolist() == [digit.label for digit in chosen]

        statuses: Counter = Counter()
        stop = threading.Event()
        clients = [
            threading.Thread(target=post_throughout, args=(base_url, stop, statuses))
            for _ in range(2)
        ]
        for client_thread in clients:
            client_thread.start()
        try:
            done = training(
                "finetune",
                "--model",
                MODEL,
                "--corrections",
                str(exported),
                "--data",
                str(mnist_path),
                "--pendigits",
                str(pendigits_path),
                "--store",
                str(store),
                "--data-dir",
                str(data_dir),  # the command itself asks the server to reload
                "--epochs",
                "1",
                "--limit",
                "1000",
                "--seed",
                "3",
            )
            wait_until_every_worker_serves(base_url, f"{MODEL}@2")
            reloaded = httpx.post(f"{base_url}/models/reload", headers=TEACHER, timeout=60)
            assert reloaded.status_code == 200, reloaded.text
            time.sleep(1)
        finally:
            stop.set()
            for client_thread in clients:
                client_thread.join(timeout=60)
        assert set(statuses) == {"ok"} and statuses["ok"] > 20, statuses
        listed = {m["name"]: m for m in reloaded.json()["models"]}[MODEL]
        assert [version["version"] for version in listed["versions"]] == [1, 2]

    folder = store / MODEL / "versions" / "2"
    assert sorted(path.name for path in folder.iterdir()) == [
        "card.json",
        "model.keras",
        "model.tflite",
    ]
    card = read_card(folder)
    finetune = card["finetune"]
    assert finetune["parent_version"] == 1
    assert finetune["corrections"]["count"] == CORRECTIONS
    used, held = finetune["corrections"]["used"], finetune["corrections"]["held_out"]
    assert used["count"] + held["count"] == CORRECTIONS and held["count"] > 0
    assert len(finetune["corrections"]["sha256"]) == 64 and "by writer" in held["split"]
    comparison = card["evaluation"]["compared_with_parent"]
    assert set(comparison) == {
        "mnist_test",
        "pendigits_writers_21_30_strokes",
        "corrections_heldout",
    }
    for pair in comparison.values():
        assert all(0.5 < pair[key] <= 1 for key in ("parent", "new")), comparison
    # The parent re-evaluated by the fine-tune scores what its own card says.
    parent_card = read_card(SETTINGS.model_dir / MODEL)
    parent_accuracy = parent_card["evaluation"]["mnist_test"]["accuracy"]
    assert comparison["mnist_test"]["parent"] == pytest.approx(parent_accuracy, abs=1e-4)
    marked = comparison["mnist_test"]["parent"] - comparison["mnist_test"]["new"] <= 0.002
    assert finetune["marked_default"] is marked
    assert ("is marked as the default" if marked else "is NOT marked") in done.stdout
    assert card["evaluation"]["real_drawings"]["heldout"]["n"] == 2498
    assert card["files"]["model.tflite"]["top1_agreement"] == 1.0
    model = load_model(folder, MODEL, 2)  # the server's own checks: sha256, shapes
    assert (model.name, model.version) == (MODEL, 2)
    assert listed["version"] == (2 if marked else 1)


def test_a_version_that_loses_more_than_0_2_points_of_mnist_is_not_the_default() -> None:
    marked, message = default_decision("robust-cnn@2", 0.9959, 0.9936, None)
    assert not marked and "NOT marked" in message and "99.59% -> 99.36%" in message
    assert default_decision("robust-cnn@2", 0.9959, 0.9939, None)[0]  # exactly 0.2 points
    marked, message = default_decision("robust-cnn@3", 0.9959, 0.9990, 1)
    assert marked and "pins version 1" in message and "write 3" in message
