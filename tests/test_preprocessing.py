"""The preprocessing module prepares drawings the way MNIST was prepared."""

import base64
import io

import numpy as np
import pytest
from PIL import Image

from app import preprocessing
from app.errors import (
    EmptyInput,
    ImageTooLarge,
    InvalidPixels,
    InvalidStrokes,
    TooManyPoints,
    UndecodableImage,
    UnsupportedImage,
)
from tests.helpers import encode

SEVEN = [[[10.0, 10.0], [90.0, 10.0], [40.0, 110.0]]]
# Digits move by whole pixels, so the centre of mass lands within half a pixel of the centre
# (exactly half on a tie, plus float32 rounding).
CENTRE_TOLERANCE = 0.5 + 1e-4


def mnist_on_canvas(digit: np.ndarray, scale: int, rng: np.random.Generator, transparent: bool):
    """An MNIST digit enlarged `scale` times, off-centre on a larger canvas, as a PNG."""
    side = 28 * scale
    big = np.asarray(Image.fromarray(digit).resize((side, side), Image.Resampling.BILINEAR))
    canvas_side = side + int(rng.integers(20, 300))
    top, left = rng.integers(0, canvas_side - side, size=2)
    ink = np.zeros((canvas_side, canvas_side), dtype=np.uint8)
    ink[top : top + side, left : left + side] = big
    if transparent:
        rgba = np.zeros((canvas_side, canvas_side, 4), dtype=np.uint8)
        rgba[..., 3] = ink  # black ink, opacity = ink, on a transparent canvas
        return encode(Image.fromarray(rgba, mode="RGBA"))
    return encode(Image.fromarray(255 - ink, mode="L"))  # dark ink on white paper


def centre_of_mass(digit: np.ndarray) -> tuple[float, float]:
    rows, cols = np.indices(digit.shape)
    total = digit.sum()
    return float((rows * digit).sum() / total), float((cols * digit).sum() / total)


def test_enlarged_mnist_digits_on_canvases_come_back_close_to_the_original(mnist_test) -> None:
    images, _ = mnist_test
    rng = np.random.default_rng(7)
    differences = []
    for index, digit in enumerate(images[:120]):
        data = mnist_on_canvas(digit, int(rng.integers(5, 11)), rng, transparent=index % 2 == 0)
        result = preprocessing.image_bytes_to_mnist(data)
        assert result.shape == (28, 28) and result.dtype == np.float32
        assert result.min() >= 0.0 and result.max() <= 1.0
        differences.append(np.abs(result - digit / 255.0).mean())
        row, col = centre_of_mass(result)
        assert abs(row - preprocessing.MNIST_CENTRE) <= CENTRE_TOLERANCE
        assert abs(col - preprocessing.MNIST_CENTRE) <= CENTRE_TOLERANCE
    assert np.mean(differences) < 0.05
    # The largest (0.122) is test digit 25, an unusually bold 0 that stroke normalisation thins
    # towards the typical MNIST pen on purpose.
    assert max(differences) < 0.13


def test_digit_keeps_its_aspect_ratio_and_longer_side_of_twenty_pixels() -> None:
    canvas = np.full((300, 300), 255, dtype=np.uint8)
    canvas[50:250, 120:170] = 0  # a 200 x 50 dark bar: aspect 4:1
    result = preprocessing.image_bytes_to_mnist(encode(Image.fromarray(canvas)))
    rows = np.flatnonzero(result.max(axis=1) > 0.5)
    cols = np.flatnonzero(result.max(axis=0) > 0.5)
    assert rows[-1] - rows[0] + 1 == 20
    assert 4 <= cols[-1] - cols[0] + 1 <= 6


def test_light_ink_on_dark_and_dark_ink_on_light_give_the_same_input() -> None:
    canvas = np.zeros((200, 200), dtype=np.uint8)
    canvas[40:160, 90:110] = 255
    light_on_dark = preprocessing.image_bytes_to_mnist(encode(Image.fromarray(canvas)))
    dark_on_light = preprocessing.image_bytes_to_mnist(encode(Image.fromarray(255 - canvas)))
    np.testing.assert_allclose(light_on_dark, dark_on_light, atol=1e-6)


@pytest.mark.parametrize("image_format", ["PNG", "JPEG", "WEBP", "GIF", "BMP"])
def test_every_accepted_format_decodes_to_a_centred_digit(image_format: str) -> None:
    canvas = np.full((120, 120), 255, dtype=np.uint8)
    canvas[20:100, 55:65] = 0
    mode = "P" if image_format == "GIF" else "RGB"
    data = encode(Image.fromarray(canvas).convert(mode), image_format)
    result = preprocessing.image_bytes_to_mnist(data)
    row, col = centre_of_mass(result)
    assert abs(row - 14) <= CENTRE_TOLERANCE and abs(col - 14) <= CENTRE_TOLERANCE


def test_strokes_give_the_same_input_whatever_the_pad_size_or_position() -> None:
    small = preprocessing.strokes_to_mnist(SEVEN)
    large = [[[4 * x + 300, 4 * y + 77] for x, y in stroke] for stroke in SEVEN]
    np.testing.assert_allclose(preprocessing.strokes_to_mnist(large), small, atol=1e-6)


def test_strokes_are_centred_by_mass_and_fit_twenty_pixels() -> None:
    result = preprocessing.strokes_to_mnist(SEVEN)
    row, col = centre_of_mass(result)
    assert abs(row - 14) <= CENTRE_TOLERANCE and abs(col - 14) <= CENTRE_TOLERANCE
    rows = np.flatnonzero(result.max(axis=1) > 0.05)
    assert 19 <= rows[-1] - rows[0] + 1 <= 21


def test_a_single_point_is_a_dot_in_the_centre() -> None:
    result = preprocessing.strokes_to_mnist([[[5, 5]]])
    assert result.max() > 0.5
    row, col = centre_of_mass(result)
    assert abs(row - 14) <= CENTRE_TOLERANCE and abs(col - 14) <= CENTRE_TOLERANCE


@pytest.mark.parametrize("strokes", [[], [[]], [[], []]])
def test_strokes_without_points_are_empty_input(strokes: list) -> None:
    with pytest.raises(EmptyInput, match="no points"):
        preprocessing.strokes_to_mnist(strokes)


def test_a_blank_canvas_is_empty_input_not_a_digit() -> None:
    blank = encode(Image.new("RGB", (280, 280), "white"))
    with pytest.raises(EmptyInput, match="No ink"):
        preprocessing.image_bytes_to_mnist(blank)
    transparent = encode(Image.new("RGBA", (280, 280), (0, 0, 0, 0)))
    with pytest.raises(EmptyInput, match="No ink"):
        preprocessing.image_bytes_to_mnist(transparent)


def test_faint_noise_alone_is_empty_input() -> None:
    rng = np.random.default_rng(1)
    noisy = (250 - rng.integers(0, 10, size=(200, 200))).astype(np.uint8)
    with pytest.raises(EmptyInput):
        preprocessing.image_bytes_to_mnist(encode(Image.fromarray(noisy)))


def test_bytes_that_are_no_image_are_rejected() -> None:
    with pytest.raises(UndecodableImage, match="could not be decoded"):
        preprocessing.image_bytes_to_mnist(b"certainly not a picture")


def test_a_truncated_png_is_rejected() -> None:
    data = encode(Image.new("RGB", (300, 300), "white"))
    with pytest.raises(UndecodableImage):
        preprocessing.image_bytes_to_mnist(data[: len(data) // 2])


def test_an_image_format_we_do_not_accept_is_rejected() -> None:
    with pytest.raises(UnsupportedImage, match="TIFF is not accepted"):
        preprocessing.image_bytes_to_mnist(encode(Image.new("L", (20, 20)), "TIFF"))


def test_an_image_over_the_pixel_limit_is_rejected_before_decoding() -> None:
    data = encode(Image.new("L", (600, 500), 255))
    with pytest.raises(ImageTooLarge, match="600x500"):
        preprocessing.image_bytes_to_mnist(data, max_pixels=100_000, max_side=4096)


def test_base64_text_and_data_urls_decode_to_the_same_bytes() -> None:
    data = encode(Image.new("L", (4, 4)))
    text = base64.b64encode(data).decode()
    assert preprocessing.decode_base64_image(text) == data
    assert preprocessing.decode_base64_image("data:image/png;base64," + text) == data
    with pytest.raises(UndecodableImage, match="not valid base64"):
        preprocessing.decode_base64_image("%%% not base64 %%%")


@pytest.mark.parametrize(
    ("pixels", "message"),
    [
        ([[0] * 28] * 27, "shape \\[27, 28\\]"),
        ([[300] * 28] * 28, "between 0 and 255"),
        ([[-1] * 28] * 28, "between 0 and 255"),
        ([[float("nan")] * 28] * 28, "finite"),
        ([["a"] * 28] * 28, "28 rows of 28 numbers"),
    ],
)
def test_pixels_of_the_wrong_shape_range_or_type_are_rejected(pixels, message: str) -> None:
    with pytest.raises(InvalidPixels, match=message):
        preprocessing.pixels_to_mnist(pixels)


def test_all_zero_pixels_are_empty_input() -> None:
    with pytest.raises(EmptyInput):
        preprocessing.pixels_to_mnist([[0] * 28] * 28)


def test_pixels_are_taken_as_they_are(mnist_test) -> None:
    digit = mnist_test[0][0]
    np.testing.assert_allclose(preprocessing.pixels_to_mnist(digit.tolist()), digit / 255.0)


@pytest.mark.parametrize(
    ("strokes", "error", "message"),
    [
        ("not a list", InvalidStrokes, "list of strokes"),
        ([[[1, 2, 3]]], InvalidStrokes, "Stroke 0"),
        ([[[1, "x"]]], InvalidStrokes, "Stroke 0"),
        ([[[1, float("inf")]]], InvalidStrokes, "finite"),
        ([[[1, 1]]] * 101, TooManyPoints, "101 strokes"),
        ([[[1, 1]] * 10_001], TooManyPoints, "10001 points"),
    ],
)
def test_malformed_or_oversized_strokes_are_rejected(strokes, error, message: str) -> None:
    with pytest.raises(error, match=message):
        preprocessing.strokes_to_mnist(strokes)


def test_the_png_of_what_the_model_saw_round_trips() -> None:
    digit = preprocessing.strokes_to_mnist(SEVEN)
    url = preprocessing.to_png_data_url(digit)
    assert url.startswith("data:image/png;base64,")
    decoded = np.asarray(Image.open(io.BytesIO(preprocessing.decode_base64_image(url))))
    assert decoded.shape == (28, 28)
    np.testing.assert_allclose(decoded / 255.0, digit, atol=1 / 255)


@pytest.mark.parametrize("mode", ["RGBA", "RGB", "RGB with a transparent colour"])
def test_canvas_pngs_decode_to_the_same_pixels_as_with_pillow(mode: str) -> None:
    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 256, size=(37, 53, 4), dtype=np.uint8)
    pixels[:5, :5, :3] = (10, 20, 30)
    image = Image.fromarray(pixels, mode="RGBA")
    options = {}
    if mode != "RGBA":
        image = image.convert("RGB")
        if mode != "RGB":
            options["transparency"] = (10, 20, 30)
    data = encode(image, "PNG", **options)
    decoded = preprocessing.decode_image(data)
    expected = Image.open(io.BytesIO(data)).convert("RGBA")
    decoded_rgba = np.asarray(decoded.convert("RGBA"))
    assert decoded.size == (53, 37)
    assert np.array_equal(decoded_rgba, np.asarray(expected))
    if mode != "RGB":
        assert decoded_rgba[..., 3].min() < 255


FOUR = [[[30.0, 0.0], [0.0, 70.0], [60.0, 70.0]], [[45.0, 30.0], [45.0, 120.0]]]


def test_a_speck_apart_from_the_digit_is_left_out() -> None:
    clean = preprocessing.strokes_to_mnist(SEVEN)
    with_tap = preprocessing.strokes_to_mnist([*SEVEN, [[200.0, 150.0]]])
    with_slip = preprocessing.strokes_to_mnist([[[-60.0, 5.0], [-58.0, 7.0]], *SEVEN])
    assert np.abs(with_tap - clean).max() < 1e-6
    assert np.abs(with_slip - clean).max() < 1e-6


def test_every_part_of_a_digit_is_kept() -> None:
    four = [np.asarray(stroke) for stroke in FOUR]
    assert len(preprocessing.drop_stray_marks(four)) == 2
    dots = [np.array([[x, y]]) for x in (0.0, 10.0, 20.0) for y in (0.0, 10.0, 20.0)]
    assert len(preprocessing.drop_stray_marks(dots)) == 9  # a digit drawn in dots
    close_dot = [np.asarray(SEVEN[0]), np.array([[45.0, 125.0]])]  # a full stop under the 7
    assert len(preprocessing.drop_stray_marks(close_dot)) == 2


def test_a_sixteen_bit_grayscale_png_keeps_its_grey_levels() -> None:
    canvas = np.full((300, 300), 255, dtype=np.uint8)
    canvas[60:240, 140:160] = 0
    canvas[60:240, 139] = canvas[60:240, 160] = 128  # antialiased edges
    eight_bit = preprocessing.image_bytes_to_mnist(encode(Image.fromarray(canvas)))
    deep = Image.fromarray(canvas.astype(np.uint16) * 257)
    assert deep.mode == "I;16"
    sixteen_bit = preprocessing.image_bytes_to_mnist(encode(deep))
    assert np.abs(sixteen_bit - eight_bit).max() < 0.01


def photo_of_a_digit(
    digit: np.ndarray, rng: np.random.Generator, shade: float, chalk: bool = False
) -> bytes:
    """An MNIST digit as a phone photo: pencil on paper (or chalk on a board) under light that
    fades by `shade` across the picture, with sensor noise, saved as JPEG."""
    side, canvas = 224, 400
    ink = np.zeros((canvas, canvas), dtype=np.float32)
    big = Image.fromarray(digit).resize((side, side), Image.Resampling.BILINEAR)
    top, left = rng.integers(20, canvas - side - 20, size=2)
    ink[top : top + side, left : left + side] = np.asarray(big, dtype=np.float32) / 255.0
    rows, cols = np.mgrid[0:canvas, 0:canvas] / canvas
    light = 1.0 - shade * (0.6 * cols + 0.4 * rows)
    surface = 40 + 180 * ink if chalk else 235 - 175 * ink
    pixels = light * surface + rng.normal(0.0, 4.0, ink.shape)
    return encode(Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)), "JPEG")


@pytest.mark.parametrize("shade, chalk", [(0.5, False), (0.4, True)])
def test_a_photo_under_uneven_light_comes_back_like_the_scan(
    mnist_test, shade: float, chalk: bool
) -> None:
    images, _ = mnist_test
    rng = np.random.default_rng(11)
    differences = []
    for digit in images[:40]:
        scan = preprocessing.image_bytes_to_mnist(encode(Image.fromarray(255 - digit)))
        photo = preprocessing.image_bytes_to_mnist(photo_of_a_digit(digit, rng, shade, chalk))
        differences.append(np.abs(photo - scan).mean())
    # Measured 0.032 and 0.033 on average (0.085 at most). One background level for the whole
    # picture, as for a canvas, turns the pencil photo's shadow into ink: 0.147 on average.
    assert np.mean(differences) < 0.05
    assert max(differences) < 0.13


def canvas_with_bars(bars: list[tuple[int, int, int, int]]) -> bytes:
    """Black rectangles (top, left, bottom, right) on a white 300x300 canvas, as PNG."""
    canvas = np.full((300, 300), 255, dtype=np.uint8)
    for top, left, bottom, right in bars:
        canvas[top:bottom, left:right] = 0
    return encode(Image.fromarray(canvas))


def test_a_speck_on_a_canvas_does_not_shrink_the_digit() -> None:
    seven = [(40, 100, 55, 190), (55, 170, 220, 185)]
    clean = preprocessing.image_bytes_to_mnist(canvas_with_bars(seven))
    for speck in [(270, 280, 274, 284), (100, 10, 104, 14), (0, 150, 4, 154)]:
        specked = preprocessing.image_bytes_to_mnist(canvas_with_bars([*seven, speck]))
        assert np.abs(specked - clean).max() < 1e-6, speck
    # A dot just above the bar is part of the drawing (a gap under 15% of its height): kept.
    dotted = preprocessing.image_bytes_to_mnist(canvas_with_bars([*seven, (25, 150, 29, 154)]))
    assert np.abs(dotted - clean).max() > 0.5


def test_separate_large_parts_of_a_drawing_are_all_kept() -> None:
    # Two bars far apart, each too large to be a speck: the box spans both.
    ink = preprocessing.image_to_ink(
        preprocessing.decode_image(canvas_with_bars([(50, 40, 250, 60), (50, 240, 250, 260)]))
    )
    assert preprocessing.ink_bounding_box(ink) == (50, 40, 250, 260)
