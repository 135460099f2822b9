"""GET /compare (every model on one drawing) and /report/{name} (a model's card, for the eye).

The report is drawn on the server from what training stored beside the model: card.json
(layers, curves, confusion matrix, scores, how it was trained, calibration and honesty figures),
mistakes.json (the gallery of wrong test digits, training.report), reliability.png and the digit
detector's card and tradeoff.png (python -m training honest). Nothing is computed per request
but the layout: the curves become an SVG, the confusion matrix a table shaded by CSS classes
(the page's CSP forbids inline styles), the stored figures data: URLs.
"""

import base64
import json
import math
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from app import honesty
from app.dependencies import loaded_registry
from app.inference import Model, card_value
from app.routers.pages import LIVE_PREDICT_INTERVAL_MS, app_path, render_page

router = APIRouter(tags=["pages"])
COMPARE_KEYS = ("confidence", "error_unreachable", "error_http")
MISTAKES_FILE = "mistakes.json"
RELIABILITY_FILE = "reliability.png"
TRADEOFF_FILE = "tradeoff.png"
REAL_SOURCES = ("mnist_test", "pendigits_strokes", "pendigits_image")
SHADES = 6  # confusion cells: shade-0 (none) .. shade-5 (most), on a log scale
CHART = {"width": 640, "height": 280, "left": 56, "right": 16, "top": 16, "bottom": 44}


@router.api_route(
    "/compare", methods=["GET", "HEAD"], response_class=HTMLResponse, include_in_schema=False
)
def compare_page(request: Request) -> HTMLResponse:
    """One pad; every served model answers side by side."""
    registry = loaded_registry(request)
    context = {
        "predict_url": app_path(request, "/predict"),
        "report_url": app_path(request, "/report/"),
        "model_names": registry.names,
        "live_interval_ms": LIVE_PREDICT_INTERVAL_MS,
    }
    return render_page(request, "compare.html", context, COMPARE_KEYS)


@router.api_route(
    "/report/{name}", methods=["GET", "HEAD"], response_class=HTMLResponse, include_in_schema=False
)
def report_page(request: Request, name: str) -> HTMLResponse:
    """A model's report; an unknown name is the API's 404 unknown_model."""
    model = loaded_registry(request).get(name)
    detector = honesty.detector_in(request.app.state.settings.model_dir)
    context = report_context(model)
    context["honesty"] = honesty_context(model, detector)
    return render_page(request, "report.html", context)


def report_context(model: Model) -> dict[str, Any]:
    card = model.card
    test = card_value(card, "evaluation", "mnist_test") or {}
    heldout = card_value(card, "evaluation", "real_drawings", "heldout") or {}
    return {
        "name": model.name,
        "description": card.get("description"),
        "layers": [
            {
                "name": layer.get("name"),
                "kind": layer.get("class"),
                "shape": " × ".join(str(size) for size in (layer.get("output_shape") or [])[1:]),
                "params": layer.get("params"),
            }
            for layer in card.get("layers") or []
        ],
        "params": card.get("params"),
        "curves": curves(card_value(card, "evaluation", "history") or {}),
        "confusion": confusion(test.get("confusion_matrix")),
        "per_class": [
            {"digit": digit, "accuracy": value}
            for digit, value in enumerate(test.get("per_class_accuracy") or [])
        ],
        "mnist_accuracy": test.get("accuracy"),
        "real_strokes": heldout.get("strokes"),
        "real_images": heldout.get("image"),
        "training": card.get("training") or {},
        "gallery": gallery(getattr(model, "folder", None)),
    }


def curves(history: dict[str, list[float]]) -> dict[str, Any] | None:
    """Training and validation accuracy per epoch as SVG polylines, with the axis ticks."""
    train, validation = history.get("accuracy") or [], history.get("val_accuracy") or []
    if not train:
        return None
    values = train + validation
    low = max(0.0, math.floor(min(values) * 20) / 20)  # the nearest 5% below the lowest value
    high = 1.0
    epochs = len(train)
    width = CHART["width"] - CHART["left"] - CHART["right"]
    height = CHART["height"] - CHART["top"] - CHART["bottom"]

    def x(epoch: int) -> float:
        return CHART["left"] + (width * epoch / max(epochs - 1, 1))

    def y(value: float) -> float:
        return CHART["top"] + height * (high - value) / (high - low)

    def points(series: list[float]) -> str:
        return " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(series))

    steps = 5
    ticks = [low + (high - low) * i / steps for i in range(steps + 1)]
    return {
        **CHART,
        "train": points(train),
        "validation": points(validation),
        "y_ticks": [{"y": round(y(t), 1), "label": f"{t:.0%}"} for t in ticks],
        "x_ticks": [{"x": round(x(i), 1), "label": str(i + 1)} for i in range(epochs)],
        "last_train": train[-1],
        "last_validation": validation[-1] if validation else None,
        "plot_bottom": CHART["height"] - CHART["bottom"],
        "plot_right": CHART["width"] - CHART["right"],
    }


def confusion(matrix: list[list[int]] | None) -> list[list[dict[str, Any]]] | None:
    """Rows of cells with a shade class: the diagonal apart, mistakes by log-scaled count."""
    if not matrix:
        return None
    largest_mistake = max(
        (count for r, row in enumerate(matrix) for c, count in enumerate(row) if r != c),
        default=0,
    )
    rows = []
    for r, row in enumerate(matrix):
        cells = []
        for c, count in enumerate(row):
            if r == c:
                shade = "diagonal"
            elif count == 0 or largest_mistake == 0:
                shade = "shade-0"
            else:
                level = 1 + int((SHADES - 2) * math.log1p(count) / math.log1p(largest_mistake))
                shade = f"shade-{min(level, SHADES - 1)}"
            cells.append({"count": count, "shade": shade})
        rows.append(cells)
    return rows


def gallery(folder: Path | None) -> dict[str, Any] | None:
    """mistakes.json of the model folder (written by training), or None before it exists."""
    if folder is None:
        return None
    try:
        return json.loads((Path(folder) / MISTAKES_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def png_data_url(path: Path) -> str | None:
    """A stored figure as a data: URL (the CSP allows no other origin), None when it is missing."""
    try:
        return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")
    except OSError:
        return None


def honesty_context(model: Model, detector: honesty.Detector | None) -> dict[str, Any]:
    """Calibration, "not a digit", whole numbers and scans, as python -m training honest and
    numbers-eval stored them in the cards; missing figures stay None (shown as not measured)."""
    card = model.card
    measured = card_value(card, "evaluation", "honesty") or {}
    real = measured.get("real_digits") or {}
    folder = getattr(model, "folder", None)
    detector_card = detector.card if detector is not None else {}
    rejected = card_value(detector_card, "evaluation", "non_digits_rejected") or {}
    numbers = card_value(card, "evaluation", "numbers", "results") or {}
    return {
        "calibration": card.get("calibration") or {},
        "reliability": png_data_url(Path(folder) / RELIABILITY_FILE) if folder else None,
        "threshold": detector.threshold if detector is not None else None,
        "real_digits": [(source, real.get(source) or {}) for source in REAL_SOURCES],
        "rejected": list(rejected.items()),
        "tradeoff": png_data_url(detector.folder / TRADEOFF_FILE)
        if detector is not None and detector.folder is not None
        else None,
        "numbers": [
            (spacing, path, figures)
            for spacing, paths in numbers.items()
            for path, figures in paths.items()
        ],
        "scan_error": measured.get("scan_error") or {},
    }
