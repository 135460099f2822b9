"""Reading and writing a model folder's card.json, without Keras or TensorFlow: the evaluation
commands (honest, realdraw, numbers-eval) record their figures in cards and must stay light."""

import json
from pathlib import Path
from typing import Any

CARD_FILE = "card.json"


def write_card(card: dict[str, Any], folder: Path) -> Path:
    """Write card.json (UTF-8, indent 2) into the model's folder."""
    path = folder / CARD_FILE
    path.write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def read_card(folder: Path) -> dict[str, Any]:
    """The card of a stored model."""
    return json.loads((folder / CARD_FILE).read_text(encoding="utf-8"))
