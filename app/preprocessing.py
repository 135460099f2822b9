"""Turn drawings into the 28x28 input an MNIST model expects: the single source of truth.

MNIST was built this way (LeCun, Bottou, Bengio and Haffner, "Gradient-based learning applied to
document recognition", Proc. IEEE 86(11), 1998; http://yann.lecun.com/exdb/mnist/): each NIST
digit was size-normalised to fit a 20x20 box keeping its aspect ratio, anti-aliased, and placed in
a 28x28 field so that its centre of mass sits at the centre. A model trained on MNIST only reads
drawings prepared the same way; resizing a whole canvas to 28x28 gives it tiny, off-centre digits.

Everything here is NumPy and Pillow (no TensorFlow) so the server, the evaluation and the tests
share it. Output: float32 (28, 28) in [0, 1], white ink on black.
"""

import base64
import io
import math
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

from app import png_decode
from app.errors import (
    EmptyInput,
    ImageTooLarge,
    InvalidPixels,
    InvalidStrokes,
    TooManyPoints,
    UndecodableImage,
    UnsupportedImage,
)

# Bump when the output for the same input changes; model cards record the version they expect.
PREPROCESSING_VERSION = "2"

MNIST_SIDE = 28
DIGIT_BOX = 20  # the longer side of the digit's bounding box, as in MNIST
# MNIST's centre of mass, measured over its training set: row 14.00, column 14.01 (pixel indices).
MNIST_CENTRE = 14.0
# Stroke width in 20-box pixels; MNIST strokes measure 1.4-2.8 px (median 2.0) there.
STROKE_WIDTH = 2.2
SUPERSAMPLE = 4  # strokes are drawn 4x larger, then box-filtered down: anti-aliasing
# Ink fainter than this share of the strongest ink is noise (JPEG halos, paper texture).
INK_THRESHOLD = 0.2
# A picture whose strongest ink differs from its background by less than this (0..1) is blank.
MIN_CONTRAST = 0.08
# Working resolution (longer side) for stroke-width normalisation of images.
WORK_SIDE = 80
# The stroke width normalisation aims at, as stroke_width() measures it at WORK_SIDE. Counting
# edges on the pixel grid over-counts a curved outline by 4/pi on average, so the estimator reads
# a stroke pi/4 thinner than it is: aim pi/4 lower to get STROKE_WIDTH itself.
WORK_STROKE_WIDTH = STROKE_WIDTH * WORK_SIDE / DIGIT_BOX * math.pi / 4

# A stroke is a stray mark (an accidental tap, a slip of the pen) when its box is at most this
# share of the drawing's longer side and it lies further than STRAY_MIN_GAP from every other
# stroke; kept, it would shrink and shift the digit. In UCI pendigits these thresholds drop
# exactly the 4 visible specks (dots beside a 0, a 5 and two 1s) and no part of any digit.
STRAY_MAX_SIZE = 0.08
STRAY_MIN_GAP = 0.15

# A border whose greys spread over more than this (5th to 95th percentile) is not one even
# background, e.g. a photo of paper under uneven light; a canvas export spreads over 0.
EVEN_BACKGROUND_SPREAD = 12
BACKGROUND_SIDE = 64  # resolution (longer side) at which an uneven background is estimated
BACKGROUND_WINDOW = 1 / 8  # share of the image over which the background may be taken as flat

ACCEPTED_FORMATS = {"PNG", "JPEG", "WEBP", "GIF", "BMP"}
# How Pillow opens 16-bit grayscale PNGs.
SIXTEEN_BIT_MODES = {"I;16", "I;16B", "I;16L", "I"}
# PNG modes (what a canvas exports) that app.png_decode decodes faster than Pillow; it leaves
# out a transparent colour (tRNS), so those go to Pillow.
FAST_PNG_MODES = {"RGB", "RGBA"}

Strokes = Sequence[Sequence[Sequence[float]]]


def decode_image(data: bytes, max_pixels: int = 4096 * 4096, max_side: int = 4096) -> Image.Image:
    """Open image bytes safely: check format and size before decoding any pixels."""
    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as error:
        raise ImageTooLarge(f"The image is too large to decode safely ({error}).") from error
    except Exception as error:
        raise UndecodableImage(
            "The image could not be decoded. Send a PNG, JPEG, WebP, GIF or BMP file, "
            "or its base64 text."
        ) from error
    if image.format not in ACCEPTED_FORMATS:
        raise UnsupportedImage(
            f"Image format {image.format} is not accepted. Send PNG, JPEG, WebP, GIF or BMP."
        )
    width, height = image.size
    if width * height > max_pixels or max(width, height) > max_side:
        raise ImageTooLarge(
            f"The image is {width}x{height} pixels; the limit is {max_side} pixels a side "
            f"and {max_pixels} pixels in all. Scale it down and send it again."
        )
    try:
        fast = image.format == "PNG" and image.mode in FAST_PNG_MODES
        if fast and "transparency" not in image.info:
            return decode_png_fast(data, image.size)
        image.seek(0)  # first frame of an animated GIF or WebP
        image.load()
    except Exception as error:
        raise UndecodableImage(
            "The image data is truncated or corrupt. Send the complete file."
        ) from error
    return image


def decode_png_fast(data: bytes, size: tuple[int, int]) -> Image.Image:
    """An RGB(A) PNG, what canvases export, decoded into an RGBA image.

    app.png_decode does it in a quarter of Pillow's time, and decoding is the largest cost of an
    image request. Pillow has already checked the header, format and size.
    """
    pixels = png_decode.decode_rgba(data, size)
    if pixels.shape != (size[1], size[0], 4):
        raise ValueError(f"decoded {pixels.shape}, header says {size}")
    return Image.frombuffer("RGBA", size, pixels, "raw", "RGBA", 0, 1)


def sixteen_to_eight_bits(image: Image.Image) -> Image.Image:
    """A 16-bit grayscale image as 8-bit "L" with its greys kept (convert("L") clips at 255)."""
    levels = np.clip(np.asarray(image, dtype=np.int64), 0, 65535)
    return Image.fromarray(((levels * 255 + 32767) // 65535).astype(np.uint8), mode="L")


def image_to_ink(image: Image.Image) -> np.ndarray:
    """Ink map as uint8 0..255 (255 = ink), whatever the mode, transparency or polarity.

    Stays in 8 bits: this runs on every pixel of the upload, so it must be cheap; floats come
    later, on the cropped digit only.
    """
    if image.mode in SIXTEEN_BIT_MODES:
        image = sixteen_to_eight_bits(image)
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        if image.mode not in ("RGBA", "LA"):
            image = image.convert("RGBA")
        alpha = np.asarray(image.getchannel("A"))
        low_alpha = int(alpha.min())
        if low_alpha < 128:
            # Transparent background: what is opaque is the drawing, whatever its colour.
            # (Compositing onto a fixed colour would lose white ink on a white backdrop.)
            return alpha
        gray = np.asarray(image.convert("L"))
        if low_alpha < 255:  # nearly opaque everywhere: composite onto white
            weight = alpha.astype(np.uint32)
            gray = ((gray * weight + 255 * (255 - weight) + 127) // 255).astype(np.uint8)
    else:
        gray = np.asarray(image.convert("L"))
    # The border's greys, sorted once: their 5th percentile, median and 95th percentile.
    border = np.sort(np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]]))
    tail = len(border) // 20
    low, background, high = (np.int16(border[i]) for i in (tail, len(border) // 2, -1 - tail))
    if high - low > EVEN_BACKGROUND_SPREAD:
        return ink_on_uneven_background(gray, light=background > 127)
    # A light background means dark ink, as on paper: flip it to white ink on black.
    ink = background - gray.astype(np.int16) if background > 127 else gray - background
    return np.clip(ink, 0, 255).astype(np.uint8)


def ink_on_uneven_background(gray: np.ndarray, light: bool) -> np.ndarray:
    """Ink map of a photo, say, of paper under uneven light, where one background level would
    turn shadows into ink.

    The background under each pixel is estimated at BACKGROUND_SIDE resolution, with the ink
    wiped out, and scaled back up. Light multiplies what paper reflects, so dark ink is measured
    as the share of light it takes away.
    """
    height, width = fit_box(*gray.shape, BACKGROUND_SIDE)
    small = np.asarray(
        Image.fromarray(gray).resize((width, height), Image.Resampling.BOX), dtype=np.float32
    )
    radius = max(1, round(BACKGROUND_SIDE * BACKGROUND_WINDOW / 2))
    # A morphological closing (opening, under light ink): wipes out strokes thinner than the
    # window, yet leaves a smooth slope of light where it is instead of lifting it.
    wipe, restore = (np.maximum, np.minimum) if light else (np.minimum, np.maximum)
    surface = square_filter(square_filter(small, radius, wipe, edge=True), radius, restore, True)
    resized = Image.fromarray(surface, mode="F").resize(gray.shape[::-1], Image.Resampling.BILINEAR)
    background = np.asarray(resized)
    ink = 255.0 * (background - gray) / np.maximum(background, 1.0) if light else gray - background
    ink -= np.median(ink)  # the haze left by grain and noise, which most of a photo is
    return np.clip(np.rint(ink), 0, 255).astype(np.uint8)


def ink_bounding_box(ink: np.ndarray) -> tuple[int, int, int, int]:
    """(top, left, bottom, right), exclusive, of the ink; EmptyInput when there is none.

    Full ink is 255 in a uint8 map and 1.0 in a float one. A speck set apart from the rest (see
    STRAY_MAX_SIZE) does not stretch the box.
    """
    full_scale = 255.0 if ink.dtype == np.uint8 else 1.0
    peak = float(ink.max()) if ink.size else 0.0
    if peak < MIN_CONTRAST * full_scale:
        raise EmptyInput("No ink found: draw a digit, then send the drawing.")
    mask = ink >= INK_THRESHOLD * peak
    top, bottom = main_span(mask.any(axis=1))
    left, right = main_span(mask[top:bottom].any(axis=0))
    return top, left, bottom, right


def main_span(filled: np.ndarray) -> tuple[int, int]:
    """Start and end (exclusive) of the ink along one axis, without a small part at either end
    that an empty gap sets apart from the rest (a stray tap or speck on a canvas or photo)."""
    where = np.flatnonzero(filled)
    start, end = int(where[0]), int(where[-1]) + 1
    extent = end - start
    if extent == len(where):  # no gap at all: the usual case, settled without np.diff
        return start, end
    gaps = np.flatnonzero(np.diff(where) - 1 > STRAY_MIN_GAP * extent)
    if len(gaps) == 0:
        return start, end
    first_part_end, last_part_start = int(where[gaps[0]]) + 1, int(where[gaps[-1] + 1])
    if first_part_end - start <= STRAY_MAX_SIZE * extent:
        start = int(where[gaps[0] + 1])
    if end - last_part_start <= STRAY_MAX_SIZE * extent and last_part_start > start:
        end = int(where[gaps[-1]]) + 1
    return start, end


def resize(array: np.ndarray, height: int, width: int) -> np.ndarray:
    """Anti-aliased resize of a float image: box filter down (area average), bilinear up."""
    shrinking = height <= array.shape[0] and width <= array.shape[1]
    method = Image.Resampling.BOX if shrinking else Image.Resampling.BILINEAR
    image = Image.fromarray(array.astype(np.float32), mode="F")
    return np.array(image.resize((width, height), method), dtype=np.float32)


def nearest_resize(values: np.ndarray, height: int, width: int) -> np.ndarray:
    """A map (labels, masks, scores) at another size: each new pixel takes the value of the old
    pixel it falls in, nothing blended."""
    rows = np.minimum(np.arange(height) * values.shape[0] // height, values.shape[0] - 1)
    columns = np.minimum(np.arange(width) * values.shape[1] // width, values.shape[1] - 1)
    return values[rows][:, columns]


def fit_box(height: int, width: int, box: int) -> tuple[int, int]:
    """Size that fits `box` on the longer side and keeps the aspect ratio (at least 1 px)."""
    scale = box / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def stroke_width(ink: np.ndarray) -> float:
    """Estimated stroke width in pixels: area over half the perimeter of the thresholded ink."""
    mask = ink >= 0.5 * float(ink.max())
    area = int(mask.sum())
    edges = int((mask[1:] != mask[:-1]).sum() + (mask[:, 1:] != mask[:, :-1]).sum())
    edges += int(mask[0].sum() + mask[-1].sum() + mask[:, 0].sum() + mask[:, -1].sum())
    return 2.0 * area / max(edges, 1)


def with_margin(image: np.ndarray, margin: int) -> np.ndarray:
    """The image inside a zero border `margin` pixels wide (np.pad costs 10x more here)."""
    height, width = image.shape
    framed = np.zeros((height + 2 * margin, width + 2 * margin), dtype=image.dtype)
    framed[margin : margin + height, margin : margin + width] = image
    return framed


def square_filter(
    image: np.ndarray, radius: int, reduce: np.ufunc, edge: bool = False
) -> np.ndarray:
    """Max, min or sum (np.maximum, np.minimum, np.add) over a (2r+1)-square: separable.

    Outside the image counts as zero, or with `edge` as the nearest edge pixel.
    """
    height, width = image.shape
    padded = np.pad(image, radius, mode="edge") if edge else with_margin(image, radius)
    span = 2 * radius + 1
    across = reduce.reduce([padded[:, i : i + width] for i in range(span)])
    return reduce.reduce([across[i : i + height] for i in range(span)])


def normalise_stroke_width(crop: np.ndarray) -> np.ndarray:
    """Thicken or thin the ink so that, at 20x20, strokes are about as wide as MNIST's.

    People draw with brushes of any size on pads of any size; after scaling to 20 px a thin brush
    on a large digit becomes a faint hairline the model has rarely seen. Works at WORK_SIDE
    resolution so the filters stay small whatever the image size. Thickening grows the canvas
    so that strokes on the edge of the crop widen outwards too.
    """
    height, width = fit_box(*crop.shape, WORK_SIDE)
    work = resize(crop, height, width)
    work /= max(float(work.max()), 1e-6)
    measured = stroke_width(work)
    steps = round((WORK_STROKE_WIDTH - measured) / 2.0)  # a 3x3 filter changes width by 2 px
    steps = max(-3, min(steps, 6))
    if steps > 0:
        return square_filter(with_margin(work, steps), steps, np.maximum)
    if steps < 0:
        thinned = square_filter(work, -steps, np.minimum)
        if float(thinned.max()) >= 0.5:  # never erase the digit itself
            return thinned
    return work


def centre_by_mass(digit: np.ndarray) -> np.ndarray:
    """Place a digit of at most 20x20 in a 28x28 field with its centre of mass at the centre."""
    total = float(digit.sum())
    rows, cols = np.indices(digit.shape)
    centre_row = float((rows * digit).sum()) / total
    centre_col = float((cols * digit).sum()) / total
    height, width = digit.shape
    top = min(max(round(MNIST_CENTRE - centre_row), 0), MNIST_SIDE - height)
    left = min(max(round(MNIST_CENTRE - centre_col), 0), MNIST_SIDE - width)
    field = np.zeros((MNIST_SIDE, MNIST_SIDE), dtype=np.float32)
    field[top : top + height, left : left + width] = digit
    return field


def crop_to_ink(ink: np.ndarray) -> np.ndarray:
    """The ink's bounding box as float32 scaled so that its strongest ink is 1."""
    top, left, bottom, right = ink_bounding_box(ink)
    crop = ink[top:bottom, left:right].astype(np.float32)
    crop /= float(crop.max())
    return crop


def ink_to_mnist(ink: np.ndarray) -> np.ndarray:
    """Crop to the ink, normalise the stroke, fit to 20x20, centre by mass; values in [0, 1]."""
    crop = normalise_stroke_width(crop_to_ink(ink))
    crop = crop_to_ink(crop)  # thinning may have left empty margins
    height, width = fit_box(*crop.shape, DIGIT_BOX)
    digit = np.clip(resize(crop, height, width), 0.0, None)
    digit /= max(float(digit.max()), 1e-6)
    return centre_by_mass(digit)


def image_bytes_to_mnist(
    data: bytes, max_pixels: int = 4096 * 4096, max_side: int = 4096
) -> np.ndarray:
    """Encoded image (any accepted format, size, polarity or transparency) to MNIST input."""
    return ink_to_mnist(image_to_ink(decode_image(data, max_pixels, max_side)))


def decode_base64_image(text: str) -> bytes:
    """Bytes of a data URL (data:image/png;base64,...) or of bare base64 text."""
    if text.startswith("data:"):
        header, _, text = text.partition(",")
        if ";base64" not in header:
            raise UndecodableImage(
                "The data URL must be base64-encoded (data:image/png;base64,...)."
            )
    try:
        return base64.b64decode(text, validate=True)
    except ValueError as error:
        raise UndecodableImage(
            "The image text is not valid base64. Send a data URL or base64 of the file's bytes."
        ) from error


def validate_strokes(strokes: object, max_strokes: int = 100, max_points: int = 10_000) -> list:
    """Check shape, count and finiteness; return the strokes as float arrays of shape (n, 2)."""
    if not isinstance(strokes, list | tuple):
        raise InvalidStrokes("strokes must be a list of strokes, each a list of [x, y] points.")
    if len(strokes) > max_strokes:
        raise TooManyPoints(
            f"The drawing has {len(strokes)} strokes; the limit is {max_strokes}. "
            "Clear the pad and draw one digit."
        )
    arrays = []
    for index, stroke in enumerate(strokes):
        try:
            points = np.asarray(stroke, dtype=np.float64).reshape(-1, 2)
            if len(stroke) and points.shape[0] != len(stroke):
                raise ValueError
        except (TypeError, ValueError) as error:
            raise InvalidStrokes(f"Stroke {index} is not a list of [x, y] number pairs.") from error
        arrays.append(points)
    total = sum(len(points) for points in arrays)
    if total > max_points:
        raise TooManyPoints(
            f"The drawing has {total} points; the limit is {max_points}. "
            "Send fewer points (e.g. one per few pixels of movement)."
        )
    if any(not np.isfinite(points).all() for points in arrays):
        raise InvalidStrokes("Stroke coordinates must be finite numbers (no NaN or infinity).")
    return [points for points in arrays if len(points)]


def drop_stray_marks(strokes: list[np.ndarray]) -> list[np.ndarray]:
    """The strokes without tiny ones that lie apart from the rest (see STRAY_MAX_SIZE)."""
    if len(strokes) < 2:
        return strokes
    every_point = np.concatenate(strokes)
    extent = float((every_point.max(axis=0) - every_point.min(axis=0)).max())
    kept = []
    for index, points in enumerate(strokes):
        low, high = points.min(axis=0), points.max(axis=0)
        if float((high - low).max()) > STRAY_MAX_SIZE * extent:
            kept.append(points)
            continue
        # Distance from the other strokes' points to this tiny stroke's box: linear in the
        # number of points, where point-to-point distances could take gigabytes.
        others = np.concatenate(strokes[:index] + strokes[index + 1 :])
        outside = np.maximum(np.maximum(low - others, others - high), 0.0)
        if float(np.hypot(outside[:, 0], outside[:, 1]).min()) <= STRAY_MIN_GAP * extent:
            kept.append(points)
    return kept or strokes


def strokes_to_mnist(
    strokes: Strokes, max_strokes: int = 100, max_points: int = 10_000
) -> np.ndarray:
    """Render strokes straight at MNIST scale with a fixed pen, whatever brush or pad drew them.

    Coordinates may be in any unit. The longer side of the ink's box (pen included) becomes 20 px
    and the pen is STROKE_WIDTH wide there, with round caps and joins; a single point is a dot.
    Stray specks apart from the digit are left out (drop_stray_marks).
    """
    arrays = validate_strokes(strokes, max_strokes, max_points)
    if not arrays:
        raise EmptyInput("The drawing has no points: draw a digit, then send the strokes.")
    arrays = drop_stray_marks(arrays)
    every_point = np.concatenate(arrays)
    low = every_point.min(axis=0)
    extent = float((every_point.max(axis=0) - low).max())
    scale = (DIGIT_BOX - STROKE_WIDTH) / extent if extent > 0 else 0.0
    size = DIGIT_BOX * SUPERSAMPLE
    radius = STROKE_WIDTH * SUPERSAMPLE / 2
    canvas = Image.new("L", (size, size), 0)
    pen = ImageDraw.Draw(canvas)
    for points in arrays:
        # Points run from the pen's centre at radius to size - radius (supersampled pixels).
        xy = [
            (
                radius + (x - low[0]) * scale * SUPERSAMPLE,
                radius + (y - low[1]) * scale * SUPERSAMPLE,
            )
            for x, y in points
        ]
        if len(xy) > 1:
            pen.line(xy, fill=255, width=round(2 * radius))
        # A disc on every point makes the caps and joins round (Pillow's joint="curve" does the
        # joins too, but costs five times the whole drawing). Pillow's box includes both edge
        # pixels, hence the half pixel in.
        disc = radius - 0.5
        for x, y in xy:
            pen.ellipse((x - disc, y - disc, x + disc, y + disc), fill=255)
    ink = crop_to_ink(np.asarray(canvas))
    height = math.ceil(ink.shape[0] / SUPERSAMPLE) * SUPERSAMPLE
    width = math.ceil(ink.shape[1] / SUPERSAMPLE) * SUPERSAMPLE
    padded = np.zeros((height, width), dtype=np.float32)
    padded[: ink.shape[0], : ink.shape[1]] = ink
    digit = padded.reshape(height // SUPERSAMPLE, SUPERSAMPLE, width // SUPERSAMPLE, SUPERSAMPLE)
    return centre_by_mass(digit.mean(axis=(1, 3)))


def pixels_to_mnist(pixels: object) -> np.ndarray:
    """28x28 numbers 0..255, white ink on black, taken as the model input (no recentring)."""
    try:
        array = np.asarray(pixels, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise InvalidPixels(
            "pixels must be 28 rows of 28 numbers from 0 to 255 (white ink on black)."
        ) from error
    if array.shape != (MNIST_SIDE, MNIST_SIDE):
        raise InvalidPixels(
            f"pixels has shape {list(array.shape)}; it must be 28 rows of 28 numbers (28x28)."
        )
    if not np.isfinite(array).all():
        raise InvalidPixels("pixels must be finite numbers (no NaN or infinity).")
    if array.min() < 0 or array.max() > 255:
        raise InvalidPixels("pixels must be between 0 and 255 (white ink on black, as in MNIST).")
    if array.max() < MIN_CONTRAST * 255:
        raise EmptyInput("The pixels hold no ink: every value is (nearly) zero.")
    return (array / 255.0).astype(np.float32)


def to_png_bytes(digit: np.ndarray) -> bytes:
    """The 28x28 model input as an 8-bit grayscale PNG (what the model saw)."""
    array = np.clip(np.rint(digit * 255.0), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(array, mode="L").save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def to_png_data_url(digit: np.ndarray) -> str:
    """PNG data URL of the model input, for the page's magnified preview."""
    return "data:image/png;base64," + base64.b64encode(to_png_bytes(digit)).decode("ascii")
