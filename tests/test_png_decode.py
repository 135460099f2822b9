"""Canvas PNGs decode to exactly the pixels Pillow reads, through libdeflate; other files go to
libspng as they came, and bad files fail."""

import io
import struct
import zlib

import numpy as np
import pyspng
import pytest
from PIL import Image, PngImagePlugin

from app import png_decode, preprocessing
from app.errors import UndecodableImage
from tests.helpers import encode


def noisy_image(mode: str, height: int, width: int, seed: int = 5) -> Image.Image:
    """Random pixels with flat patches: every PNG row filter gets used."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, size=(height, width, 4), dtype=np.uint8)
    pixels[: height // 2, : width // 2] = 255
    return Image.fromarray(pixels, mode="RGBA").convert(mode)


def built_png(chunks: list[tuple[bytes, bytes]]) -> bytes:
    parts = [part for kind, payload in chunks for part in png_decode.chunk_parts(kind, [payload])]
    return png_decode.PNG_SIGNATURE + b"".join(parts)


def rgba_header(width: int, height: int, bit_depth: int = 8, interlace: int = 0) -> bytes:
    return struct.pack(">IIBBBBB", width, height, bit_depth, 6, 0, 0, interlace)


def image_data(pixels: np.ndarray) -> bytes:
    """Rows of big-endian samples, each after filter type 0, deflated."""
    height = pixels.shape[0]
    rows = pixels.astype(f">u{pixels.itemsize}").view(np.uint8).reshape(height, -1)
    return zlib.compress(np.concatenate([np.zeros((height, 1), np.uint8), rows], axis=1).tobytes())


def fast_path(data: bytes, size: tuple[int, int]) -> np.ndarray:
    """The fast path alone: no falling back to libspng on the original file."""
    return pyspng.load(png_decode.with_stored_image_data(data, size), format="RGBA")


@pytest.mark.parametrize(
    ("mode", "height", "width"),
    [("RGBA", 280, 280), ("RGB", 37, 53), ("RGBA", 1, 1), ("RGBA", 300, 700)],
)
def test_pixels_are_exactly_pillows(mode: str, height: int, width: int) -> None:
    image = noisy_image(mode, height, width)
    data = encode(image)
    expected = np.asarray(image.convert("RGBA"))
    assert np.array_equal(fast_path(data, image.size), expected)
    assert np.array_equal(png_decode.decode_rgba(data, image.size), expected)


def test_image_data_is_inflated_once_and_handed_on_uncompressed() -> None:
    image = noisy_image("RGBA", 300, 700)  # 840 KB of rows: many stored blocks
    data = encode(image)
    idat = [bytes(payload) for kind, payload in png_decode.chunks(data) if kind == b"IDAT"]
    assert len(idat) > 1  # Pillow splits large image data over several chunks
    filtered = zlib.decompress(b"".join(idat))
    rewrapped = png_decode.with_stored_image_data(data, image.size)
    kinds = [kind for kind, _ in png_decode.chunks(rewrapped)]
    assert kinds == [b"IHDR", b"IDAT", b"IEND"]
    stored = bytes(dict(png_decode.chunks(rewrapped))[b"IDAT"])
    assert filtered[:30_000] in stored and filtered[-30_000:] in stored
    assert zlib.decompress(stored) == filtered


def test_text_and_gamma_chunks_do_not_change_the_pixels() -> None:
    image = noisy_image("RGBA", 40, 40)
    info = PngImagePlugin.PngInfo()
    info.add_text("Software", "a drawing app")
    data = encode(image, "PNG", pnginfo=info, gamma=0.45455)
    assert np.array_equal(fast_path(data, image.size), np.asarray(image))


def test_sixteen_bit_rgba_comes_out_as_eight_bits() -> None:
    pixels = np.arange(4 * 6 * 4, dtype=np.uint16).reshape(4, 6, 4) * 600
    data = built_png(
        [(b"IHDR", rgba_header(6, 4, 16)), (b"IDAT", image_data(pixels)), (b"IEND", b"")]
    )
    decoded = fast_path(data, (6, 4))
    assert decoded.dtype == np.uint8
    assert np.abs(decoded.astype(int) - pixels // 257).max() <= 1


def test_a_second_header_cannot_smuggle_a_larger_image_past_the_size_check() -> None:
    small = np.zeros((16, 16, 4), np.uint8)
    large = np.zeros((2000, 2000, 4), np.uint8)  # 16 MB of pixels in a 16 KB file
    data = built_png(
        [
            (b"IHDR", rgba_header(16, 16)),
            (b"IDAT", image_data(small)),
            (b"IHDR", rgba_header(2000, 2000)),
            (b"IDAT", image_data(large)),
            (b"IEND", b""),
        ]
    )
    assert Image.open(io.BytesIO(data)).size == (16, 16)  # what the size check sees
    with pytest.raises(ValueError, match="IHDR"):
        png_decode.with_stored_image_data(data, (16, 16))
    assert preprocessing.decode_image(data).size == (16, 16)  # libspng reads the first image


@pytest.mark.parametrize(
    ("chunks", "message"),
    [
        ([(b"IDAT", b"x"), (b"tEXt", b"a\0b"), (b"IDAT", b"y")], "split"),
        ([(b"IDAT", b"x"), (b"zzZz", b"")], "no IEND"),
        ([(b"tRNS", b"\0\0\0\0\0\0"), (b"IDAT", b"x"), (b"IEND", b"")], "tRNS"),
        ([(b"ABCD", b""), (b"IDAT", b"x"), (b"IEND", b"")], "ABCD"),
    ],
)
def test_files_not_laid_out_like_a_canvas_export_are_left_to_libspng(
    chunks: list[tuple[bytes, bytes]], message: str
) -> None:
    data = built_png([(b"IHDR", rgba_header(4, 4)), *chunks])
    with pytest.raises(ValueError, match=message):
        png_decode.with_stored_image_data(data, (4, 4))


def test_images_larger_than_a_canvas_are_left_to_libspng() -> None:
    image = noisy_image("RGBA", 1100, 1000)
    data = encode(image, "PNG", compress_level=1)
    with pytest.raises(ValueError, match="larger than a canvas"):
        png_decode.with_stored_image_data(data, image.size)
    assert np.array_equal(png_decode.decode_rgba(data, image.size), np.asarray(image))


def test_a_header_other_than_pillows_is_refused() -> None:
    data = encode(noisy_image("RGBA", 20, 30))
    with pytest.raises(ValueError, match="IHDR says 30x20, Pillow read 30x21"):
        png_decode.with_stored_image_data(data, (30, 21))


def test_interlaced_pngs_are_left_to_libspng() -> None:
    data = built_png([(b"IHDR", rgba_header(4, 4, interlace=1)), (b"IDAT", b"x"), (b"IEND", b"")])
    with pytest.raises(ValueError, match="interlaced"):
        png_decode.with_stored_image_data(data, (4, 4))


def test_a_damaged_chunk_is_refused() -> None:
    data = bytearray(encode(noisy_image("RGBA", 50, 50)))
    data[60] ^= 0xFF  # inside the first IDAT
    with pytest.raises(ValueError, match="bad CRC"):
        png_decode.with_stored_image_data(bytes(data), (50, 50))
    with pytest.raises(UndecodableImage, match="truncated or corrupt"):
        preprocessing.decode_image(bytes(data))


def test_image_data_shorter_than_the_header_says_is_refused() -> None:
    data = built_png(
        [
            (b"IHDR", rgba_header(50, 60)),
            (b"IDAT", image_data(np.zeros((50, 50, 4), np.uint8))),
            (b"IEND", b""),
        ]
    )
    with pytest.raises(ValueError, match="shorter than the header"):
        png_decode.with_stored_image_data(data, (50, 60))
    with pytest.raises(UndecodableImage, match="truncated or corrupt"):
        preprocessing.decode_image(data)
