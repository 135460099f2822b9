"""Every committed model in model_store/ is what its card says: spec, files and accuracy."""

from pathlib import Path

import keras
import numpy as np
import pytest

from app.inference import model_folders
from training.card_file import read_card
from training.data import file_sha256
from training.export import tflite_predict

STORE = Path(__file__).resolve().parent.parent / "model_store"
# The served models, as the registry finds them (not the digit detector, a "_" folder).
MODELS = [folder.name for folder in model_folders(STORE)]
INPUT_SPEC = {
    "shape": [28, 28],
    "dtype": "float32",
    "range": [0, 255],
    "polarity": "white_on_black",
}
TOLERANCE = 0.001  # 0.1 percentage points: one digit in 1,000


@pytest.mark.parametrize("name", MODELS)
def test_stored_model_loads_and_matches_its_card_input_spec(name: str) -> None:
    card = read_card(STORE / name)
    model = keras.models.load_model(STORE / name / "model.keras")
    assert card["name"] == name
    assert card["input"] == INPUT_SPEC
    assert model.count_params() == card["params"]
    # Raw 0..255 pixels in (the model rescales them itself), ten probabilities out.
    ink = np.zeros((2, 28, 28), dtype=np.float32)
    ink[:, 6:22, 13:15] = 255.0
    probabilities = model.predict(ink, verbose=0)
    assert probabilities.shape == (2, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("name", MODELS)
def test_stored_model_files_match_the_hashes_in_its_card(name: str) -> None:
    files = read_card(STORE / name)["files"]
    for file_name in ("model.keras", "model.tflite"):
        assert file_sha256(STORE / name / file_name) == files[file_name]["sha256"], file_name


@pytest.mark.parametrize("name", MODELS)
def test_stored_tflite_model_scores_what_its_card_claims_on_mnist_test(
    name: str, mnist_test: tuple[np.ndarray, np.ndarray]
) -> None:
    images, labels = mnist_test
    probabilities = tflite_predict(STORE / name / "model.tflite", images)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    accuracy = float((probabilities.argmax(axis=1) == labels).mean())
    claimed = read_card(STORE / name)["evaluation"]["mnist_test"]["accuracy"]
    assert abs(accuracy - claimed) <= TOLERANCE


def test_model_store_stays_small() -> None:
    total = sum(path.stat().st_size for path in STORE.rglob("*") if path.is_file())
    assert total < 20 * 1024 * 1024
