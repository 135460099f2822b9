"""--strategy multiworker for real: two training processes on loopback, one model.

Two `python -m training train` workers find each other through TF_CONFIG (two 127.0.0.1
ports), as two machines would, and train one model with MultiWorkerMirroredStrategy: each
step's gradients are averaged across both. Only the chief (worker 0) stores the model.
"""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from app.inference import load_model
from training.card_file import read_card
from training.data import load_mnist

REPO_ROOT = Path(__file__).resolve().parent.parent
MODEL = "mlp128-64"
WORKERS = 2
WORKER_SECONDS = 150  # both ~45 s on a loaded 2-core machine; a lost peer must not hang CI


def free_ports(count: int) -> list[int]:
    """Ports free at once (bound together, so two calls cannot return the same one)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for probe in sockets:
            probe.bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in sockets]
    finally:
        for probe in sockets:
            probe.close()


def tf_config(ports: list[int], index: int) -> str:
    """TF_CONFIG of worker `index` in a cluster of loopback workers."""
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    return json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})


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


@pytest.mark.slow
def test_two_workers_on_loopback_train_one_model_that_the_chief_stores(
    small_mnist: Path, tmp_path: Path
) -> None:
    ports = free_ports(WORKERS)
    workers = []
    for index in range(WORKERS):
        # Files, not pipes: a chatty worker must never block on a full pipe. The summary table
        # goes to stdout, TensorFlow's and the progress logs to stderr.
        log = open(tmp_path / f"worker{index}.log", "w+")  # noqa: SIM115 (closed below)
        out = open(tmp_path / f"worker{index}.out", "w+")  # noqa: SIM115 (closed below)
        command = [
            sys.executable, "-m", "training", "train", "--model", MODEL, "--limit", "2000",
            "--epochs", "1", "--seed", "3", "--strategy", "multiworker", "--threads", "1",
            "--data", str(small_mnist), "--out", str(tmp_path / f"store{index}"),
        ]  # fmt: skip
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "TF_CONFIG": tf_config(ports, index)}
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=out, stderr=log)
        workers.append((process, log, out))
    logs, summaries = [], []
    try:
        for process, log, out in workers:
            process.wait(timeout=WORKER_SECONDS)
            log.seek(0)
            out.seek(0)
            logs.append(log.read())
            summaries.append(out.read().strip().splitlines()[-1:])
    finally:
        for process, log, out in workers:
            if process.poll() is None:
                process.kill()
                process.wait()
            log.close()
            out.close()
    for (process, _, _), log_text in zip(workers, logs, strict=True):
        assert process.returncode == 0, log_text[-3000:]
        assert "strategy multiworker with 2 replica(s)" in log_text, log_text[-3000:]

    # Both workers end with the same weights, so they score the same; only the chief stores.
    summaries = [line[0].split() if line else [] for line in summaries]
    assert summaries[0][0] == MODEL and summaries[0][-2:] == summaries[1][-2:], summaries
    assert not (tmp_path / "store1").exists()
    folder = tmp_path / "store0" / MODEL
    card = read_card(folder)
    assert card["training"]["strategy"] == "multiworker"

    mnist = load_mnist(small_mnist)
    probabilities = keras.models.load_model(folder / "model.keras").predict(
        mnist.x_test, batch_size=1000, verbose=0
    )
    accuracy = float((probabilities.argmax(axis=1) == mnist.y_test).mean())
    assert accuracy == pytest.approx(card["evaluation"]["mnist_test"]["accuracy"])
    assert accuracy > 0.5  # one epoch on 1,800 digits already learns most digits
    # The server takes it as it takes any model: checksum, signature, LiteRT.
    served = load_model(folder).predict(mnist.x_test[:200].astype(np.float32))
    np.testing.assert_array_equal(served.argmax(axis=1), probabilities[:200].argmax(axis=1))
