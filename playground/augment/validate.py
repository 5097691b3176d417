"""Pipeline validation: mistakes explained with their fix, before anything runs.

``validate`` follows the image through the enabled steps (dtype, size,
channels, normalised or not) and reports each problem as a sentence: Normalize
before the image is a float tensor, a crop larger than the image, a mean/std
of the wrong length, a photometric step after Normalize, MixUp without a fixed
size, ... ``check`` raises the first error as a PipelineError.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from playground.augment.spec import PipelineError, normalize_spec
from playground.augment.transforms import TRANSFORMS, build_step


@dataclass(frozen=True)
class Problem:
    """Something wrong with a pipeline: which step (0-based; None for the whole), how bad, what to do."""

    step: int | None
    level: str  # "error" (cannot run) or "warning" (runs, but probably not what you want)
    message: str


def _size_hw(v: Any) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (v[0], v[1])


def _fmt(hw: tuple[int, int]) -> str:
    return f"{hw[1]}x{hw[0]}"  # width x height, as photo sizes are quoted


def validate(spec: dict, image_size: tuple[int, int] | None = None, channels: int = 3) -> list[Problem]:
    """Every problem of ``spec`` on an image of ``image_size`` = (height, width), if known.

    Follows the image through the enabled steps (dtype, size, channels,
    normalised or not) and reports each mistake as a sentence with its fix.
    """
    spec = normalize_spec(spec)
    problems: list[Problem] = []
    dtype, normalized, size, fixed = "uint8", False, image_size, False
    batch_step: str | None = None
    for i, step in enumerate(spec["steps"]):
        if not step["enabled"]:
            continue
        name, prm = step["name"], step["params"]
        info = TRANSFORMS.get(name)
        label = f"Step {i + 1} ({name})"

        def err(msg: str, level: str = "error") -> None:
            problems.append(Problem(i, level, f"{label}: {msg}"))

        if name == "GaussianBlur" and prm["kernel_size"] % 2 == 0:
            err(
                f"kernel_size {prm['kernel_size']} is even; a blur kernel needs a centre pixel: use an odd size such as "
                f"{prm['kernel_size'] + 1}."
            )
            continue
        try:
            if info.batch_level:
                from torchvision.transforms import v2

                getattr(v2, name)(alpha=prm["alpha"], num_classes=2)
            else:
                build_step(step)
        except (ValueError, TypeError) as exc:
            err(f"torchvision refuses these parameters ({exc}). Change them.")
            continue
        if info.batch_level:
            if dtype != "float":
                err("it mixes float tensors, but the images are still uint8 here: put ToTensor before it.")
            if not fixed:
                err(
                    "it mixes a batch, so every image must come out the same size: add a Resize with height and width, "
                    "a CenterCrop, RandomCrop or RandomResizedCrop before it."
                )
            batch_step = batch_step or name
            continue
        if batch_step:
            err(f"it comes after {batch_step}, which works on whole batches: move it above {batch_step}.")
        if info.needs_float and dtype == "uint8":
            err(
                "it comes before the image is a float tensor (it is still uint8, 0..255, at this point). "
                "Add ToTensor above it, or move it below ToTensor."
            )
        if info.photometric and normalized:
            err(
                "it runs after Normalize, on values around -2..2 instead of 0..1, so it clips and distorts them. "
                "Move it above Normalize.",
                "warning",
            )
        if name == "Normalize":
            for key in ("mean", "std"):
                n = len(prm[key])
                if n not in (1, channels):
                    err(
                        f"{key} has {n} values but the image has {channels} channel{'s' * (channels != 1)} here: "
                        f"give {channels} values (one per channel) or a single one for all."
                    )
            if any(s <= 0 for s in prm["std"]):
                err("every std must be positive (dividing by zero gives infinities).")
            normalized = True
        elif name == "RandomSolarize" and dtype == "float" and prm["threshold"] > 1:
            err(
                f"threshold {prm['threshold']:g} is on the 0..255 scale, but the image is a float tensor in 0..1 here: "
                "use a threshold of at most 1 (e.g. 0.5), or move it before ToTensor."
            )
        elif name == "ToTensor":
            dtype = "float"
        elif name == "Grayscale":
            channels = int(prm["num_output_channels"])
        elif name == "RandomRotation" and prm["expand"]:
            size, fixed = None, False
        elif name == "Resize":
            s = prm["size"]
            if isinstance(s, list):
                size, fixed = (s[0], s[1]), True
            elif size is not None:
                h, w = size
                size = (s, int(s * w / h)) if h <= w else (int(s * h / w), s)
        elif name in ("CenterCrop", "RandomCrop", "RandomResizedCrop"):
            crop = _size_hw(prm["size"])
            if size is not None and name == "RandomCrop" and not prm["pad_if_needed"]:
                pad = prm["padding"] or 0
                padded = (size[0] + 2 * pad, size[1] + 2 * pad)
                if crop[0] > padded[0] or crop[1] > padded[1]:
                    where = f"the {_fmt(size)} image" + (f" ({_fmt(padded)} with its padding)" if pad else "")
                    err(
                        f"a {_fmt(crop)} crop is larger than {where} at this point. Lower the size, add padding or "
                        "turn on pad_if_needed, or resize the image first."
                    )
            if size is not None and name == "CenterCrop" and (crop[0] > size[0] or crop[1] > size[1]):
                err(
                    f"a {_fmt(crop)} crop is larger than the {_fmt(size)} image at this point, so torchvision pads "
                    "the missing border with black. Lower the size or Resize first.",
                    "warning",
                )
            size, fixed = crop, True
    if dtype == "uint8" and any(s["enabled"] for s in spec["steps"]):
        problems.append(
            Problem(
                None,
                "warning",
                "The model would receive uint8 values 0..255: add ToTensor (and usually Normalize) at the end.",
            )
        )
    return problems


def check(spec: dict, image_size: tuple[int, int] | None = None, channels: int = 3) -> dict:
    """``normalize_spec`` + ``validate``; raises PipelineError with the first error, returns the spec."""
    spec = normalize_spec(spec)
    errors = [p for p in validate(spec, image_size, channels) if p.level == "error"]
    if errors:
        more = f" ({len(errors) - 1} more problem{'s' * (len(errors) > 2)} after it.)" if len(errors) > 1 else ""
        raise PipelineError(errors[0].message + more)
    return spec
