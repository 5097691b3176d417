"""``python -m playground augment PIPELINE IMAGE --n N --seed S --out DIR``.

Writes N augmented samples of IMAGE as PNG files into DIR (created if needed)
and prints their paths, one per line. PIPELINE is a preset name, a JSON spec
or a path to a JSON file. Sample i is drawn exactly as the studio's grid draws
it (``torch.manual_seed(seed + i)``), so the files match the preview; normalised
samples are saved denormalised so they look like photos.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

PREVIEW_MAX_SIDE = (
    1024  # = augment_preview.PREVIEW_MAX_SIDE, written out so `--help` never imports torch (a test checks)
)


def add_parser(subparsers) -> None:
    """Register the ``augment`` sub-command."""
    p = subparsers.add_parser(
        "augment",
        help="write N augmented samples of an image as PNG files",
        description="Run an augmentation pipeline on one image and save the samples as PNG files.",
    )
    p.add_argument(
        "pipeline", metavar="PIPELINE", help="a preset name (e.g. article-train, cifar), a JSON spec or a JSON file"
    )
    p.add_argument("image", metavar="IMAGE", help="the image file (JPEG, PNG, WebP, BMP, GIF, TIFF)")
    p.add_argument("--n", type=int, default=16, help="how many samples (default 16)")
    p.add_argument(
        "--seed", type=int, default=0, help="sample i is drawn after torch.manual_seed(seed + i) (default 0)"
    )
    p.add_argument("--out", default="augmented", help="output folder, created if needed (default ./augmented)")
    p.add_argument(
        "--max-side",
        type=int,
        default=PREVIEW_MAX_SIDE,
        help=f"downscale the image once so neither side exceeds this (default {PREVIEW_MAX_SIDE}, as the studio)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Handler: decode, augment, save, print the paths."""
    from PIL import Image

    from playground.augment.pipelines import load_pipeline
    from playground.augment.preview import display_array, image_tensor, last_normalize, preview_grid
    from playground.cli import CLIError
    from playground.common.images import load_image

    if not 1 <= args.n <= 1000:
        raise CLIError(f"--n must be between 1 and 1000, not {args.n}.")
    if args.max_side < 8:
        raise CLIError(f"--max-side must be at least 8 pixels, not {args.max_side}.")
    spec = load_pipeline(args.pipeline)
    path = Path(args.image)
    if not path.is_file():
        raise CLIError(f"{args.image} does not exist or is not a file.")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CLIError(f"{args.image} could not be read ({exc.strerror}).") from None
    loaded = load_image(data, name=path.name, max_side=args.max_side)
    samples = preview_grid(spec, image_tensor(loaded.image), n=args.n, seed=args.seed)
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CLIError(f"The output folder {out} could not be created ({exc.strerror}).") from None
    norm = last_normalize(spec)
    for i, sample in enumerate(samples):
        target = out / f"{path.stem}_{i:03d}.png"
        arr = display_array(sample, norm if sample.is_floating_point() else None)
        try:
            Image.fromarray(arr).save(target)
        except OSError as exc:
            raise CLIError(f"{target} could not be written ({exc.strerror}).") from None
        print(target)
    for note in loaded.notes:
        sys.stderr.write(f"note: {path.name}: {note}\n")
    return 0
