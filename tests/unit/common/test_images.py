"""Uploads are hostile until proven otherwise: every bad file gets a sentence, odd modes are converted sensibly.

Every test image is made here with PIL (or by hand, byte by byte, for the hostile ones).
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from playground.common.images import MAX_FILE_BYTES, ImageError, load_image, load_sample, sample_images, to_tensor


def encode(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def two_tone(size=(60, 30), left=(0, 0, 255), rest=(200, 0, 0)) -> Image.Image:
    """A red image with a blue stripe on its left edge: orientation is easy to check."""
    im = Image.new("RGB", size, rest)
    im.paste(left, (0, 0, 10, size[1]))
    return im


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(w: int, h: int) -> bytes:
    """A tiny, valid-looking PNG whose header claims w x h pixels (a decompression bomb's shape)."""
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(b"\0" * 1024))
        + _chunk(b"IEND", b"")
    )


# -- hostile files: a sentence each, never a PIL exception -------------------------------------------


def test_empty_file_says_it_is_empty():
    with pytest.raises(ImageError, match=r"photo.jpg is empty \(0 bytes\)\. Choose a JPEG, PNG"):
        load_image(b"", "photo.jpg")


def test_renamed_pdf_is_not_an_image():
    pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    with pytest.raises(ImageError, match=r"report.jpg is not an image this app can read\. Choose a JPEG"):
        load_image(pdf, "report.jpg")


@pytest.mark.parametrize("junk", [b"\x00" * 100, b"<html><body>hi</body></html>", bytes(range(256)) * 4])
def test_other_junk_is_not_an_image(junk):
    with pytest.raises(ImageError, match="is not an image this app can read"):
        load_image(junk, "junk.png")


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_truncated_file_says_truncated_or_corrupt(fmt):
    data = encode(Image.effect_noise((200, 150), 40).convert("RGB"), fmt)
    with pytest.raises(ImageError, match="could not be decoded .* truncated or corrupt: export it again"):
        load_image(data[: len(data) // 2], f"cut.{fmt.lower()}")


@pytest.mark.parametrize("w,h", [(100_000, 100_000), (9_000, 9_000), (60_000, 1_001)])
def test_decompression_bomb_is_refused_before_decoding(w, h):
    data = png_bomb(w, h)
    assert len(data) < 2_000  # a few bytes that would decode to gigabytes
    with pytest.raises(
        ImageError, match=r"bomb.png claims to be .* over the 60 MP limit: decoding it would exhaust memory"
    ):
        load_image(data, "bomb.png")


def test_oversized_file_is_refused_by_its_byte_count():
    with pytest.raises(ImageError, match=r"huge.png is \d+ MiB; the limit is 50 MiB"):
        load_image(b"\x89PNG" + b"\0" * MAX_FILE_BYTES, "huge.png")


def test_zero_sized_header_is_refused():
    with pytest.raises(ImageError):
        load_image(png_bomb(0, 10), "zero.png")


# -- orientation and modes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "orientation,size,blue_at,note",
    [
        (1, (60, 30), (5, 15), None),
        (3, (60, 30), (55, 15), "rotated 180°"),
        (6, (30, 60), (15, 5), "rotated 90° clockwise"),
        (8, (30, 60), (15, 55), "rotated 90° counter-clockwise"),
    ],
)
def test_exif_orientation_is_honoured(orientation, size, blue_at, note):
    exif = Image.Exif()
    exif[0x0112] = orientation
    loaded = load_image(encode(two_tone(), "JPEG", exif=exif, quality=95), "phone.jpg")
    assert loaded.image.size == size
    r, g, b = loaded.image.getpixel(blue_at)
    assert b > 200 and r < 60  # the blue stripe ends up where a person holding the phone saw it
    assert (note in "; ".join(loaded.notes)) if note else not loaded.notes


def test_cmyk_jpeg_becomes_rgb():
    loaded = load_image(encode(two_tone().convert("CMYK"), "JPEG", quality=95), "print.jpg")
    assert loaded.image.mode == "RGB"
    assert loaded.image.getpixel((40, 15))[0] > 180  # still red
    assert "converted from CMYK to RGB" in loaded.notes


def test_rgba_transparency_is_shown_on_white():
    im = Image.new("RGBA", (40, 20), (255, 0, 0, 255))
    im.paste((0, 0, 0, 0), (20, 0, 40, 20))  # right half fully transparent (black underneath)
    loaded = load_image(encode(im, "PNG"), "logo.png")
    assert loaded.image.mode == "RGB"
    assert loaded.image.getpixel((5, 5)) == (255, 0, 0)
    assert loaded.image.getpixel((30, 5)) == (255, 255, 255)
    assert "transparent areas shown on white" in loaded.notes


def test_palette_png_with_and_without_transparency():
    pal = two_tone().quantize(4)
    loaded = load_image(encode(pal, "PNG"), "pal.png")
    assert loaded.image.mode == "RGB" and loaded.image.getpixel((40, 15))[0] > 180
    pal_t = pal.copy()
    pal_t.info["transparency"] = pal_t.getpixel((40, 15))  # the red index becomes transparent
    loaded_t = load_image(encode(pal_t, "PNG", transparency=pal_t.info["transparency"]), "pal_t.png")
    assert loaded_t.image.getpixel((40, 15)) == (255, 255, 255)


def test_16_bit_grayscale_is_stretched_not_clipped():
    arr = np.linspace(1000, 3000, 64 * 32, dtype=np.uint16).reshape(32, 64)  # a dim 16-bit ramp
    loaded = load_image(encode(Image.fromarray(arr), "PNG"), "scan.png")
    out = np.asarray(loaded.image)
    assert loaded.image.mode == "L"
    assert out.min() == 0 and out.max() == 255  # the ramp's own range becomes 0..255 (not all white)
    assert any("scaled from its value range 1000..3000" in n for n in loaded.notes)


def test_float_tiff_and_bilevel_images_are_converted():
    arr = np.linspace(-1, 1, 40 * 20, dtype=np.float32).reshape(20, 40)
    f = load_image(encode(Image.fromarray(arr, "F"), "TIFF"), "depth.tif")
    assert f.image.mode == "L" and np.asarray(f.image).max() == 255
    bw = load_image(encode(two_tone().convert("1"), "PNG"), "fax.png")
    assert bw.image.mode == "L"


def test_grayscale_stays_one_channel_and_tensor_is_0_to_1():
    loaded = load_image(encode(two_tone().convert("L"), "PNG"), "gray.png")
    assert loaded.image.mode == "L"
    t = to_tensor(loaded.image)
    assert t.shape == (3, 30, 60) and 0 <= float(t.min()) and float(t.max()) <= 1
    assert to_tensor(loaded.image, gray=True).shape == (1, 30, 60)


def test_animated_gif_gives_its_first_frame():
    frames = [Image.new("RGB", (20, 20), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    loaded = load_image(data, "anim.gif")
    assert loaded.image.convert("RGB").getpixel((10, 10))[0] > 200  # red: frame one
    assert loaded.format == "GIF" and "first frame of an animation" in loaded.notes


@pytest.mark.parametrize(
    "fmt,ext", [("WEBP", "webp"), ("BMP", "bmp"), ("TIFF", "tif"), ("PNG", "png"), ("JPEG", "jpg")]
)
def test_every_supported_format_decodes(fmt, ext):
    kw = {"lossless": True} if fmt == "WEBP" else ({"quality": 95} if fmt == "JPEG" else {})
    loaded = load_image(encode(two_tone(), fmt, **kw), f"photo.{ext}")
    assert loaded.format == fmt and loaded.image.size == (60, 30) and loaded.image.mode == "RGB"
    assert loaded.image.getpixel((2, 2))[2] > 200 and loaded.image.getpixel((40, 2))[0] > 180


def test_large_photo_is_downscaled_once_and_says_so():
    big = Image.effect_noise((3000, 2000), 30).convert("RGB")
    loaded = load_image(encode(big, "JPEG", quality=80), "big.jpg", max_side=1024)
    assert max(loaded.image.size) == 1024 and loaded.original_size == (3000, 2000)
    assert any("downscaled once from" in n for n in loaded.notes)
    full = load_image(encode(big, "PNG"), "big.png", max_side=None)
    assert full.image.size == (3000, 2000) and not full.notes


def test_samples_load_and_unknown_sample_lists_choices():
    assert len(sample_images()) >= 4
    assert load_sample(sample_images()[0], max_side=256).image.mode in ("RGB", "L")
    with pytest.raises(ImageError, match="Choose one of: "):
        load_sample("nope.png")
