"""The model registry: loading and checking the store, predicting, and refusing bad models."""

import json
import logging
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from app.inference import (
    ModelRegistry,
    ModelStoreError,
    UnknownModel,
    load_registry,
)
from app.preprocessing import PREPROCESSING_VERSION
from app.settings import Settings

SETTINGS = Settings()
TRAIN_HINT = "python -m training train --model"


@pytest.fixture(scope="module")
def registry() -> ModelRegistry:
    loaded = load_registry(SETTINGS.model_dir, SETTINGS.default_model)
    loaded.warm_up()
    return loaded


@pytest.fixture
def store_copy(tmp_path: Path) -> Path:
    """A private copy of the default model's folder, free to damage."""
    folder = tmp_path / "store" / SETTINGS.default_model
    folder.mkdir(parents=True)
    for name in ("model.tflite", "card.json"):
        shutil.copy(SETTINGS.model_dir / SETTINGS.default_model / name, folder / name)
    return folder.parent


def edit_card(store: Path, **changes: object) -> None:
    card_path = store / SETTINGS.default_model / "card.json"
    card = json.loads(card_path.read_text())
    card.update(changes)
    card_path.write_text(json.dumps(card))


def load_error(store: Path, default_model: str = SETTINGS.default_model) -> str:
    with pytest.raises(ModelStoreError) as caught:
        load_registry(store, default_model)
    message = str(caught.value)
    assert "\n" not in message, "start-up errors are one line"
    return message


def test_registry_loads_every_model_folder_and_knows_the_default(registry: ModelRegistry) -> None:
    folders = sorted(p.name for p in SETTINGS.model_dir.iterdir() if p.is_dir())
    assert registry.names == [name for name in folders if not name.startswith((".", "_"))]
    assert registry.get().name == SETTINGS.default_model
    assert registry.ready


def test_every_card_matches_the_preprocessing_version(registry: ModelRegistry) -> None:
    assert {model.card["preprocessing_version"] for model in registry} == {PREPROCESSING_VERSION}


def test_probabilities_sum_to_one_within_a_millionth(
    registry: ModelRegistry, mnist_test: tuple[np.ndarray, np.ndarray]
) -> None:
    images, _ = mnist_test
    for model in registry:
        probabilities = model.predict(images[:50].astype(np.float32))
        assert probabilities.shape == (50, 10)
        assert (probabilities >= 0).all()
        assert np.abs(probabilities.sum(axis=1) - 1).max() <= 1e-6
        assert abs(sum(probabilities[0].tolist()) - 1) <= 1e-6


def test_models_read_mnist_test_digits(
    registry: ModelRegistry, mnist_test: tuple[np.ndarray, np.ndarray]
) -> None:
    images, labels = mnist_test
    for model in registry:
        answers = model.predict(images[:300].astype(np.float32)).argmax(axis=1)
        assert (answers == labels[:300]).mean() >= 0.93, model.name


def test_concurrent_predictions_equal_sequential_ones(
    registry: ModelRegistry, mnist_test: tuple[np.ndarray, np.ndarray]
) -> None:
    images = mnist_test[0][:64].astype(np.float32)
    model = registry.get()
    sequential = [model.predict(image[np.newaxis]) for image in images]
    with ThreadPoolExecutor(max_workers=8) as pool:
        concurrent = list(pool.map(lambda image: model.predict(image[np.newaxis]), images))
    assert all(np.array_equal(a, b) for a, b in zip(sequential, concurrent, strict=True))


def test_unknown_model_names_the_available_ones(registry: ModelRegistry) -> None:
    with pytest.raises(UnknownModel) as caught:
        registry.get("resnet-9000")
    assert caught.value.status == 404 and caught.value.code == "unknown_model"
    assert "resnet-9000" in caught.value.message
    assert all(name in caught.value.message for name in registry.names)


def test_missing_model_folder_is_refused_naming_it_and_the_training_command(
    tmp_path: Path,
) -> None:
    message = load_error(tmp_path / "nowhere")
    assert str(tmp_path / "nowhere") in message
    assert f"{TRAIN_HINT} {SETTINGS.default_model} --data path/to/mnist.npz" in message


def test_missing_default_model_is_refused(store_copy: Path) -> None:
    message = load_error(store_copy, "lenet-5")
    assert str(store_copy / "lenet-5") in message
    assert f"{TRAIN_HINT} lenet-5 --data path/to/mnist.npz" in message


def test_model_file_that_differs_from_its_card_is_refused(store_copy: Path) -> None:
    model_path = store_copy / SETTINGS.default_model / "model.tflite"
    data = bytearray(model_path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model_path.write_bytes(bytes(data))
    message = load_error(store_copy)
    assert f"{model_path} does not match the sha256" in message
    assert f"{TRAIN_HINT} {SETTINGS.default_model}" in message


def test_missing_model_file_is_refused(store_copy: Path) -> None:
    model_path = store_copy / SETTINGS.default_model / "model.tflite"
    model_path.unlink()
    assert f"{model_path} is missing" in load_error(store_copy)


def test_card_that_is_not_json_is_refused(store_copy: Path) -> None:
    card_path = store_copy / SETTINGS.default_model / "card.json"
    card_path.write_text("{not json")
    assert f"{card_path} is not a readable JSON model card" in load_error(store_copy)


def test_card_without_checksum_is_refused(store_copy: Path) -> None:
    edit_card(store_copy, files={})
    assert "lacks files.model.tflite.sha256" in load_error(store_copy)


def test_card_with_another_input_shape_is_refused(store_copy: Path) -> None:
    edit_card(store_copy, input={"shape": [32, 32], "dtype": "float32"})
    message = load_error(store_copy)
    assert "does not fit its card" in message and "[32, 32]" in message


def test_other_preprocessing_version_is_served_with_a_warning(
    store_copy: Path, caplog: pytest.LogCaptureFixture
) -> None:
    edit_card(store_copy, preprocessing_version="0")
    with caplog.at_level(logging.WARNING, logger="app.inference"):
        loaded = load_registry(store_copy, SETTINGS.default_model)
    assert loaded.names == [SETTINGS.default_model]
    assert "preprocessing version 0" in caplog.text
    assert f"version {PREPROCESSING_VERSION}" in caplog.text


def test_hidden_and_private_folders_are_not_models(store_copy: Path) -> None:
    (store_copy / ".cache").mkdir()
    (store_copy / "__pycache__").mkdir()
    assert load_registry(store_copy, SETTINGS.default_model).names == [SETTINGS.default_model]
