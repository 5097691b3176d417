"""Augmentation pipelines: a JSON spec that builds the real ``torchvision.transforms.v2`` pipeline.

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
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playground.augment_transforms import (
    CIFAR_MEAN, CIFAR_STD, IMAGENET_MEAN, IMAGENET_STD, TRANSFORMS, Param, build_step, default_params, step_kwargs,
)
from playground.registry import Registry

MAX_STEPS = 24


class PipelineError(ValueError):
    """A pipeline that cannot be used; the message says what is wrong and how to fix it."""


# -- specs ---------------------------------------------------------------------------------------


def make_step(name: str, enabled: bool = True, **params: Any) -> dict:
    """A complete step dict: schema defaults overridden by ``params``."""
    full = default_params(name)
    unknown = set(params) - set(full)
    if unknown:
        raise PipelineError(f"{name} has no parameter {sorted(unknown)[0]!r}; it takes: {', '.join(full) or 'nothing'}.")
    full.update({k: (list(v) if isinstance(v, tuple) else v) for k, v in params.items()})
    return {"name": name, "params": full, "enabled": bool(enabled)}


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _coerce(p: Param, v: Any, where: str) -> Any:
    """Check one JSON value against its schema; returns it in canonical form or raises PipelineError."""
    if v is None:
        if p.optional:
            return None
        raise PipelineError(f"{where}: '{p.name}' cannot be empty; give a value like {p.default!r}.")

    def in_range(x: float) -> float:
        if (p.lo is not None and x < p.lo) or (p.hi is not None and x > p.hi):
            raise PipelineError(f"{where}: '{p.name}' = {x:g} is outside {p.lo:g}..{p.hi:g}; choose a value in that range.")
        return x

    bad = PipelineError(f"{where}: '{p.name}' = {v!r} is not valid; expected {_expected(p)}.")
    if p.kind == "bool":
        if not isinstance(v, bool):
            raise bad
        return v
    if p.kind == "choice":
        if v not in p.choices:
            raise PipelineError(f"{where}: '{p.name}' = {v!r} is not one of {', '.join(map(str, p.choices))}.")
        return v
    if p.kind == "int":
        if not _number(v) or float(v) != int(v):
            raise bad
        return int(in_range(int(v)))
    if p.kind == "float":
        if not _number(v):
            raise bad
        return float(in_range(float(v)))
    if p.kind in ("range", "pair"):
        if not isinstance(v, (list, tuple)) or len(v) != 2 or not all(_number(x) for x in v):
            raise bad
        lo, hi = (float(in_range(float(x))) for x in v)
        if p.kind == "range" and lo > hi:
            raise PipelineError(f"{where}: '{p.name}' = [{lo:g}, {hi:g}] runs backwards; give [low, high].")
        return [lo, hi]
    if p.kind == "size":
        if isinstance(v, (list, tuple)) and len(v) == 1:
            v = v[0]
        if _number(v) and float(v) == int(v):
            return int(in_range(int(v)))
        if isinstance(v, (list, tuple)) and len(v) == 2 and all(_number(x) and float(x) == int(x) for x in v):
            return [int(in_range(int(x))) for x in v]
        raise bad
    if p.kind == "floats":
        if not isinstance(v, (list, tuple)) or not 1 <= len(v) <= 4 or not all(_number(x) for x in v):
            raise bad
        return [float(x) for x in v]
    raise bad  # pragma: no cover - every kind is handled above


def _expected(p: Param) -> str:
    return {
        "bool": "true or false", "int": "a whole number", "float": "a number", "range": "[low, high]",
        "pair": "[x, y]", "size": "a whole number or [height, width]", "floats": "a list of 1 to 4 numbers",
    }.get(p.kind, "a valid value")


def normalize_spec(obj: Any) -> dict:
    """Check and complete a pipeline given as ``{"steps": [...]}`` or a bare list of steps.

    Missing parameters get their defaults; unknown transforms, unknown parameters
    and bad values raise PipelineError naming the step and the fix.
    """
    if isinstance(obj, dict):
        if "steps" not in obj:
            raise PipelineError('A pipeline is {"steps": [...]}: this JSON has no "steps" list.')
        steps = obj["steps"]
    else:
        steps = obj
    if not isinstance(steps, list):
        raise PipelineError('A pipeline\'s "steps" must be a list of {"name": ..., "params": {...}} objects.')
    if len(steps) > MAX_STEPS:
        raise PipelineError(f"A pipeline may have at most {MAX_STEPS} steps; this one has {len(steps)}.")
    out = []
    for i, step in enumerate(steps):
        if isinstance(step, str):
            step = {"name": step}
        if not isinstance(step, dict) or not isinstance(step.get("name"), str):
            raise PipelineError(f'Step {i + 1} must be an object with a "name" (a transform such as "RandomCrop").')
        name = step["name"]
        try:
            info = TRANSFORMS.get(name)
        except ValueError as exc:
            raise PipelineError(f"Step {i + 1}: {exc}") from None
        where = f"Step {i + 1} ({name})"
        params = step.get("params") or {}
        if not isinstance(params, dict):
            raise PipelineError(f'{where}: "params" must be an object mapping parameter names to values.')
        names = [p.name for p in info.params]
        unknown = [k for k in params if k not in names]
        if unknown:
            raise PipelineError(f"{where} has no parameter {unknown[0]!r}; it takes: {', '.join(names) or 'nothing'}.")
        enabled = step.get("enabled", True)
        if not isinstance(enabled, bool):
            raise PipelineError(f'{where}: "enabled" must be true or false.')
        full = {p.name: _coerce(p, params.get(p.name, copy.deepcopy(p.default)), where) for p in info.params}
        out.append({"name": name, "params": full, "enabled": enabled})
    return {"steps": out}


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

PIPELINES.register("article-train", Preset(
    "Article: training", "The article's train_transform, exactly as printed (ToTensor in its v2 form).",
    [
        make_step("RandomResizedCrop", size=224, scale=[0.8, 1.0]),
        make_step("RandomHorizontalFlip", p=0.5),
        make_step("RandomRotation", degrees=15),
        make_step("ColorJitter", brightness=0.2, contrast=0.2, saturation=0.2, hue=0.1),
        make_step("RandomAffine", degrees=0, translate=[0.1, 0.1]),
        *_TENSOR,
        make_step("RandomErasing", p=0.1),
    ],
))
PIPELINES.register("article-val", Preset(
    "Article: validation", "The article's val_transform: only resize and normalize.",
    [make_step("Resize", size=256), make_step("CenterCrop", size=224), *_TENSOR],
))
PIPELINES.register("cifar", Preset(
    "CIFAR standard", "Random crop 32 with 4 pixels of padding and a horizontal flip: the classic CIFAR-10 recipe.",
    [make_step("RandomCrop", size=32, padding=4), make_step("RandomHorizontalFlip", p=0.5), make_step("ToTensor"),
     make_step("Normalize", mean=CIFAR_MEAN, std=CIFAR_STD)],
    max_side=48,  # shrink a photo to about CIFAR's scale (48x32 or so) so the 32x32 crop shows most of it
))
PIPELINES.register("imagenet-train", Preset(
    "ImageNet standard: training", "RandomResizedCrop(224) and a flip, as torchvision's ImageNet reference trains.",
    [*_IMAGENET_TRAIN_HEAD, *_TENSOR],
))
PIPELINES.register("imagenet-val", Preset(
    "ImageNet standard: validation", "Resize(256) and CenterCrop(224), as torchvision's ImageNet weights are evaluated.",
    [make_step("Resize", size=256), make_step("CenterCrop", size=224), *_TENSOR],
))
for _name, _title, _step, _what in [
    ("autoaugment", "AutoAugment", make_step("AutoAugment", policy="imagenet"), "AutoAugment's learned ImageNet policy"),
    ("randaugment", "RandAugment", make_step("RandAugment"), "RandAugment (2 operations at magnitude 9)"),
    ("trivialaugment", "TrivialAugmentWide", make_step("TrivialAugmentWide"), "TrivialAugmentWide (one operation, random strength)"),
    ("augmix", "AugMix", make_step("AugMix"), "AugMix (three chains mixed with the original)"),
]:
    PIPELINES.register(_name, Preset(
        _title, f"The ImageNet training recipe with {_what} after the crop and flip.",
        [*copy.deepcopy(_IMAGENET_TRAIN_HEAD), _step, *copy.deepcopy(_TENSOR)],
    ))
PIPELINES.register("none", Preset("None", "No augmentation: the image as a float tensor in [0, 1].", [make_step("ToTensor")]))


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
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise PipelineError(f"{source} is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}).") from None
        return normalize_spec(obj)
    raise PipelineError("Give a pipeline as a preset name, a JSON spec or a path to a JSON file.")


# -- validation ----------------------------------------------------------------------------------


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
            err(f"kernel_size {prm['kernel_size']} is even; a blur kernel needs a centre pixel: use an odd size such as "
                f"{prm['kernel_size'] + 1}.")
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
                err("it mixes a batch, so every image must come out the same size: add a Resize with height and width, "
                    "a CenterCrop, RandomCrop or RandomResizedCrop before it.")
            batch_step = batch_step or name
            continue
        if batch_step:
            err(f"it comes after {batch_step}, which works on whole batches: move it above {batch_step}.")
        if info.needs_float and dtype == "uint8":
            err("it comes before the image is a float tensor (it is still uint8, 0..255, at this point). "
                "Add ToTensor above it, or move it below ToTensor.")
        if info.photometric and normalized:
            err("it runs after Normalize, on values around -2..2 instead of 0..1, so it clips and distorts them. "
                "Move it above Normalize.", "warning")
        if name == "Normalize":
            for key in ("mean", "std"):
                n = len(prm[key])
                if n not in (1, channels):
                    err(f"{key} has {n} values but the image has {channels} channel{'s' * (channels != 1)} here: "
                        f"give {channels} values (one per channel) or a single one for all.")
            if any(s <= 0 for s in prm["std"]):
                err("every std must be positive (dividing by zero gives infinities).")
            normalized = True
        elif name == "RandomSolarize" and dtype == "float" and prm["threshold"] > 1:
            err(f"threshold {prm['threshold']:g} is on the 0..255 scale, but the image is a float tensor in 0..1 here: "
                "use a threshold of at most 1 (e.g. 0.5), or move it before ToTensor.")
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
                    err(f"a {_fmt(crop)} crop is larger than {where} at this point. Lower the size, add padding or "
                        "turn on pad_if_needed, or resize the image first.")
            if size is not None and name == "CenterCrop" and (crop[0] > size[0] or crop[1] > size[1]):
                err(f"a {_fmt(crop)} crop is larger than the {_fmt(size)} image at this point, so torchvision pads "
                    "the missing border with black. Lower the size or Resize first.", "warning")
            size, fixed = crop, True
    if dtype == "uint8" and any(s["enabled"] for s in spec["steps"]):
        problems.append(Problem(None, "warning", "The model would receive uint8 values 0..255: add ToTensor (and usually "
                                                 "Normalize) at the end."))
    return problems


def check(spec: dict, image_size: tuple[int, int] | None = None, channels: int = 3) -> dict:
    """``normalize_spec`` + ``validate``; raises PipelineError with the first error, returns the spec."""
    spec = normalize_spec(spec)
    errors = [p for p in validate(spec, image_size, channels) if p.level == "error"]
    if errors:
        more = f" ({len(errors) - 1} more problem{'s' * (len(errors) > 2)} after it.)" if len(errors) > 1 else ""
        raise PipelineError(errors[0].message + more)
    return spec


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
