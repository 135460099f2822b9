"""Draw a pen trajectory as the PNG a browser canvas would send, to test the image path.

A drawing sent as an image arrives as the whole pad: any pad size, any brush, the digit small or
large and anywhere on it, dark ink on white or any ink on a transparent background. This module
replays a trajectory that way, with a canvas's round caps and joins (lineCap = lineJoin =
"round") and its area-coverage anti-aliasing, so the evaluation can feed real pen data through
the server's image path exactly as a browser would.

Usage: `canvas_png(strokes, random_style(numpy.random.default_rng(seed)))`.
"""

import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from app.preprocessing import image_bytes_to_mnist

PAD_SIDES = (280, 400)  # square pad side in CSS pixels, like a phone or a desktop page
BRUSH_SHARE = (0.03, 0.08)  # line width as a share of the pad side: a fine pen to a felt tip
HEIGHT_SHARE = (0.4, 0.9)  # height of the ink as a share of the pad: a small digit to a full one
TRANSPARENT_SHARE = 0.5  # share of canvases exported without a background fill
SUPERSAMPLE = 4  # draw 4x larger, then average 4x4 blocks: pixel-coverage anti-aliasing
MARGIN = 2.0  # pixels kept free at the pad's edge, so even anti-aliasing stays off it
WHITE = (255, 255, 255)


@dataclass(frozen=True)
class CanvasStyle:
    """How one digit is drawn on the pad (pixel units of the pad)."""

    side: int  # pad width and height
    brush: float  # line width
    height_share: float  # ink height (pen included) over the pad side
    offset: tuple[float, float]  # where the ink sits in the free space, 0..1 left and top
    ink: tuple[int, int, int]
    background: tuple[int, int, int] | None  # None: transparent, as an unfilled canvas exports

    def describe(self) -> str:
        """One line for a report or a test failure."""
        backdrop = "transparent" if self.background is None else f"on {self.background}"
        return (
            f"{self.side}px pad, brush {self.brush:.1f}px, height {self.height_share:.0%}, "
            f"ink {self.ink} {backdrop}"
        )


def random_colour(rng: np.random.Generator, light: bool) -> tuple[int, int, int]:
    """A dark (each channel 0-90) or light (165-255) colour."""
    low, high = (165, 256) if light else (0, 91)
    return tuple(int(value) for value in rng.integers(low, high, size=3))


# What random_style draws from, for cards and reports.
RANDOM_STYLES = (
    f"{PAD_SIDES[0]}-{PAD_SIDES[1]} px square canvas, round-cap brush "
    f"{BRUSH_SHARE[0]:.0%}-{BRUSH_SHARE[1]:.0%} of the pad, digit height "
    f"{HEIGHT_SHARE[0]:.0%}-{HEIGHT_SHARE[1]:.0%} of the pad at a random position, "
    f"{1 - TRANSPARENT_SHARE:.0%} dark ink on white, {TRANSPARENT_SHARE:.0%} dark or light ink "
    "on transparent"
)


def random_style(rng: np.random.Generator) -> CanvasStyle:
    """A random pad, brush, size and position; on transparency the ink may be light or dark."""
    side = int(rng.integers(PAD_SIDES[0], PAD_SIDES[1] + 1))
    transparent = bool(rng.random() < TRANSPARENT_SHARE)
    light_ink = transparent and bool(rng.random() < 0.5)
    return CanvasStyle(
        side=side,
        brush=float(rng.uniform(*BRUSH_SHARE)) * side,
        height_share=float(rng.uniform(*HEIGHT_SHARE)),
        offset=(float(rng.random()), float(rng.random())),
        ink=random_colour(rng, light_ink),
        background=None if transparent else WHITE,
    )


def place_on_pad(strokes: Sequence[np.ndarray], style: CanvasStyle) -> list[np.ndarray]:
    """Scale and move the trajectory (any units, y down) so its ink fits the style on the pad.

    The ink, pen included, is height_share of the pad tall unless that would make it wider than
    the pad; then it is as wide as the pad allows. Returns pen-centre points in pad pixels.
    """
    every_point = np.concatenate([np.asarray(s, dtype=np.float64).reshape(-1, 2) for s in strokes])
    low = every_point.min(axis=0)
    width, height = every_point.max(axis=0) - low
    room = style.side - 2 * MARGIN - style.brush  # the most the pen centre can travel
    wanted_height = style.height_share * style.side - style.brush
    scale = min(
        wanted_height / height if height > 0 else np.inf,
        room / width if width > 0 else np.inf,
    )
    scale = 0.0 if not np.isfinite(scale) else max(scale, 0.0)
    free = room - np.array([width, height]) * scale
    start = MARGIN + style.brush / 2 + free * np.asarray(style.offset)
    return [start + (np.asarray(s, dtype=np.float64).reshape(-1, 2) - low) * scale for s in strokes]


def stroke_coverage(
    points: Sequence[np.ndarray], side: int, brush: float, height: int | None = None
) -> Image.Image:
    """Ink coverage (mode L, 0..255) of round-capped, round-joined polylines on a side x side pad
    (side x height for a wide pad, as the page's number mode has).

    A round-cap, round-join stroke is every point within brush/2 of the path: a disc at each
    vertex plus a rectangle along each segment. Drawn at SUPERSAMPLE scale and box-averaged,
    which is the coverage a browser's anti-aliasing computes.
    """
    height = side if height is None else height
    big = Image.new("L", (side * SUPERSAMPLE, height * SUPERSAMPLE), 0)
    pen = ImageDraw.Draw(big)
    radius = brush * SUPERSAMPLE / 2
    for stroke in points:
        path = stroke * SUPERSAMPLE
        for x, y in path:
            pen.ellipse((x - radius, y - radius, x + radius, y + radius), fill=255)
        for start, end in zip(path[:-1], path[1:], strict=True):
            length = float(np.hypot(*(end - start)))
            if length == 0:
                continue
            normal = np.array([start[1] - end[1], end[0] - start[0]]) * radius / length
            corners = [start + normal, end + normal, end - normal, start - normal]
            pen.polygon([tuple(corner) for corner in corners], fill=255)
    return big.resize((side, height), Image.Resampling.BOX)


def render_canvas(strokes: Sequence[np.ndarray], style: CanvasStyle) -> Image.Image:
    """The pad as an RGBA image, as canvas.toDataURL() would export it."""
    coverage = stroke_coverage(place_on_pad(strokes, style), style.side, style.brush)
    size = (style.side, style.side)
    ink = Image.new("RGBA", size, (*style.ink, 255))
    if style.background is not None:
        return Image.composite(ink, Image.new("RGBA", size, (*style.background, 255)), coverage)
    # An unfilled canvas exports unpremultiplied colour: the ink's own colour wherever anything
    # is drawn, alpha = coverage, and (0, 0, 0, 0) where nothing is.
    ink.putalpha(coverage)
    drawn = coverage.point(lambda value: 255 if value else 0)
    return Image.composite(ink, Image.new("RGBA", size, (0, 0, 0, 0)), drawn)


def canvas_png(strokes: Sequence[np.ndarray], style: CanvasStyle) -> bytes:
    """PNG bytes of the rendered pad."""
    buffer = io.BytesIO()
    render_canvas(strokes, style).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def image_path_inputs(pngs: Sequence[bytes]) -> np.ndarray:
    """The server's image-path inputs (N, 28, 28) uint8 0..255 for PNGs (canvases, scans)."""
    return np.stack([np.rint(image_bytes_to_mnist(png) * 255).astype(np.uint8) for png in pngs])
