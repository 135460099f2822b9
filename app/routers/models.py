"""GET /models and /models/{name}: what the server can answer with, and each model's card."""

from typing import Any

from fastapi import APIRouter

from app.dependencies import Registry
from app.inference import Model, card_value
from app.schemas import ERROR_RESPONSES, ModelList, ModelSummary

router = APIRouter(prefix="/models", tags=["models"])


def real_drawings_accuracy(card: dict[str, Any]) -> float | None:
    """Accuracy on held-out writers' strokes (the page sends strokes), once it has been measured."""
    accuracy = card_value(card, "evaluation", "real_drawings", "heldout", "strokes")
    return float(accuracy) if isinstance(accuracy, int | float) else None


def summary(model: Model, default_name: str) -> ModelSummary:
    card = model.card
    return ModelSummary(
        name=model.name,
        description=card.get("description"),
        architecture=card.get("architecture"),
        params=card.get("params"),
        mnist_test_accuracy=card_value(card, "evaluation", "mnist_test", "accuracy"),
        real_drawings_accuracy=real_drawings_accuracy(card),
        default=model.name == default_name,
        report=f"/report/{model.name}",
    )


@router.get("", summary="List the served models")
async def list_models(registry: Registry) -> ModelList:
    """Every model by name; `default` marks the one used when a request names none."""
    return ModelList(models=[summary(model, registry.default_name) for model in registry])


@router.get("/{name}", summary="A model's card", responses={404: ERROR_RESPONSES[404]})
async def model_card(name: str, registry: Registry) -> dict[str, Any]:
    """The model card: architecture, training, evaluation and file checksums."""
    return registry.get(name).card
