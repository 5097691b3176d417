"""Safe image decoding: every upload is hostile until proven otherwise.

``load_image`` turns bytes into an RGB (or grayscale) PIL image or raises
``ImageError`` with a sentence saying what is wrong and what to do. It
refuses empty files, non-images, truncated files and decompression bombs
(dimensions are read from the header *before* any pixel is decoded), honours
EXIF orientation, and converts CMYK, RGBA/LA (composited on white), palette,
16-bit and 32-bit-float images sensibly. Very large photos are downscaled
once on arrival (JPEGs via ``draft`` so the full-size bitmap is never built).
"""

from __future__ import annotations

import functools
import io
import struct
import warnings
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from playground.common.paths import ASSETS

SAMPLE_DIR = ASSETS / "sample-images"

MAX_FILE_BYTES = 50 * 2**20  # 50 MiB: larger than any real photo we expect
MAX_PIXELS = 60_000_000  # refuse beyond 60 MP: a 10000x10000 PNG bomb is 100 MP
DEFAULT_MAX_SIDE = 2048  # downscale on arrival so previews stay interactive
# Memory a decode may take, checked from the header before any pixel is decoded: the decoded bitmap plus the
# working copies of its conversion to RGB/L. A 16-bit PNG compresses to almost nothing (7745x7745 in 0.11 MiB)
# and its value-range stretch took 1.7 GiB in float64; 60 MP of RGB (240 MB) still fits.
MAX_DECODE_BYTES = 512 * 2**20
# Bytes per pixel of each mode as PIL holds it (RGB is stored in 4) plus what _to_rgb_or_l allocates for it.
_DECODE_COST = {"1": 2, "L": 1, "P": 5, "RGB": 4, "RGBA": 12, "LA": 12, "PA": 12, "CMYK": 8, "YCbCr": 8}
_DEEP_MODES = ("I;16", "I;16B", "I;16L", "I", "F")  # 16/32-bit: the float64 stretch holds 3 copies + the 8-bit result
SUPPORTED = "JPEG, PNG, WebP, BMP, GIF or TIFF"
FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "GIF", "TIFF")  # PIL's names of the formats above


class ImageError(ValueError):
    """A file that is not a usable image; the message says why and what to do."""


# EXIF orientation tag values other than 1 (upright), as ImageOps.exif_transpose undoes them.
_ORIENTATIONS = {
    2: "mirrored",
    3: "rotated 180°",
    4: "flipped upside down",
    5: "mirrored and rotated",
    6: "rotated 90° clockwise",
    7: "mirrored and rotated",
    8: "rotated 90° counter-clockwise",
}


def decode_cost(mode: str, size: tuple[int, int]) -> int:
    """Bytes decoding an image of this PIL ``mode`` and ``(w, h)`` takes at its peak (bitmap + conversion)."""
    per_pixel = 4 + 3 * 8 + 1 if mode in _DEEP_MODES else _DECODE_COST.get(mode, 8)
    return size[0] * size[1] * per_pixel


def _too_big(name: str, claim: str) -> ImageError:
    return ImageError(
        f"{name} claims to be {claim}, over the {MAX_PIXELS // 1_000_000} MP limit: decoding it would exhaust memory "
        "(a decompression bomb, or a huge scan). Resize it below that and upload again."
    )


@dataclass
class LoadedImage:
    """A decoded image and what happened on the way in (shown to the user)."""

    image: Image.Image  # mode "RGB" or "L"
    original_size: tuple[int, int]  # (width, height) as stored in the file
    format: str
    notes: list[str]  # e.g. "rotated per EXIF", "downscaled from 4000x3000"


@functools.lru_cache(maxsize=1)
def image_types() -> tuple[str, ...]:
    """The file extensions (no dot: ``"png"``) of the formats this app decodes, as PIL registers them.

    One list for every uploader and for the image folders of a dataset zip.
    """
    return tuple(sorted(ext[1:] for ext, fmt in Image.registered_extensions().items() if fmt in FORMATS))


def sample_images() -> list[str]:
    """File names of the bundled sample photos (see assets/sample-images/LICENSES.md)."""
    return sorted(p.name for p in SAMPLE_DIR.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))


def load_sample(name: str, max_side: int | None = DEFAULT_MAX_SIDE) -> LoadedImage:
    """Load a bundled sample by file name (unknown names raise ImageError listing the choices)."""
    if name not in sample_images():
        raise ImageError(f"There is no sample image {name!r}. Choose one of: {', '.join(sample_images())}.")
    return load_image((SAMPLE_DIR / name).read_bytes(), name=name, max_side=max_side)


def _to_rgb_or_l(im: Image.Image, notes: list[str]) -> Image.Image:
    """Convert any PIL mode to "RGB" or "L" the way a person would expect."""
    mode = im.mode
    if mode in ("RGB", "L"):
        return im
    if mode == "1":
        return im.convert("L")
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        # 16-bit or float data: stretch the actual value range to 0..255 instead of clipping to white.
        arr = np.asarray(im, dtype=np.float64)
        lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
        scaled = np.zeros_like(arr) if hi <= lo else (arr - lo) / (hi - lo) * 255.0
        notes.append(f"{mode} image scaled from its value range {lo:g}..{hi:g} to 8 bits")
        return Image.fromarray(np.nan_to_num(scaled).astype(np.uint8), "L")
    if mode == "CMYK":
        notes.append("converted from CMYK to RGB")
        return im.convert("RGB")
    if mode == "P":
        im = im.convert("RGBA") if "transparency" in im.info else im.convert("RGB")
        mode = im.mode
        if mode == "RGB":
            return im
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        notes.append("transparent areas shown on white")
        return Image.alpha_composite(background, rgba).convert("RGB")
    notes.append(f"converted from mode {mode} to RGB")
    return im.convert("RGB")


def load_image(data: bytes, name: str = "upload", max_side: int | None = DEFAULT_MAX_SIDE) -> LoadedImage:
    """Decode ``data`` safely; raises ImageError (never a PIL exception) for anything unusable.

    ``max_side``: downscale so neither side exceeds it (None keeps full size).
    GIFs and multi-page TIFFs give their first frame.
    """
    if not data:
        raise ImageError(f"{name} is empty (0 bytes). Choose a {SUPPORTED} file.")
    if len(data) > MAX_FILE_BYTES:
        raise ImageError(
            f"{name} is {len(data) / 2**20:.0f} MiB; the limit is {MAX_FILE_BYTES // 2**20} MiB. Use a smaller file."
        )
    notes: list[str] = []
    try:
        with warnings.catch_warnings():
            # PIL warns (and beyond twice its limit raises) about decompression bombs; we check the size ourselves.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data))
            fmt = im.format or "unknown"
            w, h = im.size
            if w < 1 or h < 1:
                raise ImageError(f"{name} says it is {w}x{h} pixels, which is not an image.")
            if w * h > MAX_PIXELS:
                raise _too_big(name, f"{w}x{h} pixels ({w * h / 1e6:,.0f} MP)")
            if decode_cost(im.mode, (w, h)) > MAX_DECODE_BYTES:
                raise ImageError(
                    f"{name} is a {w}x{h} {im.mode} image: decoding it would take about "
                    f"{decode_cost(im.mode, (w, h)) / 2**20:,.0f} MiB, over this server's {MAX_DECODE_BYTES >> 20} MiB "
                    "for one image. Resize it (or save it as 8-bit) and upload again."
                )
            if getattr(im, "is_animated", False):  # cheap: looks for a second frame only, never counts them all
                notes.append("first frame of an animation")
            im.seek(0)
            orientation = im.getexif().get(0x0112, 1)
            if max_side and max(w, h) > max_side and fmt == "JPEG":
                # Decode at 1/2, 1/4 or 1/8 scale, the smallest still covering the final size: far less work.
                scale = max_side / max(w, h)
                im.draft("RGB", (max(1, int(w * scale)), max(1, int(h * scale))))
            im.load()
            im = ImageOps.exif_transpose(im) or im
            if orientation in _ORIENTATIONS:
                notes.append(f"{_ORIENTATIONS[orientation]} as its EXIF orientation says")
    except ImageError:
        raise
    except Image.DecompressionBombError:
        # PIL refuses before we can read the size: more than twice Image.MAX_IMAGE_PIXELS.
        raise _too_big(name, f"over {2 * (Image.MAX_IMAGE_PIXELS or 0) / 1e6:,.0f} MP") from None
    except UnidentifiedImageError:
        raise ImageError(f"{name} is not an image this app can read. Choose a {SUPPORTED} file.") from None
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, MemoryError) as exc:
        raise ImageError(
            f"{name} could not be decoded ({exc}). It may be truncated or corrupt: export it again."
        ) from None
    im = _to_rgb_or_l(im, notes)
    if max_side and max(im.size) > max_side:
        before = im.size
        im.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        notes.append(f"downscaled once from {before[0]}x{before[1]} to {im.size[0]}x{im.size[1]}")
    return LoadedImage(image=im, original_size=(w, h), format=fmt, notes=notes)


def to_tensor(im: Image.Image, gray: bool = False) -> torch.Tensor:
    """PIL image -> float tensor ``(C, H, W)`` in [0, 1]; ``gray=True`` gives one luminance channel."""
    im = im.convert("L") if gray else im.convert("RGB")
    arr = np.asarray(im, dtype=np.float32) / 255.0
    t = torch.from_numpy(arr.copy())
    return t.unsqueeze(0) if t.ndim == 2 else t.permute(2, 0, 1)
