"""GET /models and /models/{name}: what the server can answer with, and each model's card;
POST /models/reload (teacher): serve new versions without a restart."""

import asyncio
import logging
from typing import Any

from fastapi import APIRouter, Request

from app.auth import TeacherOnly
from app.dependencies import Registry
from app.inference import Model, ModelRegistry, card_value, request_reload
from app.schemas import (
    ERROR_RESPONSES,
    ErrorResponse,
    ModelList,
    ModelSummary,
    ModelVersionSummary,
)

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/models", tags=["models"])
RELOAD_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": description}
    for status, description in {
        401: "No teacher key",
        403: "Wrong teacher key",
        409: "A committed model cannot be served; the previous models are still served",
    }.items()
}


def real_drawings_accuracy(card: dict[str, Any]) -> float | None:
    """Accuracy on held-out writers' strokes (the page sends strokes), once it has been measured."""
    accuracy = card_value(card, "evaluation", "real_drawings", "heldout", "strokes")
    return float(accuracy) if isinstance(accuracy, int | float) else None


def version_summary(model: Model, default_version: int) -> ModelVersionSummary:
    card = model.card
    parent = card_value(card, "finetune", "parent_version")
    return ModelVersionSummary(
        version=model.version,
        ref=model.ref,
        default=model.version == default_version,
        parent=parent if isinstance(parent, int) else None,
        created=card.get("created"),
        mnist_test_accuracy=card_value(card, "evaluation", "mnist_test", "accuracy"),
        real_drawings_accuracy=real_drawings_accuracy(card),
    )


def summary(model: Model, default_name: str, registry: ModelRegistry | None = None) -> ModelSummary:
    card = model.card
    versions = registry.versions(model.name) if registry else [model]
    return ModelSummary(
        name=model.name,
        description=card.get("description"),
        architecture=card.get("architecture"),
        params=card.get("params"),
        mnist_test_accuracy=card_value(card, "evaluation", "mnist_test", "accuracy"),
        real_drawings_accuracy=real_drawings_accuracy(card),
        default=model.name == default_name,
        version=model.version,
        versions=[version_summary(each, model.version) for each in versions],
        report=f"/report/{model.name}",
    )


def model_list(registry: ModelRegistry) -> ModelList:
    return ModelList(models=[summary(model, registry.default_name, registry) for model in registry])


@router.get("", summary="List the served models")
async def list_models(registry: Registry) -> ModelList:
    """Every model by name (its default version) with its versions; `default` marks the model
    used when a request names none."""
    return model_list(registry)


@router.post(
    "/reload",
    summary="Load new model versions (teacher)",
    responses=RELOAD_ERRORS,
)
async def reload_models(request: Request, registry: Registry, _: TeacherOnly) -> ModelList:
    """Reload the model store in every worker; requests in flight finish on the old models."""
    data_dir = request.app.state.settings.data_dir
    try:
        request_reload(data_dir)  # the other workers see it within about half a second
    except OSError as error:
        logger.warning(
            "Cannot write the reload request to %s (%s): only this worker", data_dir, error
        )
    await asyncio.to_thread(registry.reload)
    return model_list(registry)


@router.get("/{name}", summary="A model's card", responses={404: ERROR_RESPONSES[404]})
async def model_card(name: str, registry: Registry) -> dict[str, Any]:
    """The model card (of the default version, or of "name@version"): architecture, training,
    evaluation and file checksums."""
    return registry.get(name).card
