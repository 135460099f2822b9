"""Where one /predict request's CPU goes, stage by stage, in-process (no HTTP, no threads).

Run from the repository root (about 20 seconds):

    .venv/bin/python -m bench.stages [--model robust-cnn] [--repeat 2000]

Each stage runs on the benchmark's own bodies (bench/payloads.py) `--repeat` times, in several
rounds; the table gives the median round's time per call. Pillow's PNG decoder is timed beside
the one the server uses, as the baseline for that stage.
"""

import argparse
import io
import json
import statistics
import time
from collections.abc import Callable

import numpy as np
from PIL import Image

from app import preprocessing
from app.inference import load_registry
from app.routers.predict import answer_one
from app.settings import Settings
from bench.payloads import png_request_body, strokes_request_body

ROUNDS = 7


def per_call_ms(function: Callable[[], object], repeat: int) -> float:
    """Median over ROUNDS rounds of the time per call, in milliseconds."""
    rounds = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for _ in range(repeat):
            function()
        rounds.append((time.perf_counter() - started) / repeat * 1000)
    return statistics.median(rounds)


def pillow_decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def stages(model_name: str) -> dict[str, Callable[[], object]]:
    """Named stages of an image request and of a strokes request, each ready to call."""
    settings = Settings()
    registry = load_registry(settings.model_dir, model_name)
    registry.warm_up()
    model = registry.get(model_name)
    png_body, strokes_body = png_request_body(), strokes_request_body()
    png = preprocessing.decode_base64_image(json.loads(png_body)["image"])
    image = preprocessing.decode_image(png)
    ink = preprocessing.image_to_ink(image)
    digit = preprocessing.ink_to_mnist(ink)
    strokes = json.loads(strokes_body)["strokes"]
    return {
        "PNG decode, Pillow (baseline)": lambda: pillow_decode(png),
        "PNG decode, server (libdeflate + libspng)": lambda: preprocessing.decode_image(png),
        "ink map (polarity, alpha)": lambda: preprocessing.image_to_ink(image),
        "crop, stroke width, 20x20, centre": lambda: preprocessing.ink_to_mnist(ink),
        "model (LiteRT invoke)": lambda: model.predict(digit[np.newaxis] * 255.0),
        "28x28 preview PNG data URL": lambda: preprocessing.to_png_data_url(digit),
        "whole PNG request, in the worker": lambda: answer_one(png_body, registry, settings),
        "strokes to 28x28": lambda: preprocessing.strokes_to_mnist(strokes),
        "whole strokes request, in the worker": lambda: answer_one(
            strokes_body, registry, settings
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.stages", description=__doc__)
    parser.add_argument("--model", default=Settings().default_model)
    parser.add_argument("--repeat", type=int, default=2000, help="calls per round")
    options = parser.parse_args(argv)
    print(f"| stage ({options.model}) | ms per call |\n|---|---:|")
    for name, function in stages(options.model).items():
        print(f"| {name} | {per_call_ms(function, options.repeat):.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
