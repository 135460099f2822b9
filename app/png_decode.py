"""Decode canvas PNGs (RGB or RGBA, as canvases export them) in about a third of libspng's time.

Inflating the zlib stream is nearly all of a canvas PNG's decoding: on a 280x280 canvas, zlib
takes 0.39 of libspng's 0.41 ms, while libdeflate inflates the same stream in 0.03 ms (long runs
of background are zlib's slow case). pyspng cannot change its inflater, so libdeflate inflates
the image data and libspng receives it again as an uncompressed ("stored") zlib stream, which it
then only unfilters: 0.15 ms in all (`python -m bench.stages`). The pixels are libspng's own.

Only files laid out as a canvas exports them take this path: IHDR first and as Pillow read it,
one run of IDAT chunks, IEND, no other critical chunk than a suggested palette, no tRNS, not
interlaced, at most FAST_PATH_MAX_BYTES of image data. Anything else goes to libspng as it came.

PNG: https://www.w3.org/TR/png-3/; zlib and deflate: RFC 1950 and RFC 1951.
"""

import contextlib
import struct
from collections.abc import Iterator

import deflate
import numpy as np
import pyspng

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SAMPLES_PER_PIXEL = {2: 3, 6: 4}  # by PNG colour type: RGB, RGBA
# Inflated image data of the largest image taken this way: a 1000x1000 RGBA canvas. Larger
# images are rare and slow anyway, and this path holds three copies of their data at once.
FAST_PATH_MAX_BYTES = 4 * 1024 * 1024
ZLIB_HEADER = b"\x78\x01"  # deflate with a 32 KiB window, no preset dictionary
STORED_BLOCK_MAX = 65_535  # bytes one stored deflate block can hold
IEND_CHUNK = struct.pack(">I", 0) + b"IEND" + struct.pack(">I", deflate.crc32(b"IEND"))


def decode_rgba(data: bytes, size: tuple[int, int]) -> np.ndarray:
    """(height, width, 4) uint8 pixels of a PNG that Pillow has opened as `size` and checked.

    A file the fast path does not take goes to libspng unchanged, so its errors and oddities are
    handled as libspng alone handles them.
    """
    with contextlib.suppress(ValueError, deflate.DeflateError):
        data = with_stored_image_data(data, size)
    return pyspng.load(data, format="RGBA")


def with_stored_image_data(data: bytes, size: tuple[int, int]) -> bytes:
    """The same image as a PNG of three chunks whose image data is stored uncompressed.

    Keeps the header chunk as it is and leaves out the ancillary chunks (text, gamma, colour
    profile) and a suggested palette, which decoding RGB(A) pixels ignores. ValueError when the
    file is not one this path takes (see the module docstring) or its data is damaged.
    """
    header, compressed = header_and_image_data(data)
    width, height, bit_depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB", header[8:21])
    if (width, height) != size:
        raise ValueError(f"IHDR says {width}x{height}, Pillow read {size[0]}x{size[1]}")
    if interlace or colour_type not in SAMPLES_PER_PIXEL or bit_depth not in (8, 16):
        raise ValueError("not a non-interlaced RGB or RGBA image: left to libspng")
    row_bytes = 1 + width * SAMPLES_PER_PIXEL[colour_type] * bit_depth // 8  # 1: filter type
    expected = height * row_bytes
    if expected > FAST_PATH_MAX_BYTES:
        raise ValueError("larger than a canvas: left to libspng")
    # libdeflate stops at `expected` bytes (the cap keeps it far below the 2**32 it wraps at).
    filtered = deflate.zlib_decompress(compressed, expected)
    if len(filtered) != expected:
        raise ValueError("image data shorter than the header says")
    idat = chunk_parts(b"IDAT", stored_zlib_parts(filtered))
    return b"".join([PNG_SIGNATURE, header, *idat, IEND_CHUNK])  # the one copy of the pixels


def header_and_image_data(data: bytes) -> tuple[bytes, bytes]:
    """The whole IHDR chunk (length to CRC) and the joined IDAT payloads, of a file laid out as
    canvases export PNGs; ValueError for any other layout or a bad CRC."""
    if not data.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG")
    parts = chunks(data)
    kind, payload = next(parts, (b"", b""))
    if kind != b"IHDR" or len(payload) != 13:
        raise ValueError("the first chunk is not an IHDR")
    header = data[8:33]  # the whole first chunk: length, kind, payload, CRC
    image_data: list[memoryview] = []
    after_image_data = False
    for kind, payload in parts:
        if kind == b"IEND":
            break
        if kind == b"IDAT":
            if after_image_data:
                raise ValueError("IDAT chunks split by other chunks")
            image_data.append(payload)
            continue
        after_image_data = bool(image_data)
        is_critical = not kind[0] & 0x20  # an upper-case first letter
        if (is_critical and kind != b"PLTE") or kind == b"tRNS":
            raise ValueError(f"a {kind!r} chunk: left to libspng")
    else:
        raise ValueError("no IEND chunk")
    if not image_data:
        raise ValueError("no IDAT chunk")
    return header, b"".join(image_data)


def chunks(data: bytes) -> Iterator[tuple[bytes, memoryview]]:
    """(kind, payload) for each chunk after the signature; ValueError on a bad CRC."""
    view = memoryview(data)
    position = len(PNG_SIGNATURE)
    while position + 12 <= len(data):
        (length,) = struct.unpack_from(">I", data, position)
        end = position + 12 + length
        if end > len(data):
            raise ValueError("truncated chunk")
        kind = data[position + 4 : position + 8]
        (crc,) = struct.unpack_from(">I", data, end - 4)
        if deflate.crc32(view[position + 4 : end - 4]) != crc:
            raise ValueError(f"bad CRC in a {kind!r} chunk")
        yield kind, view[position + 8 : end - 4]
        position = end


def chunk_parts(kind: bytes, payload: list[bytes | memoryview]) -> list[bytes | memoryview]:
    """A chunk around a payload given in parts, still in parts (joined once, by the caller)."""
    crc = deflate.crc32(kind)
    for part in payload:
        crc = deflate.crc32(part, crc)
    length = sum(len(part) for part in payload)
    return [struct.pack(">I", length) + kind, *payload, struct.pack(">I", crc)]


def stored_zlib_parts(raw: bytes) -> list[bytes | memoryview]:
    """`raw` as a zlib stream of stored (uncompressed) deflate blocks, in parts: no copying."""
    view = memoryview(raw)
    parts: list[bytes | memoryview] = [ZLIB_HEADER]
    for start in range(0, len(raw), STORED_BLOCK_MAX):
        block = view[start : start + STORED_BLOCK_MAX]
        is_final = start + STORED_BLOCK_MAX >= len(raw)
        parts += [struct.pack("<BHH", is_final, len(block), len(block) ^ 0xFFFF), block]
    parts.append(struct.pack(">I", deflate.adler32(raw)))
    return parts
