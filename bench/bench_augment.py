"""Augmentation preview speed: the studio's path against the best plain-PIL path, in the same run.

Two camera-like JPEGs are made by resizing a bundled sample: a 12-megapixel and a 1-megapixel one.
For each pipeline, 16 samples are drawn:

* preview path (what the studio does): decode once with the size limit (``load_image``: JPEG
  draft decoding, downscaled once to the studio's default 1024 px), keep a uint8 tensor, run the
  v2 pipeline on it with torchvision's tensor kernels;
* best PIL path (the baseline): what a careful engineer writes with PIL alone: the same draft
  decoding and one LANCZOS downscale to 1024 px (``Image.draft`` + ``Image.thumbnail``), then the
  same v2 pipeline on the PIL image (PIL's kernels, single-threaded), one sample at a time.

Both paths draw the same samples (sample i after ``torch.manual_seed(i)``) and run interleaved
(median of --repeats) so machine load hits both alike; the ratio is printed per photo and
pipeline. Run: ``python bench/bench_augment.py``.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads, as the app does (playground/__init__.py)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from PIL import Image, ImageOps  # noqa: E402

from playground.augment import preview as ap  # noqa: E402
from playground.augment.pipelines import build_transform, load_pipeline  # noqa: E402
from playground.common.images import SAMPLE_DIR, load_image  # noqa: E402
from playground.labs.augment import StudioConfig  # noqa: E402


def make_photo(megapixels: float = 12.0) -> bytes:
    """A bundled sample resized to about ``megapixels`` and saved as a quality-92 JPEG."""
    src = Image.open(SAMPLE_DIR / "chelsea.png").convert("RGB")
    scale = (megapixels * 1e6 / (src.width * src.height)) ** 0.5
    big = src.resize((round(src.width * scale), round(src.height * scale)), Image.Resampling.BICUBIC)
    buf = io.BytesIO()
    big.save(buf, "JPEG", quality=92)
    return buf.getvalue()


def preview_path(data: bytes, spec: dict, n: int, max_side: int) -> tuple[float, float]:
    """(decode seconds, grid seconds) for the studio's path."""
    t0 = time.perf_counter()
    image = ap.image_tensor(load_image(data, "photo.jpg", max_side=max_side).image)  # decoded once, then cached
    t1 = time.perf_counter()
    ap.preview_grid(spec, image, n=n, seed=0)
    return t1 - t0, time.perf_counter() - t1


def pil_path(data: bytes, spec: dict, n: int, max_side: int) -> tuple[float, float]:
    """(decode seconds, grid seconds) for the best PIL path: draft decoding, one downscale, PIL kernels."""
    t0 = time.perf_counter()
    im = Image.open(io.BytesIO(data))
    if max(im.size) > max_side:
        scale = max_side / max(im.size)
        im.draft("RGB", (int(im.width * scale), int(im.height * scale)))  # decode at 1/2, 1/4 or 1/8 scale
    im = ImageOps.exif_transpose(im).convert("RGB")
    im.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    t1 = time.perf_counter()
    transform = build_transform(spec)
    for i in range(n):
        torch.manual_seed(i)
        transform(im)
    return t1 - t0, time.perf_counter() - t1


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and print a table with the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pipelines", nargs="+", default=["article-train", "article-val", "randaugment"])
    parser.add_argument("--n", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-side", type=int, default=StudioConfig.max_side)
    parser.add_argument("--megapixels", nargs="+", type=float, default=[12.0, 1.0])
    args = parser.parse_args(argv)
    # Torch's own thread count on both sides, as the studio runs previews (augment_preview.seeded leaves it
    # alone); PIL's kernels are single-threaded whatever it is.
    print(
        f"{args.n} samples per grid; torch {torch.__version__}, {torch.get_num_threads()} threads; "
        f"median of {args.repeats} interleaved runs"
    )
    print(
        f"{'photo':<22} {'pipeline':<15} {'preview decode':>14} {'preview grid':>12} {'PIL decode':>10} "
        f"{'PIL grid':>9} {'grid ratio':>10} {'total ratio':>11}"
    )
    for mp in args.megapixels:
        data = make_photo(mp)
        w, h = Image.open(io.BytesIO(data)).size
        photo = f"{w}x{h} ({w * h / 1e6:.1f} MP)"
        for name in args.pipelines:
            spec = load_pipeline(name)
            preview_path(data, spec, 2, args.max_side)  # warm-up: imports, kernels
            pil_path(data, spec, 2, args.max_side)
            fast, slow = [], []
            for _ in range(args.repeats):  # interleaved, so load changes hit both paths alike
                fast.append(preview_path(data, spec, args.n, args.max_side))
                slow.append(pil_path(data, spec, args.n, args.max_side))
            fd, fg = (statistics.median(x) for x in zip(*fast))
            sd, sg = (statistics.median(x) for x in zip(*slow))
            print(
                f"{photo:<22} {name:<15} {fd * 1e3:>11.0f} ms {fg * 1e3:>9.0f} ms {sd * 1e3:>7.0f} ms "
                f"{sg * 1e3:>6.0f} ms {sg / fg:>9.2f}x {(sd + sg) / (fd + fg):>10.2f}x",
                flush=True,
            )
    print(
        "grid ratio: best PIL path / preview time for the samples alone (the studio decodes once per upload); "
        "total ratio includes decoding. Target: >= 1.5x."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
