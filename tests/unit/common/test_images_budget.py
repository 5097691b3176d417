"""A tiny file that decodes into gigabytes is refused from its header, before any pixel is decoded."""

from __future__ import annotations

import resource
import struct
import zlib

import pytest

from playground.common.images import MAX_DECODE_BYTES, ImageError, decode_cost, load_image


def png16(w: int, h: int) -> bytes:
    """A valid all-zero 16-bit greyscale PNG, compressed row by row (the bitmap is never in memory)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    comp, row = zlib.compressobj(9), bytes(1 + 2 * w)
    idat = b"".join(comp.compress(row) for _ in range(h)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", w, h, 16, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_a_small_16_bit_png_of_60_mp_is_refused_before_decoding():
    data = png16(7745, 7745)  # 0.11 MiB on disk; decoding it took 10.8 s and 1.7 GiB here
    assert len(data) < 2**18
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ImageError, match=r"7745x7745 I;16 image: decoding it would take about 1,659 MiB.*Resize it"):
        load_image(data, "huge16.png")
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mib < 64


def test_a_16_bit_image_within_the_budget_still_decodes_stretched():
    loaded = load_image(png16(300, 200), "ok16.png")
    assert loaded.image.size == (300, 200) and loaded.image.mode == "L"
    assert decode_cost("I;16", (300, 200)) < MAX_DECODE_BYTES
    assert decode_cost("RGB", (7745, 7745)) < MAX_DECODE_BYTES  # 60 MP of ordinary RGB stays allowed
