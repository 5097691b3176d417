"""Pipeline spec -> torchvision v2 Python source that reproduces the studio's preview exactly.

The constructor arguments come from ``augment_transforms.step_kwargs``, the
same function that builds the preview's transforms; arguments equal to
torchvision's own defaults are left out so the code reads like hand-written
code. The generated module defines ``transform``, ``load_image`` (the
studio's decoding: EXIF orientation, 16-bit and float ranges stretched, RGB on white, downscaled once to
``MAX_SIDE``), ``augmented_samples`` (sample i after ``torch.manual_seed(seed + i)``,
as the preview grid), and with MixUp/CutMix ``batch_transform`` and ``mix_batch``.
"""

from __future__ import annotations

import enum
import inspect
from typing import Any

import torch

from playground.augment.pipelines import load_pipeline
from playground.augment.preview import PREVIEW_MAX_SIDE
from playground.augment.spec import normalize_spec
from playground.augment.transforms import TRANSFORMS, step_kwargs


def literal(v: Any) -> str:
    """Python source for one argument value."""
    from torchvision.transforms import v2

    if isinstance(v, v2.InterpolationMode):
        return f"v2.InterpolationMode.{v.name}"
    if isinstance(v, v2.AutoAugmentPolicy):
        return f"v2.AutoAugmentPolicy.{v.name}"
    if isinstance(v, torch.dtype):
        return str(v)
    if isinstance(v, enum.Enum):  # pragma: no cover - no other enums today
        return f"{type(v).__name__}.{v.name}"
    if isinstance(v, tuple):
        return "(" + ", ".join(literal(x) for x in v) + ("," if len(v) == 1 else "") + ")"
    if isinstance(v, list):
        return "[" + ", ".join(literal(x) for x in v) + "]"
    return repr(v)


def _same(a: Any, b: Any) -> bool:
    """Whether a kwarg equals torchvision's default (enums vs their strings, lists vs tuples)."""

    def canon(x: Any) -> Any:
        return x.value if isinstance(x, enum.Enum) else (tuple(x) if isinstance(x, list) else x)

    return isinstance(a, bool) == isinstance(b, bool) and canon(a) == canon(b)


def call_source(step: dict) -> list[str]:
    """``["v2.RandomCrop(32, padding=4)"]`` for one step (ToTensor gives its two v2 transforms)."""
    from torchvision.transforms import v2

    name = step["name"]
    if name == "ToTensor":
        return ["v2.ToImage()", "v2.ToDtype(torch.float32, scale=True)"]
    kwargs = step_kwargs(step)
    sig = inspect.signature(getattr(v2, name)).parameters
    args = []
    for key, value in kwargs.items():
        default = sig[key].default
        if default is not inspect.Parameter.empty and _same(value, default):
            continue
        args.append(literal(value) if key == "size" else f"{key}={literal(value)}")
    if TRANSFORMS.get(name).batch_level:
        args.append("num_classes=NUM_CLASSES")
    return [f"v2.{name}({', '.join(args)})"]


def step_source(step: dict) -> str:
    """One step as a short expression (for labels): ``RandomCrop(32, padding=4)``."""
    text = " + ".join(c.removeprefix("v2.") for c in call_source(step))
    return text.replace(", num_classes=NUM_CLASSES", "").replace("num_classes=NUM_CLASSES", "")


_LOADER = '''
def load_image(path, max_side=MAX_SIDE):
    """Decode a photo as the studio does: EXIF orientation, RGB (transparency on white), downscaled once."""
    im = Image.open(path)
    if max_side and max(im.size) > max_side and im.format == "JPEG":
        scale = max_side / max(im.size)  # decode JPEGs at a reduced scale, as the studio does
        im.draft("RGB", (max(1, int(im.width * scale)), max(1, int(im.height * scale))))
    im = ImageOps.exif_transpose(im)
    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        # 16-bit or float data: stretch its value range to 0..255, as the studio does (convert() would clip to white)
        arr = np.asarray(im, dtype=np.float64)
        lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
        scaled = np.zeros_like(arr) if hi <= lo else (arr - lo) / (hi - lo) * 255.0
        im = Image.fromarray(np.nan_to_num(scaled).astype(np.uint8), "L")
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La", "P") and (im.mode != "P" or "transparency" in im.info):
        im = Image.alpha_composite(Image.new("RGBA", im.size, (255, 255, 255, 255)), im.convert("RGBA"))
    im = im.convert("RGB")
    if max_side and max(im.size) > max_side:
        im.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return v2.functional.to_image(im)  # uint8 tensor (3, H, W)


def augmented_samples(image, n={n}, seed={seed}):
    """The studio's preview grid: sample i is transform(image) right after torch.manual_seed(seed + i)."""
    samples = []
    for i in range(n):
        torch.manual_seed(seed + i)
        samples.append(transform(image))
    return samples
'''

_MIX = '''

def mix_batch(images, labels, seed={seed}):
    """Augment images[i] with seed + i, stack, then mix right after torch.manual_seed(seed) (as the studio)."""
    batch = torch.stack([s.as_subclass(torch.Tensor) for s in
                         (augmented_samples(img, 1, seed + i)[0] for i, img in enumerate(images))])
    torch.manual_seed(seed)
    return batch_transform(batch, torch.as_tensor(labels))
'''

_MAIN = """

if __name__ == "__main__":
    import sys
    from pathlib import Path

    from torchvision.utils import save_image

    image = load_image(sys.argv[1])
    out = Path(sys.argv[2] if len(sys.argv) > 2 else "augmented")
    out.mkdir(parents=True, exist_ok=True)
    for i, sample in enumerate(augmented_samples(image)):
        sample = sample.float() / 255 if not sample.is_floating_point() else sample
        {denorm}save_image(sample.clamp(0, 1), out / f"sample_{{i:02d}}.png")
        print(out / f"sample_{{i:02d}}.png")
"""


def pipeline_source(
    spec: Any, n: int = 16, seed: int = 0, max_side: int | None = PREVIEW_MAX_SIDE, num_classes: int = 10
) -> str:
    """A runnable Python module for ``spec`` (see the module docstring for what it defines)."""
    spec = normalize_spec(load_pipeline(spec))
    lines = [
        '"""Augmentation pipeline exported from CNN Playground (Augmentation Studio).',
        "",
        "Run it on a photo: python this_file.py photo.jpg [out_dir]  (writes the preview grid as PNG files).",
        '"""',
        "import numpy as np",
        "import torch",
        "from PIL import Image, ImageOps",
        "from torchvision.transforms import v2",
        "",
        f"MAX_SIDE = {max_side!r}  # the studio downscales larger photos once, on arrival",
        "",
        "transform = v2.Compose([",
    ]
    batch = []
    for step in spec["steps"]:
        info = TRANSFORMS.get(step["name"])
        if info.batch_level:
            if step["enabled"]:
                batch.append(step)
            continue
        calls = call_source(step)
        comment = "  # ToTensor" if step["name"] == "ToTensor" else ""
        for call in calls:
            lines.append(f"    {call},{comment}" if step["enabled"] else f"    # {call},  (switched off in the studio)")
            comment = ""
    lines.append("])")
    if batch:
        mixes = [call_source(s)[0] for s in batch]
        lines += [
            "",
            "# MixUp / CutMix mix a whole batch of (images, integer labels) into soft labels.",
            f"NUM_CLASSES = {int(num_classes)}",
            f"batch_transform = {mixes[0]}"
            if len(mixes) == 1
            else f"batch_transform = v2.RandomChoice([{', '.join(mixes)}])  # one of them per batch",
        ]
    lines.append("")
    src = "\n".join(lines) + "\n" + _LOADER.format(n=int(n), seed=int(seed))
    if batch:
        src += _MIX.format(seed=int(seed))
    norm = None
    for step in spec["steps"]:
        if step["enabled"] and step["name"] == "Normalize":
            norm = step["params"]
    denorm = ""
    if norm:
        denorm = (
            f"sample = sample * torch.tensor({norm['std']}).view(-1, 1, 1) + "
            f"torch.tensor({norm['mean']}).view(-1, 1, 1)  # undo Normalize to view it\n        "
        )
    return src + _MAIN.format(denorm=denorm)
