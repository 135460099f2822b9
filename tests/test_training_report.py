"""training.report: the gallery of wrong test digits stored beside each model for /report."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.inference import model_folders
from tests.conftest import REPO_ROOT
from training.card_file import read_card
from training.report import MISTAKES_JSON, MISTAKES_PNG, mistakes, write_mistakes

STORE = REPO_ROOT / "model_store"
# The served models, as the registry finds them (not the digit detector, a "_" folder).
MODELS = [folder.name for folder in model_folders(STORE)]


def test_gallery_lists_the_most_confident_mistakes_first(tmp_path: Path) -> None:
    images = np.arange(5 * 28 * 28, dtype=np.uint8).reshape(5, 28, 28)
    labels = np.array([0, 1, 2, 3, 4])
    probabilities = np.full((5, 10), 0.01)
    probabilities[0, 0] = 0.9  # right
    probabilities[1, 7] = 0.6  # wrong, less sure
    probabilities[2, 5] = 0.95  # wrong, sure
    probabilities[3, 3] = 0.9  # right
    probabilities[4, 9] = 0.8  # wrong
    gallery = write_mistakes(tmp_path, images, labels, probabilities)
    assert gallery["wrong"] == 3 and gallery["test_digits"] == 5
    assert [item["index"] for item in gallery["shown"]] == [2, 4, 1]
    assert gallery["shown"][0] | {"image": ""} == {
        "index": 2, "label": 2, "answer": 5, "confidence": 0.95, "image": ""
    }  # fmt: skip
    assert json.loads((tmp_path / MISTAKES_JSON).read_text()) == gallery
    with Image.open(tmp_path / MISTAKES_PNG) as sheet:
        assert sheet.mode == "L" and sheet.width > 0
    assert mistakes(images, labels, probabilities, size=1)["shown"][0]["index"] == 2


@pytest.mark.parametrize("name", MODELS)
def test_every_committed_model_has_its_gallery_matching_its_card(name: str) -> None:
    gallery = json.loads((STORE / name / MISTAKES_JSON).read_text())
    card = read_card(STORE / name)
    accuracy = card["evaluation"]["mnist_test"]["accuracy"]
    assert gallery["test_digits"] == 10_000
    assert gallery["wrong"] == round((1 - accuracy) * 10_000)
    assert 0 < len(gallery["shown"]) <= gallery["wrong"]
    confidences = [item["confidence"] for item in gallery["shown"]]
    assert confidences == sorted(confidences, reverse=True)
    assert all(item["label"] != item["answer"] for item in gallery["shown"])
    assert all(item["image"].startswith("data:image/png;base64,") for item in gallery["shown"])
