"""Request bodies a real drawing page sends: one hand-drawn 5 as a canvas PNG and as strokes.

The digit is a real pen trajectory, record 9 of UCI pendigits (pendigits-orig.tra, writer 1;
Alimoglu and Alpaydin, 1998, CC BY 4.0), embedded so the benchmark needs no data files. It is
drawn on a 280x280 canvas with a round 14 px brush, anti-aliased, and encoded as the RGBA PNG
data URL that `canvas.toDataURL()` returns; the strokes body carries the same points in canvas
pixels, as the page's pointer handlers record them.
"""

import base64
import io
import json

import numpy as np
from PIL import Image, ImageDraw

DIGIT_LABEL = 5
# Tablet units, y pointing down: the body of the 5, then its top bar.
PENDIGITS_FIVE: tuple[tuple[tuple[int, int], ...], ...] = (
    ((177, 29), (178, 25), (178, 23), (178, 23), (178, 26), (177, 30), (176, 39), (175, 49),
     (173, 62), (170, 76), (168, 90), (167, 103), (167, 115), (169, 123), (173, 130), (179, 135),
     (187, 136), (195, 135), (206, 134), (216, 132), (228, 131), (240, 132), (251, 136),
     (260, 143), (270, 152), (277, 164), (283, 177), (286, 194), (287, 210), (285, 225),
     (281, 239), (274, 250), (264, 259), (252, 265), (236, 268), (221, 267), (205, 265),
     (189, 260), (176, 254), (163, 247)),
    ((152, 67), (153, 62), (157, 52), (163, 44), (171, 37), (181, 29), (195, 23), (210, 16),
     (229, 11), (252, 5), (275, 2), (301, 0), (326, 0)),
)  # fmt: skip

CANVAS_SIDE = 280  # CSS pixels of the drawing pad
BRUSH_WIDTH = 14  # CSS pixels, round caps and joins (lineCap = lineJoin = "round")
DRAWING_SIDE = 200  # the digit fills about 70 % of the pad, as people draw it
SUPERSAMPLE = 4  # drawn 4x larger, then box-filtered down: the canvas anti-aliases its lines

Strokes = list[list[list[float]]]


def canvas_strokes() -> Strokes:
    """The digit in canvas pixels, centred on the pad, with the page's 0.1 px precision."""
    arrays = [np.asarray(stroke, dtype=np.float64) for stroke in PENDIGITS_FIVE]
    every_point = np.concatenate(arrays)
    low, high = every_point.min(axis=0), every_point.max(axis=0)
    scale = DRAWING_SIDE / float((high - low).max())
    offset = (CANVAS_SIDE - (high - low) * scale) / 2
    return [np.round((points - low) * scale + offset, 1).tolist() for points in arrays]


def render_canvas_png(strokes: Strokes) -> bytes:
    """Black strokes on a white pad, encoded as the browser's RGBA PNG."""
    side = CANVAS_SIDE * SUPERSAMPLE
    radius = BRUSH_WIDTH * SUPERSAMPLE / 2
    background = (255, 255, 255, 255)
    ink = (0, 0, 0, 255)
    canvas = Image.new("RGBA", (side, side), background)
    pen = ImageDraw.Draw(canvas)
    for stroke in strokes:
        xy = [(x * SUPERSAMPLE, y * SUPERSAMPLE) for x, y in stroke]
        if len(xy) > 1:
            pen.line(xy, fill=ink, width=round(2 * radius), joint="curve")
        for x, y in (xy[0], xy[-1]):  # round caps
            pen.ellipse((x - radius, y - radius, x + radius, y + radius), fill=ink)
    canvas = canvas.resize((CANVAS_SIDE, CANVAS_SIDE), Image.Resampling.BOX)
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG")
    return buffer.getvalue()


def png_request_body() -> bytes:
    """JSON body {"image": "data:image/png;base64,..."} as the page posts it."""
    png = render_canvas_png(canvas_strokes())
    data_url = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    return json.dumps({"image": data_url}).encode()


def strokes_request_body() -> bytes:
    """JSON body {"strokes": [[[x, y], ...], ...]} in canvas pixels."""
    return json.dumps({"strokes": canvas_strokes()}).encode()


def request_bodies() -> dict[str, bytes]:
    """Every benchmarked input, by the name used in the results table."""
    return {"png": png_request_body(), "strokes": strokes_request_body()}
