"""The report page's gallery: the MNIST test digits a model gets wrong, stored with the model.

    python -m training report --data path/to/mnist.npz            # every model in model_store/
    python -m training report --data mnist.npz --model robust-cnn  # one model

Writes ``mistakes.json`` (each wrong digit's test index, true digit, answer, confidence and the
28x28 picture as a PNG data URL, most confident mistakes first) and ``mistakes.png`` (the same
digits on one contact sheet) into the model's folder. Training writes them too (training.train),
so /report/{name} reads a file and never runs the model per request.
"""

import base64
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

MISTAKES_JSON = "mistakes.json"
MISTAKES_PNG = "mistakes.png"
GALLERY_SIZE = 48  # enough to see a pattern, small enough for one screen of a report
SHEET_COLUMNS = 12
SHEET_SCALE = 3  # 28 px digits drawn at 84 px on the contact sheet


def png_data_url(image: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(image.astype(np.uint8), mode="L").save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def mistakes(
    images: np.ndarray, labels: np.ndarray, probabilities: np.ndarray, size: int = GALLERY_SIZE
) -> dict[str, Any]:
    """The `size` most confident wrong answers, with the count of all of them."""
    answers = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(answers != labels)
    confidence = probabilities[wrong, answers[wrong]]
    chosen = wrong[np.argsort(-confidence, kind="stable")[:size]]
    return {
        "test_digits": int(len(labels)),
        "wrong": int(len(wrong)),
        "shown": [
            {
                "index": int(index),
                "label": int(labels[index]),
                "answer": int(answers[index]),
                "confidence": round(float(probabilities[index, answers[index]]), 4),
                "image": png_data_url(images[index]),
            }
            for index in chosen
        ],
    }


def contact_sheet(images: np.ndarray, indices: list[int]) -> Image.Image:
    side = 28 * SHEET_SCALE + 4
    rows = max(1, -(-len(indices) // SHEET_COLUMNS))
    sheet = Image.new("L", (SHEET_COLUMNS * side, rows * side), 128)
    for position, index in enumerate(indices):
        digit = Image.fromarray(images[index].astype(np.uint8), mode="L")
        digit = digit.resize((28 * SHEET_SCALE,) * 2, Image.Resampling.NEAREST)
        row, column = divmod(position, SHEET_COLUMNS)
        sheet.paste(digit, (column * side + 2, row * side + 2))
    return sheet


def write_mistakes(
    folder: Path, images: np.ndarray, labels: np.ndarray, probabilities: np.ndarray
) -> dict[str, Any]:
    """mistakes.json and mistakes.png for one model folder; returns the JSON's content."""
    gallery = mistakes(images, labels, probabilities)
    (folder / MISTAKES_JSON).write_text(json.dumps(gallery, indent=1) + "\n", encoding="utf-8")
    contact_sheet(images, [item["index"] for item in gallery["shown"]]).save(
        folder / MISTAKES_PNG, optimize=True
    )
    return gallery


def report_models(store: Path, names: list[str], data: Path | None) -> list[str]:
    """Run each stored model on MNIST test and write its gallery; one summary line per model."""
    import keras  # TensorFlow only once the command runs

    from training.data import load_mnist, resolve_data_path

    mnist = load_mnist(resolve_data_path(data))
    lines = []
    for name in names:
        folder = store / name
        model = keras.models.load_model(folder / "model.keras")
        probabilities = model.predict(mnist.x_test.astype(np.float32), batch_size=500, verbose=0)
        gallery = write_mistakes(folder, mnist.x_test, mnist.y_test, probabilities)
        lines.append(
            f"{name}: {gallery['wrong']} of {gallery['test_digits']} MNIST test digits wrong; "
            f"{len(gallery['shown'])} in {folder / MISTAKES_JSON}"
        )
    return lines
