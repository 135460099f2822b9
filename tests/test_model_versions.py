"""Model versions, the data folder's models, and reloading them without a restart (all workers)."""

import json
import logging
import os
import shutil
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import numpy as np
import pytest

from app.inference import (
    ModelRegistry,
    ModelStoreError,
    ReloadFailed,
    UnknownModel,
    class_models_dir,
    generation_path,
    load_registry,
    registry_for,
    request_reload,
)
from app.settings import Settings
from tests.helpers import TEACHER, assert_error, running_server
from training.card_file import read_card

SETTINGS = Settings()
DEFAULT = SETTINGS.default_model
OTHER = "mlp128-64"  # a different network: its answers tell which version replied
STROKES_OF_A_7 = {"strokes": [[[10, 10], [90, 10], [40, 110]]]}
RELOAD_SECONDS = 20  # generous: every worker checks twice a second, the machine is shared


def copy_model(source: str, target: Path, **card_changes: object) -> Path:
    """Copy a committed model's two served files into `target` (a new version or model)."""
    staging = target.with_name(f".tmp-{target.name}")
    staging.mkdir(parents=True)
    for name in ("model.tflite", "card.json"):
        shutil.copy(SETTINGS.model_dir / source / name, staging / name)
    if card_changes:
        card = read_card(staging)
        card.update(card_changes)
        (staging / "card.json").write_text(json.dumps(card))
    staging.rename(target)  # a version appears whole, as the fine-tune command writes it
    return target


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A private store with the default model as its only model (version 1)."""
    copy_model(DEFAULT, tmp_path / "store" / DEFAULT)
    return tmp_path / "store"


def load(store: Path, *extra: Path) -> ModelRegistry:
    registry = load_registry(store, DEFAULT, extra_dirs=extra)
    registry.warm_up()
    return registry


def test_versions_folder_adds_versions_and_name_at_version_picks_one(store: Path) -> None:
    copy_model(OTHER, store / DEFAULT / "versions" / "2")
    registry = load(store)
    assert registry.names == [DEFAULT]
    assert [model.version for model in registry.versions(DEFAULT)] == [1, 2]
    assert registry.get().version == 1  # not marked default by fine-tuning: version 1 stays
    assert registry.get(DEFAULT).version == 1
    second = registry.get(f"{DEFAULT}@2")
    assert (second.name, second.version, second.ref) == (DEFAULT, 2, f"{DEFAULT}@2")
    assert second.folder == store / DEFAULT / "versions" / "2"
    assert registry.get(f"{DEFAULT}@1").folder == store / DEFAULT
    assert second.card["name"] == OTHER  # really the other file


def test_unknown_version_or_malformed_reference_names_what_exists(store: Path) -> None:
    copy_model(OTHER, store / DEFAULT / "versions" / "2")
    registry = load(store)
    with pytest.raises(UnknownModel) as caught:
        registry.get(f"{DEFAULT}@7")
    assert caught.value.status == 404 and caught.value.code == "unknown_model"
    assert f"{DEFAULT}@1, {DEFAULT}@2" in caught.value.message
    for wrong in (f"{DEFAULT}@", f"{DEFAULT}@two", f"{DEFAULT}@0", "nope@2"):
        with pytest.raises(UnknownModel):
            registry.get(wrong)


def test_default_is_the_highest_marked_version_unless_a_file_pins_one(store: Path) -> None:
    marked = {"finetune": {"marked_default": True, "parent_version": 1}}
    copy_model(OTHER, store / DEFAULT / "versions" / "2", **marked)
    copy_model(OTHER, store / DEFAULT / "versions" / "3", finetune={"marked_default": False})
    assert load(store).get().version == 2
    (store / DEFAULT / "default_version").write_text("3\n")
    assert load(store).get(DEFAULT).version == 3
    (store / DEFAULT / "default_version").write_text("9")  # not served: ignored
    assert load(store).get().version == 2


def test_a_version_being_written_or_misnamed_is_not_served(store: Path) -> None:
    (store / DEFAULT / "versions" / ".tmp-2").mkdir(parents=True)  # half-written
    (store / DEFAULT / "versions" / "1").mkdir()  # version 1 is the top-level files
    (store / DEFAULT / "versions" / "latest").mkdir()
    assert [model.version for model in load(store).versions(DEFAULT)] == [1]


def test_broken_committed_version_stops_the_start_naming_it_and_the_fix(store: Path) -> None:
    broken = copy_model(OTHER, store / DEFAULT / "versions" / "2")
    (broken / "model.tflite").write_bytes(b"not a model")
    with pytest.raises(ModelStoreError) as caught:
        load(store)
    message = str(caught.value)
    assert f"{broken / 'model.tflite'} does not match the sha256" in message
    assert "python -m training finetune --model robust-cnn" in message
    assert "versions/2" in message


def test_data_folder_models_are_served_and_broken_ones_skipped(
    store: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data_models = class_models_dir(tmp_path / "data")
    copy_model(OTHER, data_models / "class-7b")
    (copy_model(OTHER, data_models / "half-done") / "card.json").write_text("{")
    with caplog.at_level(logging.WARNING, logger="app.inference"):
        registry = load(store, data_models)
    assert registry.names == ["class-7b", DEFAULT]
    assert registry.get("class-7b").folder == data_models / "class-7b"
    assert "half-done" in caplog.text and "Skipped" in caplog.text


def test_missing_data_folder_is_created(store: Path, tmp_path: Path) -> None:
    registry = registry_for(store, DEFAULT, tmp_path / "fresh-data")
    assert registry.names == [DEFAULT]
    assert class_models_dir(tmp_path / "fresh-data").is_dir()


def test_reload_swaps_at_once_keeps_old_models_working_and_reuses_unchanged_ones(
    store: Path, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    registry = registry_for(store, DEFAULT, data_dir)
    registry.warm_up()
    old = registry.get()
    old_catalogue = registry.catalogue
    copy_model(OTHER, store / DEFAULT / "versions" / "2", finetune={"marked_default": True})
    new_catalogue = registry.reload()
    assert registry.catalogue is new_catalogue is not old_catalogue
    assert registry.get().version == 2 and registry.get().warm
    assert registry.get(f"{DEFAULT}@1") is old  # unchanged files: the same warm object
    image = np.zeros((1, 28, 28), np.float32)
    image[0, 4:24, 13:16] = 255
    assert old.predict(image).shape == (1, 10)  # a request holding it finishes fine
    assert old_catalogue.defaults[DEFAULT] == 1  # the old view never changed under anyone


def test_failed_reload_keeps_serving_the_previous_models(store: Path, tmp_path: Path) -> None:
    registry = registry_for(store, DEFAULT, tmp_path / "data")
    registry.warm_up()
    before = registry.catalogue
    broken = copy_model(OTHER, store / DEFAULT / "versions" / "2")
    (broken / "model.tflite").write_bytes(b"truncated")
    with pytest.raises(ReloadFailed) as caught:
        registry.reload()
    assert caught.value.status == 409 and "still served" in caught.value.message
    assert registry.catalogue is before


def test_request_reload_changes_the_generation_every_worker_watches(
    store: Path, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    registry = registry_for(store, DEFAULT, data_dir)
    assert not registry.generation_changed()
    request_reload(data_dir)
    assert generation_path(data_dir).is_file() and registry.generation_changed()
    registry.reload()
    assert not registry.generation_changed()
    request_reload(data_dir)  # twice within one mtime tick still counts: a new file each time
    request_reload(data_dir)
    assert registry.generation_changed()
    assert [p.name for p in data_dir.iterdir() if p.name.startswith(".")] == []


def post_throughout(base_url: str, stop: threading.Event, statuses: Counter) -> None:
    """A drawing client posting as fast as it can until `stop`; counts every outcome."""
    with httpx.Client(base_url=base_url, timeout=30) as client:
        while not stop.is_set():
            try:
                response = client.post("/predict", json=STROKES_OF_A_7)
                ok = response.status_code == 200 and response.json()["model"] == DEFAULT
                statuses["ok" if ok else f"http {response.status_code}"] += 1
            except httpx.HTTPError as error:
                statuses[type(error).__name__] += 1


def wait_until_every_worker_serves(base_url: str, model: str, streak: int = 40) -> float:
    """Seconds until `streak` requests in a row on new connections find `model`.

    Each request opens its own connection, so the kernel spreads them over the workers: 40 in a
    row all landing on one worker of two has a chance of 2**-39.
    """
    started = time.monotonic()
    successes = 0
    while successes < streak:
        assert time.monotonic() - started < RELOAD_SECONDS, f"{model} not served everywhere"
        response = httpx.post(f"{base_url}/predict", json={**STROKES_OF_A_7, "model": model})
        successes = successes + 1 if response.status_code == 200 else 0
        if response.status_code != 200:
            assert_error(response, 404, "unknown_model")
            time.sleep(0.05)
    return time.monotonic() - started


@pytest.mark.slow
def test_two_workers_reload_a_new_version_under_load_with_no_failed_request(
    store: Path, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    with running_server(store, "--workers", "2", data_dir=data_dir) as (base_url, _):
        statuses: Counter = Counter()
        stop = threading.Event()
        clients = [
            threading.Thread(target=post_throughout, args=(base_url, stop, statuses))
            for _ in range(3)
        ]
        for client in clients:
            client.start()
        try:
            time.sleep(1)
            # A training run writes a version, then asks every worker to reload (no HTTP).
            copy_model(OTHER, store / DEFAULT / "versions" / "2")
            request_reload(data_dir)
            wait_until_every_worker_serves(base_url, f"{DEFAULT}@2")
            # The teacher's button: the answer already lists the new version.
            copy_model(OTHER, store / DEFAULT / "versions" / "3")
            response = httpx.post(f"{base_url}/models/reload", headers=TEACHER, timeout=60)
            assert response.status_code == 200, response.text
            listed = {m["name"]: m for m in response.json()["models"]}[DEFAULT]
            assert [v["ref"] for v in listed["versions"]] == [f"{DEFAULT}@{n}" for n in (1, 2, 3)]
            assert listed["version"] == 1 and [v["default"] for v in listed["versions"]] == [
                True,
                False,
                False,
            ]
            wait_until_every_worker_serves(base_url, f"{DEFAULT}@3")
            time.sleep(0.5)
        finally:
            stop.set()
            for client in clients:
                client.join(timeout=60)
        assert set(statuses) == {"ok"}, statuses
        assert statuses["ok"] > 50, statuses
        answer = httpx.post(f"{base_url}/predict", json={**STROKES_OF_A_7, "model": f"{DEFAULT}@2"})
        assert (answer.json()["model"], answer.json()["model_version"]) == (DEFAULT, 2)


@pytest.mark.slow
def test_server_serves_data_folder_models_skips_broken_ones_and_guards_reload(
    store: Path, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    copy_model(OTHER, class_models_dir(data_dir) / "class-model")
    broken = copy_model(OTHER, class_models_dir(data_dir) / "broken")
    os.truncate(broken / "model.tflite", 100)
    with running_server(store, data_dir=data_dir) as (base_url, _):
        models = httpx.get(f"{base_url}/models").json()["models"]
        assert [model["name"] for model in models] == ["class-model", DEFAULT]
        assert models[1]["versions"][0]["ref"] == f"{DEFAULT}@1"
        answer = httpx.post(f"{base_url}/predict", json={**STROKES_OF_A_7, "model": "class-model"})
        assert answer.status_code == 200 and answer.json()["model_version"] == 1
        assert_error(httpx.post(f"{base_url}/models/reload"), 401, "unauthorized")
        wrong = {"Authorization": "Bearer not-the-key"}
        assert_error(httpx.post(f"{base_url}/models/reload", headers=wrong), 403, "forbidden")
        missing = httpx.post(
            f"{base_url}/predict", json={**STROKES_OF_A_7, "model": f"{DEFAULT}@2"}
        )
        assert_error(missing, 404, "unknown_model", f"{DEFAULT}@1")
        card = httpx.get(f"{base_url}/models/{DEFAULT}@1").json()
        assert card["name"] == DEFAULT
