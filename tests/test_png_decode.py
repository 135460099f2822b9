"""Canvas PNGs decode to exactly the pixels Pillow reads, through libdeflate, and bad files fail."""

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from app import png_decode, preprocessing
from app.errors import UndecodableImage


def png_bytes(image: Image.Image, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", **options)
    return buffer.getvalue()


def noisy_image(mode: str, height: int, width: int, seed: int = 5) -> Image.Image:
    """Random pixels with flat patches: every PNG row filter gets used."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, size=(height, width, 4), dtype=np.uint8)
    pixels[: height // 2, : width // 2] = 255
    return Image.fromarray(pixels, mode="RGBA").convert(mode)


def idat_chunks(data: bytes) -> list[bytes]:
    return [bytes(payload) for kind, payload, _ in png_decode.chunks(data) if kind == b"IDAT"]


def with_header_field(data: bytes, offset: int, value: int) -> bytes:
    """The PNG with one byte of its IHDR payload changed and the chunk's CRC made right again."""
    header = bytearray(data[8:33])
    header[8 + offset] = value
    header[21:25] = struct.pack(">I", zlib.crc32(bytes(header[4:21])))
    return data[:8] + bytes(header) + data[33:]


@pytest.mark.parametrize(
    ("mode", "height", "width"),
    [("RGBA", 280, 280), ("RGB", 37, 53), ("RGBA", 1, 1), ("RGBA", 300, 700)],
)
def test_pixels_are_exactly_pillows(mode: str, height: int, width: int) -> None:
    image = noisy_image(mode, height, width)
    data = png_bytes(image)
    expected = np.asarray(image.convert("RGBA"))
    assert np.array_equal(png_decode.decode_rgba(data), expected)


def test_image_data_is_inflated_once_and_handed_on_uncompressed() -> None:
    data = png_bytes(noisy_image("RGBA", 300, 700))  # 840 KB of rows: many stored blocks
    assert len(idat_chunks(data)) > 1  # Pillow splits large image data over several chunks
    filtered = zlib.decompress(b"".join(idat_chunks(data)))
    rewrapped = png_decode.with_stored_image_data(data)
    (stored,) = idat_chunks(rewrapped)
    assert filtered[:30_000] in stored and filtered[-30_000:] in stored
    assert zlib.decompress(stored) == filtered


def test_text_and_gamma_chunks_do_not_change_the_pixels() -> None:
    image = noisy_image("RGBA", 40, 40)
    info = PngImagePlugin.PngInfo()
    info.add_text("Software", "a drawing app")
    data = png_bytes(image, pnginfo=info, gamma=0.45455)
    assert np.array_equal(png_decode.decode_rgba(data), np.asarray(image))


def test_sixteen_bit_rgba_comes_out_as_eight_bits() -> None:
    pixels = np.arange(4 * 6 * 4, dtype=np.uint16).reshape(4, 6, 4) * 600
    raw = np.concatenate(
        [np.zeros((4, 1), np.uint8), pixels.astype(">u2").view(np.uint8).reshape(4, -1)], axis=1
    )
    header = struct.pack(">IIBBBBB", 6, 4, 16, 6, 0, 0, 0)
    data = (
        png_decode.PNG_SIGNATURE
        + png_decode.chunk(b"IHDR", header)
        + png_decode.chunk(b"IDAT", zlib.compress(raw.tobytes()))
        + png_decode.IEND_CHUNK
    )
    decoded = png_decode.decode_rgba(data)
    assert decoded.dtype == np.uint8
    assert np.abs(decoded.astype(int) - pixels // 257).max() <= 1


def test_interlaced_pngs_are_left_to_libspng() -> None:
    data = with_header_field(png_bytes(noisy_image("RGB", 10, 10)), offset=12, value=1)
    with pytest.raises(ValueError, match="interlaced"):
        png_decode.with_stored_image_data(data)


def test_a_damaged_chunk_is_refused() -> None:
    data = bytearray(png_bytes(noisy_image("RGBA", 50, 50)))
    data[60] ^= 0xFF  # inside the first IDAT
    with pytest.raises(ValueError, match="bad CRC"):
        png_decode.with_stored_image_data(bytes(data))
    with pytest.raises(UndecodableImage, match="truncated or corrupt"):
        preprocessing.decode_image(bytes(data))


def test_image_data_shorter_than_the_header_says_is_refused() -> None:
    data = with_header_field(png_bytes(noisy_image("RGBA", 50, 50)), offset=7, value=60)
    with pytest.raises(ValueError, match="shorter than the header"):
        png_decode.with_stored_image_data(data)
    with pytest.raises(UndecodableImage, match="truncated or corrupt"):
        preprocessing.decode_image(data)
