"""Where one /predict request's CPU goes, stage by stage, in-process (no HTTP, no threads).

Run from the repository root (about 20 seconds):

    .venv/bin/python -m bench.stages [--model robust-cnn] [--repeat 2000]

Each stage runs on the benchmark's own bodies (bench/payloads.py) `--repeat` times, in several
rounds; the table gives the median round's time per call. The whole PNG request is timed again
after short idle gaps, as a server's threads sleep between requests. Pillow's PNG decoder is
timed beside the one the server uses, as the baseline for that stage.
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
from app.memory import keep_request_buffers
from app.routers.predict import answer_one
from app.settings import Settings
from bench.payloads import png_request_body, strokes_request_body

ROUNDS = 7
WHOLE_PNG = "whole PNG request, in the worker"
IDLE_MS = (0.2, 1)  # gaps between requests at 1 connection, and at a few hundred a second


def per_call_ms(function: Callable[[], object], repeat: int, idle_s: float = 0.0) -> float:
    """Median over ROUNDS rounds of the time per call, in milliseconds.

    With `idle_s`, the thread sleeps that long before each call (not timed), as a server's
    threads do between requests at low load: the call then starts on colder caches.
    """
    rounds = []
    for _ in range(ROUNDS):
        spent = 0.0
        for _ in range(repeat):
            if idle_s:
                time.sleep(idle_s)
            started = time.perf_counter()
            function()
            spent += time.perf_counter() - started
        rounds.append(spent / repeat * 1000)
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
        WHOLE_PNG: lambda: answer_one(png_body, registry, settings),
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
    keep_request_buffers(Settings().malloc_mmap_threshold)  # as the server does at start-up
    print(f"| stage ({options.model}) | ms per call |\n|---|---:|")
    named_stages = stages(options.model)
    for name, function in named_stages.items():
        print(f"| {name} | {per_call_ms(function, options.repeat):.3f} |")
    whole_png = named_stages[WHOLE_PNG]
    for idle_ms in IDLE_MS:
        timing = per_call_ms(whole_png, max(options.repeat // 10, 1), idle_ms / 1000)
        print(f"| {WHOLE_PNG}, after {idle_ms} ms idle | {timing:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
