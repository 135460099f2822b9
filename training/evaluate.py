"""Score a model on MNIST test: accuracy, loss, per-class accuracy and confusion matrix.

Training calls `mnist_test_scores` right after fitting; `evaluate_stored_model` re-scores any
model in model_store/ (e.g. after a Keras upgrade) and can update its card. The loss is plain
cross-entropy of the predicted probabilities, whatever loss the model was trained with (label
smoothing inflates its own), so every card's loss is comparable.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np

from training.card import CONFUSION_FILE, plot_confusion, read_card, write_card
from training.data import Mnist

NUM_CLASSES = 10
PREDICT_BATCH_SIZE = 1000
EPSILON = 1e-7  # Keras clips probabilities the same way before taking the log


def mnist_test_scores(probabilities: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    """The card's evaluation.mnist_test block from predicted probabilities and true labels."""
    labels = np.asarray(labels, dtype=np.int64)
    predicted = probabilities.argmax(axis=1)
    confusion = np.zeros((NUM_CLASSES, NUM_CLASSES), dtype=np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    per_class = np.diag(confusion) / np.maximum(confusion.sum(axis=1), 1)
    chosen = np.clip(probabilities[np.arange(len(labels)), labels], EPSILON, 1.0)
    return {
        "accuracy": float((predicted == labels).mean()),
        "loss": float(-np.log(chosen).mean()),
        "per_class_accuracy": [float(value) for value in per_class],
        "confusion_matrix": confusion.tolist(),
    }


@dataclass(frozen=True)
class StoredEvaluation:
    """A stored model's new scores next to the accuracy its card claimed."""

    name: str
    params: int
    scores: dict[str, Any]
    card_accuracy: float | None


def evaluate_stored_model(folder: Path, mnist: Mnist, update_card: bool) -> StoredEvaluation:
    """Re-score model.keras on MNIST test; with update_card, rewrite the card's scores."""
    model = keras.models.load_model(folder / "model.keras", compile=False)
    probabilities = model.predict(mnist.x_test, batch_size=PREDICT_BATCH_SIZE, verbose=0)
    scores = mnist_test_scores(probabilities, mnist.y_test)
    card = read_card(folder)
    evaluation = card.setdefault("evaluation", {})
    card_accuracy = evaluation.get("mnist_test", {}).get("accuracy")
    if update_card:
        evaluation["mnist_test"] = scores
        card.setdefault("pictures", {})["confusion"] = CONFUSION_FILE
        write_card(card, folder)
        plot_confusion(
            scores["confusion_matrix"],
            folder / CONFUSION_FILE,
            f"{folder.name} on MNIST test: {scores['accuracy']:.2%}",
        )
    return StoredEvaluation(folder.name, int(model.count_params()), scores, card_accuracy)
