"""Two baselines the benchmark runs beside the real server, under the same uvicorn settings.

`create_seed_app`: the way most "draw a digit" tutorials serve a Keras model. It imports
TensorFlow, loads `model.keras` at start-up and calls `model.predict` on each request, inside an
`async def` handler, after the very same preprocessing as the real server. The difference between
the two is what serving the converted model with LiteRT buys.

`create_ceiling_app`: a `/predict` that answers a constant without reading the body, i.e. what
uvicorn and FastAPI cost on their own; no server can be faster on this machine.

Run one with `uvicorn --factory bench.seed_server:create_seed_app` (DIGITDRAW_MODEL_DIR and
DIGITDRAW_DEFAULT_MODEL choose the model, as for the real server).
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import numpy as np
from fastapi import FastAPI, Request
from pydantic import BaseModel

from app.preprocessing import decode_base64_image, image_bytes_to_mnist, strokes_to_mnist
from app.settings import Settings

CONSTANT_ANSWER = {"digit": 5, "confidence": 1.0, "probabilities": [0.0] * 5 + [1.0] + [0.0] * 4}


class SeedPredictRequest(BaseModel):
    """A canvas image (data URL) or strokes, as the real server accepts them."""

    image: str | None = None
    strokes: list[list[list[float]]] | None = None


@asynccontextmanager
async def load_keras_model(app: FastAPI) -> AsyncIterator[None]:
    """Import TensorFlow and load the default model once, before the first request."""
    # Imported here, not at the top, so that the ceiling app in this module stays free of it.
    import keras  # pulls in TensorFlow: seconds of start-up and hundreds of MiB

    settings = Settings()
    path = settings.model_dir / settings.default_model / "model.keras"
    app.state.model = keras.models.load_model(path)
    yield


def create_seed_app() -> FastAPI:
    """Tutorial-style server: Keras `model.predict` per request."""
    app = FastAPI(lifespan=load_keras_model)

    @app.get("/ready")
    async def ready() -> dict[str, str]:
        return {"status": "ready"}

    @app.post("/predict")
    async def predict(body: SeedPredictRequest, request: Request) -> dict[str, Any]:
        if body.image is not None:
            digit = image_bytes_to_mnist(decode_base64_image(body.image))
        else:
            digit = strokes_to_mnist(body.strokes or [])
        # The model takes raw 0..255 pixels and normalises inside its graph.
        probabilities = request.app.state.model.predict(digit[None] * 255.0, verbose=0)[0]
        return {
            "digit": int(np.argmax(probabilities)),
            "confidence": float(np.max(probabilities)),
            "probabilities": probabilities.astype(float).tolist(),
        }

    return app


def create_ceiling_app() -> FastAPI:
    """The framework's ceiling: the same route, no work."""
    app = FastAPI()

    @app.get("/ready")
    async def ready() -> dict[str, str]:
        return {"status": "ready"}

    @app.post("/predict")
    async def predict() -> dict[str, Any]:
        return CONSTANT_ANSWER

    return app
