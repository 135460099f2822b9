"""Decode 8-bit RGB and RGBA PNGs, what canvases export, in about a third of libspng's time.

Inflating the zlib stream is nearly all of a canvas PNG's decoding: on a 280x280 canvas, zlib
takes 0.39 of libspng's 0.41 ms, while libdeflate inflates the same stream in 0.03 ms (long runs
of background are zlib's slow case). pyspng cannot change its inflater, so libdeflate inflates
the image data and libspng receives it again as an uncompressed ("stored") zlib stream, which it
then only unfilters: 0.15 ms in all (`python -m bench.stages`). The pixels are libspng's own.

PNG: https://www.w3.org/TR/png-3/; zlib and deflate: RFC 1950 and RFC 1951.
"""

import contextlib
import struct
from collections.abc import Iterator

import deflate
import numpy as np
import pyspng

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Samples a pixel carries, by PNG colour type: grey, RGB, palette, grey + alpha, RGBA.
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
ZLIB_HEADER = b"\x78\x01"  # deflate with a 32 KiB window, no preset dictionary
STORED_BLOCK_MAX = 65_535  # bytes one stored deflate block can hold
IEND_CHUNK = struct.pack(">I", 0) + b"IEND" + struct.pack(">I", deflate.crc32(b"IEND"))


def decode_rgba(data: bytes) -> np.ndarray:
    """(height, width, 4) uint8 pixels of a PNG that Pillow has already opened and size-checked.

    Interlaced images, and any file the fast path cannot take apart, go to libspng whole, so
    errors and odd files are handled exactly as libspng alone handles them.
    """
    with contextlib.suppress(ValueError, struct.error, deflate.DeflateError):
        data = with_stored_image_data(data)
    return pyspng.load(data, format="RGBA")


def with_stored_image_data(data: bytes) -> bytes:
    """The same image as a PNG whose image data is inflated and stored uncompressed.

    Keeps the header chunk as it is and drops ancillary chunks (text, gamma, colour profile),
    which decoding to RGBA ignores anyway. ValueError when the file is not a non-interlaced PNG
    with intact chunks.
    """
    header, compressed = header_and_image_data(data)
    width, height, bit_depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB", header[8:21])
    if interlace or colour_type not in CHANNELS:
        raise ValueError("interlaced or unknown colour type: left to libspng")
    row_bytes = 1 + (width * CHANNELS[colour_type] * bit_depth + 7) // 8  # 1: the filter byte
    filtered = deflate.zlib_decompress(compressed, height * row_bytes)
    if len(filtered) != height * row_bytes:
        raise ValueError("image data shorter than the header says")
    idat = chunk_parts(b"IDAT", stored_zlib_parts(filtered))
    return b"".join([PNG_SIGNATURE, header, *idat, IEND_CHUNK])  # the one copy of the pixels


def header_and_image_data(data: bytes) -> tuple[bytes, bytes]:
    """The whole IHDR chunk (length to CRC) and the joined IDAT payloads, CRCs checked."""
    if not data.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG")
    header, image_data = b"", []
    for kind, payload, whole in chunks(data):
        if kind == b"IHDR":
            header = whole
        elif kind == b"IDAT":
            image_data.append(payload)
        elif kind == b"IEND":
            break
    if len(header) != 25 or not image_data:
        raise ValueError("no IHDR or no IDAT chunk")
    return header, b"".join(image_data)


def chunks(data: bytes) -> Iterator[tuple[bytes, memoryview, bytes]]:
    """(kind, payload, whole chunk) for each chunk after the signature; ValueError on a bad CRC."""
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
        yield kind, view[position + 8 : end - 4], data[position:end]
        position = end


def chunk(kind: bytes, payload: bytes) -> bytes:
    return b"".join(chunk_parts(kind, [payload]))


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
