"""Augmentation pipelines: a JSON spec that builds the real ``torchvision.transforms.v2`` pipeline.

The public face of the feature; specs live in ``augment_spec``, checks in
``augment_validate``, the transform schemas in ``augment_transforms``.

A pipeline spec is a plain dict, the same for presets, the studio page, the
CLI and training runs::

    {"steps": [{"name": "RandomCrop", "params": {"size": 32, "padding": 4, ...}, "enabled": true}, ...]}

``normalize_spec`` checks and completes one (every parameter present, values
coerced and range-checked, a sentence for anything wrong); ``validate`` finds
pipelines that would fail or mislead (Normalize before the image is a float
tensor, a crop larger than the image, a mean/std of the wrong length ...) and
says how to fix each; ``build_transform`` gives the ``v2.Compose`` of the
enabled per-image steps; ``build_batch_transform`` the batch-level MixUp /
CutMix. ``PIPELINES`` holds the presets, the article's two among them exactly
as printed there.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playground.augment.spec import PipelineError, make_step, normalize_spec
from playground.augment.transforms import (
    CIFAR_MEAN,
    CIFAR_STD,
    IMAGENET_MEAN,
    IMAGENET_STD,
    TRANSFORMS,
    build_step,
    step_kwargs,
)
from playground.augment.validate import check
from playground.common.jsontext import loads as json_loads
from playground.common.registry import Registry


def to_json(spec: Any, indent: int | None = 2) -> str:
    """The spec as JSON text (what the studio downloads and the CLI reads): one line per step."""
    steps = load_pipeline(spec)["steps"]
    if indent is None:
        return json.dumps({"steps": steps}, separators=(",", ":"))
    pad = " " * indent
    lines = [f"{pad}{pad}{json.dumps(s)}" for s in steps]
    return "{\n" + f'{pad}"steps": [' + ("\n" + ",\n".join(lines) + f"\n{pad}" if lines else "") + "]\n}\n"


# -- presets -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Preset:
    """A named pipeline: what it is for, its steps, and the image size it expects."""

    title: str
    description: str
    steps: list = field(default_factory=list)
    max_side: int | None = None  # a suggestion for previews (CIFAR pipelines expect 32x32 images)

    def spec(self) -> dict:
        """A fresh copy of the preset's spec."""
        return normalize_spec({"steps": copy.deepcopy(self.steps)})


PIPELINES: Registry[Preset] = Registry("pipeline preset")

_TENSOR = [make_step("ToTensor"), make_step("Normalize", mean=IMAGENET_MEAN, std=IMAGENET_STD)]
_IMAGENET_TRAIN_HEAD = [make_step("RandomResizedCrop", size=224), make_step("RandomHorizontalFlip", p=0.5)]

PIPELINES.register(
    "article-train",
    Preset(
        "Article: training",
        "The article's train_transform, exactly as printed (ToTensor in its v2 form).",
        [
            make_step("RandomResizedCrop", size=224, scale=[0.8, 1.0]),
            make_step("RandomHorizontalFlip", p=0.5),
            make_step("RandomRotation", degrees=15),
            make_step("ColorJitter", brightness=0.2, contrast=0.2, saturation=0.2, hue=0.1),
            make_step("RandomAffine", degrees=0, translate=[0.1, 0.1]),
            *_TENSOR,
            make_step("RandomErasing", p=0.1),
        ],
    ),
)
PIPELINES.register(
    "article-val",
    Preset(
        "Article: validation",
        "The article's val_transform: only resize and normalize.",
        [make_step("Resize", size=256), make_step("CenterCrop", size=224), *_TENSOR],
    ),
)
PIPELINES.register(
    "cifar",
    Preset(
        "CIFAR standard",
        "Random crop 32 with 4 pixels of padding and a horizontal flip: the classic CIFAR-10 recipe.",
        [
            make_step("RandomCrop", size=32, padding=4),
            make_step("RandomHorizontalFlip", p=0.5),
            make_step("ToTensor"),
            make_step("Normalize", mean=CIFAR_MEAN, std=CIFAR_STD),
        ],
        max_side=48,  # shrink a photo to about CIFAR's scale (48x32 or so) so the 32x32 crop shows most of it
    ),
)
PIPELINES.register(
    "imagenet-train",
    Preset(
        "ImageNet standard: training",
        "RandomResizedCrop(224) and a flip, as torchvision's ImageNet reference trains.",
        [*_IMAGENET_TRAIN_HEAD, *_TENSOR],
    ),
)
PIPELINES.register(
    "imagenet-val",
    Preset(
        "ImageNet standard: validation",
        "Resize(256) and CenterCrop(224), as torchvision's ImageNet weights are evaluated.",
        [make_step("Resize", size=256), make_step("CenterCrop", size=224), *_TENSOR],
    ),
)
for _name, _title, _step, _what in [
    (
        "autoaugment",
        "AutoAugment",
        make_step("AutoAugment", policy="imagenet"),
        "AutoAugment's learned ImageNet policy",
    ),
    ("randaugment", "RandAugment", make_step("RandAugment"), "RandAugment (2 operations at magnitude 9)"),
    (
        "trivialaugment",
        "TrivialAugmentWide",
        make_step("TrivialAugmentWide"),
        "TrivialAugmentWide (one operation, random strength)",
    ),
    ("augmix", "AugMix", make_step("AugMix"), "AugMix (three chains mixed with the original)"),
]:
    PIPELINES.register(
        _name,
        Preset(
            _title,
            f"The ImageNet training recipe with {_what} after the crop and flip.",
            [*copy.deepcopy(_IMAGENET_TRAIN_HEAD), _step, *copy.deepcopy(_TENSOR)],
        ),
    )
PIPELINES.register(
    "none", Preset("None", "No augmentation: the image as a float tensor in [0, 1].", [make_step("ToTensor")])
)


def load_pipeline(p: Any) -> dict:
    """A pipeline spec from a preset name, a dict / list, JSON text, or a path to a JSON file."""
    if isinstance(p, (dict, list)):
        return normalize_spec(p)
    if isinstance(p, Path) or (isinstance(p, str) and p.strip()):
        text = str(p).strip()
        if isinstance(p, str) and text in PIPELINES:
            return PIPELINES.get(text).spec()
        if text[:1] in "{[":
            source = "The pipeline JSON"
        else:
            path = Path(text).expanduser()
            if not path.is_file():
                raise PipelineError(
                    f"{text!r} is neither a pipeline preset ({', '.join(PIPELINES.names())}) nor a JSON file."
                )
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise PipelineError(f"{path} could not be read ({exc}).") from None
            source = str(path)
        try:
            obj = json_loads(text)
        except json.JSONDecodeError as exc:
            raise PipelineError(
                f"{source} is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})."
            ) from None
        return normalize_spec(obj)
    raise PipelineError("Give a pipeline as a preset name, a JSON spec or a path to a JSON file.")


# -- building ------------------------------------------------------------------------------------


def per_image_steps(spec: dict) -> list[tuple[int, dict]]:
    """(index, step) of the enabled steps that work on one image at a time."""
    return [(i, s) for i, s in enumerate(spec["steps"]) if s["enabled"] and not TRANSFORMS.get(s["name"]).batch_level]


def batch_steps(spec: dict) -> list[dict]:
    """The enabled batch-level steps (MixUp / CutMix)."""
    return [s for s in spec["steps"] if s["enabled"] and TRANSFORMS.get(s["name"]).batch_level]


def build_transform(spec: Any):
    """The ``v2.Compose`` of the enabled per-image steps (MixUp/CutMix excluded: see build_batch_transform).

    ``spec`` may be anything ``load_pipeline`` accepts. Raises PipelineError for an invalid pipeline.
    """
    from torchvision.transforms import v2

    spec = check(load_pipeline(spec))
    return v2.Compose([t for _, s in per_image_steps(spec) for t in build_step(s)])


def build_batch_transform(spec: Any, num_classes: int):
    """MixUp / CutMix for ``(images (B, C, H, W) float, labels (B,) int64)`` batches, or None if there is none.

    With both enabled, each batch gets one of them at random (``v2.RandomChoice``),
    as torchvision's reference recipe does.
    """
    from torchvision.transforms import v2

    spec = check(load_pipeline(spec))
    mixes = [getattr(v2, s["name"])(**step_kwargs(s), num_classes=int(num_classes)) for s in batch_steps(spec)]
    if not mixes:
        return None
    return mixes[0] if len(mixes) == 1 else v2.RandomChoice(mixes)
