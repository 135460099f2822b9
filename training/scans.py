"""Simulated low-resolution scans of paper digits: thick, blurry strokes that fill the frame.

A digit scanned from paper at low resolution and enlarged has lost its fine structure: the
scanner averaged it into a few pixels, the enlargement blurred it, and a scan's contrast
threshold made its strokes blobby and thick. This module makes such scans from real digits so the
evaluation can measure how each model copes, through the server's image path:

- from MNIST: crop the digit to its ink, stretch it to fill a 16x16 frame (keeping the aspect
  ratio, 0-1 px margin), enlarge to 64-128 px bilinearly, blur (Gaussian, radius 1-3 px),
  threshold at 25-55% (the scanner's binarisation: thick blobs), a little grey noise, dark on
  white, PNG through ``app.preprocessing.image_bytes_to_mnist``;
- from pendigits: the pen trajectory drawn with a thick round brush (15-25% of the frame) on a
  16x16 canvas, then the same enlargement, blur, threshold and noise.

The random draw depends only on the seed and the digit's index, so any subset is repeatable.

    scan_png(digit_28x28_uint8, np.random.default_rng([seed, index]))
    scan_png_from_strokes(strokes, rng)
"""

import io
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageFilter

from training.canvas import CanvasStyle, image_path_inputs, place_on_pad, stroke_coverage
from training.pendigits import PenDigit

FRAME = 16  # the scanned frame in pixels: a digit box of a form scanned at ~100 dpi
ENLARGED = (64, 128)  # side of the enlarged scan in pixels
BLUR_RADIUS = (1.0, 3.0)  # Gaussian blur radius after enlargement, in enlarged pixels
THRESHOLD = (0.25, 0.55)  # share of full ink at which the scan binarises: low = thick
NOISE = 6.0  # standard deviation of grey noise, 0..255
BRUSH_SHARE = (0.15, 0.25)  # pendigits: brush as a share of the 16 px frame (thick marker)


def fill_frame(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The digit's ink (float 0..1) stretched to fill a FRAME x FRAME box, aspect kept."""
    rows = np.flatnonzero(digit.max(axis=1) > 0.1)
    cols = np.flatnonzero(digit.max(axis=0) > 0.1)
    crop = digit[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].astype(np.float32)
    margin = int(rng.integers(0, 2))
    box = FRAME - 2 * margin
    scale = box / max(crop.shape)
    height, width = max(1, round(crop.shape[0] * scale)), max(1, round(crop.shape[1] * scale))
    small = Image.fromarray(crop, mode="F").resize((width, height), Image.Resampling.BILINEAR)
    frame = np.zeros((FRAME, FRAME), dtype=np.float32)
    top, left = (FRAME - height) // 2, (FRAME - width) // 2
    frame[top : top + height, left : left + width] = np.asarray(small)
    return frame / max(float(frame.max()), 1e-6)


def degrade(frame: np.ndarray, rng: np.random.Generator) -> bytes:
    """Enlarge, blur, threshold and add noise to a FRAME x FRAME ink map; dark-on-white PNG."""
    side = int(rng.integers(ENLARGED[0], ENLARGED[1] + 1))
    image = Image.fromarray(np.clip(frame * 255, 0, 255).astype(np.uint8), mode="L")
    image = image.resize((side, side), Image.Resampling.BILINEAR)
    image = image.filter(ImageFilter.GaussianBlur(float(rng.uniform(*BLUR_RADIUS))))
    ink = np.asarray(image, dtype=np.float32) / 255.0
    binary = (ink >= rng.uniform(*THRESHOLD)).astype(np.float32)
    # A scanner's edge is soft by a pixel or so even after binarisation.
    soft = Image.fromarray((binary * 255).astype(np.uint8), mode="L").filter(
        ImageFilter.GaussianBlur(0.8)
    )
    paper = 255.0 - np.asarray(soft, dtype=np.float32) + rng.normal(0, NOISE, (side, side))
    buffer = io.BytesIO()
    Image.fromarray(np.clip(paper, 0, 255).astype(np.uint8), mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


def scan_png(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    """A simulated scan of an MNIST digit (28x28 uint8, white on black) as PNG bytes."""
    return degrade(fill_frame(np.asarray(digit, dtype=np.float32) / 255.0, rng), rng)


def scan_png_from_strokes(strokes: Sequence[np.ndarray], rng: np.random.Generator) -> bytes:
    """A simulated scan of a pen trajectory written with a thick marker in a 16 px frame."""
    supersample = 4
    side = FRAME * supersample
    brush = float(rng.uniform(*BRUSH_SHARE)) * side
    style = CanvasStyle(side, brush, 1.0, (0.5, 0.5), (0, 0, 0), None)
    coverage = stroke_coverage(place_on_pad(strokes, style), side, brush)
    big = np.asarray(coverage, dtype=np.float32) / 255.0
    frame = big.reshape(FRAME, supersample, FRAME, supersample).mean(axis=(1, 3))
    return degrade(frame, rng)


def scan_training_data(
    images: np.ndarray,
    labels: np.ndarray,
    pen_digits: Sequence[PenDigit],
    share: float,
    seed: int,
) -> tuple[np.ndarray, np.ndarray, str]:
    """Scanned copies of a `share` of the MNIST training digits and of every pen digit given,
    through the server's image path, with the card's note: training data for scans."""
    rng = np.random.default_rng([seed, 16])
    chosen = rng.choice(len(images), size=round(share * len(images)), replace=False)
    pngs = [scan_png(images[i], np.random.default_rng([seed, 17, int(i)])) for i in chosen]
    pngs += [
        scan_png_from_strokes(digit.strokes, np.random.default_rng([seed, 18, index]))
        for index, digit in enumerate(pen_digits)
    ]
    extra_labels = np.concatenate(
        [labels[chosen], np.array([d.label for d in pen_digits], dtype=labels.dtype)]
    )
    note = (
        f"simulated low-resolution scans (training.scans) of {len(chosen)} MNIST training digits "
        f"({share:.0%}) and {len(pen_digits)} pendigits training-writer digits, read through "
        "the server's image path"
    )
    return image_path_inputs(pngs), extra_labels.astype(np.int64), note
