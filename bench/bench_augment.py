"""Augmentation preview speed: the studio's path against the naive one, in the same run.

A 12-megapixel photo is made by upscaling a bundled sample and saving it as a
camera-like JPEG. For each pipeline, 16 samples are drawn:

* preview path (what the studio does): decode once with the size limit
  (JPEG draft decoding, downscaled once to the studio's default 1024 px), keep
  a uint8 tensor, run the v2 pipeline on it with torchvision's tensor kernels;
* naive path: decode the full-resolution photo with PIL and run the same v2
  pipeline on the PIL image, one sample at a time.

Both run on one torch thread, as the studio's draws do (``augment_preview.seeded``),
so the ratio measures the path, not the thread count; ``--threads`` changes that
for the naive path.

Both are timed alternately (median of --repeats) so machine load hits both
alike, and the ratio is printed. Run: ``python bench/bench_augment.py``.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from PIL import Image, ImageOps  # noqa: E402

from playground.augment import preview as ap  # noqa: E402
from playground.augment.pipelines import build_transform, load_pipeline  # noqa: E402
from playground.common.images import SAMPLE_DIR, load_image  # noqa: E402
from playground.labs.augment import StudioConfig  # noqa: E402


def make_photo(megapixels: float = 12.0) -> bytes:
    """A bundled sample upscaled to about ``megapixels`` and saved as a quality-92 JPEG."""
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


def naive_path(data: bytes, spec: dict, n: int) -> tuple[float, float]:
    """(decode seconds, grid seconds) at full resolution on PIL images, one sample at a time."""
    t0 = time.perf_counter()
    im = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    im.load()
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
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads for the naive path (default 1, as previews)"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    data = make_photo()
    w, h = Image.open(io.BytesIO(data)).size
    print(
        f"photo: {w}x{h} ({w * h / 1e6:.1f} MP) JPEG, {len(data) / 2**20:.1f} MiB; {args.n} samples; "
        f"torch {torch.__version__}; naive path on {torch.get_num_threads()} thread(s), preview on 1; "
        f"median of {args.repeats}"
    )
    print(
        f"{'pipeline':<15} {'preview decode':>14} {'preview grid':>12} {'naive decode':>12} {'naive grid':>11} "
        f"{'grid ratio':>10} {'total ratio':>11}"
    )
    for name in args.pipelines:
        spec = load_pipeline(name)
        preview_path(data, spec, 2, args.max_side)  # warm-up: imports, kernels
        naive_path(data, spec, 2)
        fast, slow = [], []
        for _ in range(args.repeats):  # interleaved, so load changes hit both paths alike
            fast.append(preview_path(data, spec, args.n, args.max_side))
            slow.append(naive_path(data, spec, args.n))
        fd, fg = (statistics.median(x) for x in zip(*fast))
        sd, sg = (statistics.median(x) for x in zip(*slow))
        print(
            f"{name:<15} {fd * 1e3:>11.0f} ms {fg * 1e3:>9.0f} ms {sd * 1e3:>9.0f} ms {sg * 1e3:>8.0f} ms "
            f"{sg / fg:>9.1f}x {(sd + sg) / (fd + fg):>10.1f}x"
        )
    print(
        "grid ratio: naive / preview time for the samples alone (the studio decodes once per upload); "
        "total ratio includes decoding."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
