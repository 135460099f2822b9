"""Class training through the API: one job at a time, streamed over SSE, cancellable, stored."""

import json
import os
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest

import training.live as live
from app.inference import load_model
from app.jobs import training as jobs
from app.settings import Settings
from tests.helpers import TEACHER, assert_error, running_server, served_app
from training.card_file import read_card

JOB_SECONDS = 240  # TensorFlow starts in ~5 s on an idle machine, far slower on a loaded one
SMALL_JOB = {"model": "mlp512", "optimizer": "sgd", "epochs": 1, "train_size": 2000}
LONG_JOB = {"model": "cnn-tutorial", "optimizer": "adam", "learning_rate": 0.001, "epochs": 5,
            "train_size": 55_000}  # fmt: skip


def sse_events(response: httpx.Response) -> Iterator[dict]:
    """Parse a text/event-stream into {"id", "event", "data"} dicts."""
    event: dict = {}
    for line in response.iter_lines():
        if not line:
            if "event" in event:
                yield event
            event = {}
        elif line.startswith(":"):
            continue
        else:
            field, _, value = line.partition(": ")
            event[field] = json.loads(value) if field == "data" else value


def follow(base_url: str, job_id: str, headers: dict | None = None) -> list[dict]:
    url = f"{base_url}/api/training/{job_id}/events"
    with httpx.stream("GET", url, headers=headers, timeout=JOB_SECONDS) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        return list(sse_events(response))


def wait_for_event(base_url: str, job_id: str, kind: str) -> dict:
    url = f"{base_url}/api/training/{job_id}/events"
    with httpx.stream("GET", url, timeout=JOB_SECONDS) as response:
        for event in sse_events(response):
            if event["event"] == kind:
                return event
    raise AssertionError(f"no {kind} event")


def group_alive(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_gone(pid: int, seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not group_alive(pid):
            return True
        time.sleep(0.1)
    return False


@pytest.fixture(scope="module")
def server(mnist_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    data_dir = tmp_path_factory.mktemp("data")
    env = {"DIGITDRAW_MNIST": str(mnist_path)}
    with running_server(
        Settings().model_dir, "--log-level", "warning", data_dir=data_dir, env=env
    ) as (base_url, process):
        yield base_url, data_dir, process


def test_the_server_checks_the_ranges_the_trainer_checks() -> None:
    for name in ("TUTORIAL_MODELS", "OPTIMIZERS", "MAX_EPOCHS", "MAX_BATCH_SIZE", "MIN_TRAIN_SIZE",
                 "MAX_TRAIN_SIZE", "MAX_HIDDEN_UNITS"):  # fmt: skip
        assert getattr(jobs, name) == getattr(live, name), name


def test_starting_needs_the_teacher_key(server: tuple) -> None:
    base_url, _, _ = server
    assert_error(httpx.post(f"{base_url}/api/training", json=SMALL_JOB), 401, "unauthorized")
    wrong = {"Authorization": "Bearer not-the-key-at-all"}
    assert_error(httpx.post(f"{base_url}/api/training", json=SMALL_JOB, headers=wrong), 403, None)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"optimizer": "adagrad"}, "optimizer"),
        ({"learning_rate": 0}, "learning_rate"),
        ({"learning_rate": -0.1}, "learning_rate"),
        ({"epochs": 1000}, "epochs"),
        ({"model": "robust-cnn"}, "model"),
        ({"train_size": 60_000}, "train_size"),
        ({"model": "mlp128-64", "hidden_units": 32}, "hidden_units"),
    ],
)
def test_bad_settings_get_a_clear_422_and_no_job(server: tuple, change: dict, field: str) -> None:
    base_url, _, _ = server
    response = httpx.post(f"{base_url}/api/training", json={**SMALL_JOB, **change}, headers=TEACHER)
    assert field in assert_error(response, 422, "invalid_request")


@pytest.mark.slow
def test_a_small_job_streams_falling_loss_and_stores_a_model(server: tuple, mnist_path: Path):
    base_url, data_dir, _ = server
    started = httpx.post(f"{base_url}/api/training", json=SMALL_JOB, headers=TEACHER)
    assert started.status_code == 202, started.text
    job_id = started.json()["job_id"]
    assert started.json()["events_url"] == f"/api/training/{job_id}/events"

    # One job at a time: TensorFlow alone takes seconds to start, so this one still runs.
    second = httpx.post(f"{base_url}/api/training", json=SMALL_JOB, headers=TEACHER)
    assert_error(second, 409, "training_busy", job_id)
    assert httpx.get(f"{base_url}/api/training").json()["job"]["state"] == "running"

    with np.load(mnist_path) as data:
        x_test, y_test = data["x_test"], data["y_test"]
    three = x_test[y_test == 3][0]
    drawn = httpx.put(
        f"{base_url}/api/training/{job_id}/drawing",
        json={"pixels": three.tolist()},
        headers=TEACHER,
    )
    assert drawn.status_code == 204, drawn.text

    events = follow(base_url, job_id)
    kinds = [event["event"] for event in events]
    assert kinds[0] == "queued" and kinds[-1] == "done", kinds
    assert [int(event["id"]) for event in events] == list(range(1, len(events) + 1))
    progress = [event["data"] for event in events if event["event"] == "progress"]
    assert len(progress) == 32
    assert progress[-1]["loss"] < progress[0]["loss"] - 0.5
    assert {"batch", "epoch", "loss", "accuracy"} <= set(progress[0])
    assert sum(kind == "weights" for kind in kinds) >= 2
    assert "epoch" in kinds
    predictions = [event["data"] for event in events if event["event"] == "prediction"]
    assert predictions and predictions[-1]["digit"] == 3
    done = events[-1]["data"]
    name = done["name"]
    assert name == "class-mlp512-sgd-0.1"

    # The stored model: complete card, accuracy that a re-evaluation reproduces.
    folder = data_dir / "models" / name
    card = read_card(folder)
    assert card["name"] == name
    assert card["training"]["train_size"] == 2000 and card["training"]["epochs"] == 1
    assert card["training"]["optimizer"] == "sgd (learning rate 0.1)"
    for key in ("architecture", "layers", "params", "input", "preprocessing_version", "versions"):
        assert card[key], key
    assert card["files"]["model.tflite"]["top1_agreement"] == 1.0
    accuracy = card["evaluation"]["mnist_test"]["accuracy"]
    assert accuracy == done["mnist_test_accuracy"] > 0.5
    served = load_model(folder)  # the server's own loader: checksum and signature checked
    predicted = served.predict(x_test.astype(np.float32)).argmax(axis=1)
    assert abs((predicted == y_test).mean() - accuracy) < 1e-3

    listed = httpx.get(f"{base_url}/api/training/models").json()["models"]
    assert [model["name"] for model in listed] == [name]
    # Served at once, without a restart: listed by /models and answering /predict.
    served_names = [model["name"] for model in httpx.get(f"{base_url}/models").json()["models"]]
    assert name in served_names and "robust-cnn" in served_names
    answer = httpx.post(f"{base_url}/predict", json={"pixels": three.tolist(), "model": name})
    assert answer.status_code == 200, answer.text
    assert answer.json()["model"] == name and answer.json()["digit"] == 3
    served_card = httpx.get(f"{base_url}/models/{name}").json()
    assert served_card["evaluation"]["mnist_test"] == card["evaluation"]["mnist_test"]
    assert httpx.get(f"{base_url}/api/training/{job_id}").json()["state"] == "done"

    # Replay after a reconnect: only what was missed; nothing at all once everything was seen.
    replay = follow(base_url, job_id, headers={"Last-Event-ID": "5"})
    assert int(replay[0]["id"]) == 6 and replay[-1]["event"] == "done"
    last = str(len(events))
    seen = httpx.get(f"{base_url}/api/training/{job_id}/events", headers={"Last-Event-ID": last})
    assert seen.status_code == 204

    # The teacher deletes it; the data folder forgets it, the committed store is untouched.
    url = f"{base_url}/api/training/models/{name}"
    assert_error(httpx.delete(url), 401, "unauthorized")
    assert httpx.delete(url, headers=TEACHER).status_code == 204
    assert not folder.exists()
    served_names = [model["name"] for model in httpx.get(f"{base_url}/models").json()["models"]]
    assert name not in served_names
    assert_error(httpx.delete(url, headers=TEACHER), 404, "unknown_class_model")
    assert_error(
        httpx.delete(f"{base_url}/api/training/models/mlp512", headers=TEACHER),
        404,
        "unknown_class_model",
    )


@pytest.mark.slow
def test_stopping_the_server_stops_the_job(mnist_path: Path, tmp_path: Path) -> None:
    env = {"DIGITDRAW_MNIST": str(mnist_path)}
    with running_server(Settings().model_dir, data_dir=tmp_path, env=env) as (base_url, process):
        started = httpx.post(f"{base_url}/api/training", json=LONG_JOB, headers=TEACHER)
        job_id = started.json()["job_id"]
        job_file = tmp_path / "training" / "jobs" / job_id / "job.json"
        pid = json.loads(job_file.read_text())["pid"]
        assert group_alive(pid)
        # A page following the job must not keep the server (or the trainer) from stopping.
        with ThreadPoolExecutor(1) as pool:
            streamed = pool.submit(follow, base_url, job_id)
            wait_for_event(base_url, job_id, "started")
            process.terminate()
            process.wait(timeout=60)
            events = streamed.result(timeout=10)
    assert wait_gone(pid), f"trainer group {pid} outlived the server"
    job = json.loads(job_file.read_text())
    assert job["state"] == "cancelled" and job["reason"] == "The server stopped."
    assert events[-1]["event"] == "cancelled"


def test_without_mnist_the_page_is_told_how_to_get_it(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, mnist_path=tmp_path / "mnist.npz")
    with served_app(settings) as client:
        status = client.get("/api/training").json()
        assert status["mnist_available"] is False
        assert "python -m training fetch-data" in status["mnist_message"]


def test_without_mnist_a_start_gets_503_with_the_fix(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, mnist_path=tmp_path / "no.npz", teacher_key="k" * 12)
    with served_app(settings) as client:
        response = client.post(
            "/api/training", json=SMALL_JOB, headers={"Authorization": "Bearer " + "k" * 12}
        )
        assert "fetch-data" in assert_error(response, 503, "mnist_missing")


@pytest.mark.slow
def test_cancel_from_either_of_two_workers_kills_the_trainer_and_its_group(
    mnist_path: Path, tmp_path: Path
) -> None:
    env = {"DIGITDRAW_MNIST": str(mnist_path)}
    with running_server(Settings().model_dir, "--workers", "2", data_dir=tmp_path, env=env) as (
        base_url,
        _,
    ):
        started = httpx.post(f"{base_url}/api/training", json=LONG_JOB, headers=TEACHER)
        assert started.status_code == 202, started.text
        job_id = started.json()["job_id"]
        pid = json.loads((tmp_path / "training" / "jobs" / job_id / "job.json").read_text())["pid"]
        # Each call is a new connection, which either worker may accept.
        for _ in range(8):
            again = httpx.post(f"{base_url}/api/training", json=SMALL_JOB, headers=TEACHER)
            assert_error(again, 409, "training_busy")
            assert httpx.get(f"{base_url}/api/training").json()["job"]["id"] == job_id
        for _ in range(3):
            assert wait_for_event(base_url, job_id, "progress")["data"]["batch"] >= 1
        assert group_alive(pid)
        assert_error(httpx.delete(f"{base_url}/api/training/{job_id}"), 401, "unauthorized")
        cancelled = httpx.delete(f"{base_url}/api/training/{job_id}", headers=TEACHER, timeout=30)
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["state"] == "cancelled"
        assert wait_gone(pid), f"trainer group {pid} still alive"
        assert follow(base_url, job_id)[-1]["event"] == "cancelled"
        again = httpx.delete(f"{base_url}/api/training/{job_id}", headers=TEACHER)
        assert_error(again, 409, "job_finished")
        assert not list((tmp_path / "models").glob("class-cnn*"))
        unknown = httpx.get(f"{base_url}/api/training/0123456789abcdef/events")
        assert_error(unknown, 404, "unknown_job")


@pytest.mark.slow
def test_a_trainer_whose_server_was_killed_stops_by_itself(
    mnist_path: Path, tmp_path: Path
) -> None:
    env = {"DIGITDRAW_MNIST": str(mnist_path)}
    with running_server(Settings().model_dir, data_dir=tmp_path, env=env) as (base_url, process):
        job_id = httpx.post(f"{base_url}/api/training", json=LONG_JOB, headers=TEACHER).json()[
            "job_id"
        ]
        pid = json.loads((tmp_path / "training" / "jobs" / job_id / "job.json").read_text())["pid"]
        wait_for_event(base_url, job_id, "progress")
        process.kill()  # no lifespan, no signal handler: only the trainer's own watch is left
        process.wait(timeout=10)
        assert wait_gone(pid, seconds=60), f"trainer {pid} is an orphan"


def test_the_training_api_is_documented_in_openapi(tmp_path: Path) -> None:
    with served_app(Settings(data_dir=tmp_path)) as client:
        document = client.get("/openapi.json").json()
    paths = document["paths"]
    assert set(paths["/api/training"]) == {"get", "post"}
    assert (
        "text/event-stream"
        in paths["/api/training/{job_id}/events"]["get"]["responses"]["200"]["content"]
    )
    assert "delete" in paths["/api/training/{job_id}"]
    assert "delete" in paths["/api/training/models/{name}"]
    request = document["components"]["schemas"]["TrainingRequest"]
    assert request["required"] == ["model"]
    assert request["properties"]["optimizer"]["enum"] == ["sgd", "momentum", "rmsprop", "adam"]
    assert {"202", "401", "409", "422", "503"} <= set(paths["/api/training"]["post"]["responses"])


def test_the_learn_page_is_served_under_the_strict_policy(tmp_path: Path) -> None:
    with served_app(Settings(data_dir=tmp_path)) as client:
        page = client.get("/learn")
        chinese = client.get("/learn?lang=zh-CN").text
        assert page.status_code == 200
        assert "script-src 'self'" in page.headers["content-security-policy"]
        html = page.text
        assert not re.search(r"<script(?![^>]*\bsrc=)", html)  # no inline script
        assert not re.search(r"\sstyle=|\son[a-z]+=", html)  # no inline style or handlers
        for link in re.findall(r'(?:src|href)="(/static/[^"]+)"', html):
            assert client.get(link).status_code == 200, link
        for module in ("learn.js", "curves.js", "pad.js", "live.js", "api.js", "chart.js"):
            assert client.get(f"/static/js/{module}").status_code == 200
    assert 'data-training-url="/api/training"' in html
    assert '<html lang="zh-CN">' in chinese and "开始训练" in chinese
