"""The transforms a pipeline can hold, each with a parameter schema.

Every entry of ``TRANSFORMS`` describes one ``torchvision.transforms.v2``
transform: its parameters (kind, range, default, help), which group it belongs
to, and what it needs from the image (a float tensor, unnormalised values).
The page turns each ``Param`` into a widget; ``step_kwargs`` turns a step's
JSON parameters into the exact keyword arguments of the v2 constructor, and
both ``build_step`` (the real transform) and the code generator use it, so
the preview and the exported code can never disagree.

A step is a JSON-able dict: ``{"name": "RandomCrop", "params": {...}, "enabled": true}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch

from playground.common.registry import Registry

INTERPOLATIONS = ("nearest", "bilinear", "bicubic")
PAD_MODES = ("constant", "edge", "reflect", "symmetric")
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
CIFAR_MEAN = [0.4914, 0.4822, 0.4465]
CIFAR_STD = [0.247, 0.2435, 0.2616]


@dataclass(frozen=True)
class Param:
    """One constructor argument and how a person sets it.

    kind: ``int``, ``float``, ``bool``, ``choice``, ``range`` (two floats lo <= hi),
    ``pair`` (two independent floats), ``size`` (an int, or ``[h, w]``) or
    ``floats`` (a list of numbers, e.g. a per-channel mean).
    ``optional``: the value may be None ("off"; ``on_value`` is where a widget starts
    when switched on); ``zero_is_none``: 0 means None
    (ColorJitter's brightness 0, RandomCrop's padding 0), as torchvision treats it.
    """

    name: str
    kind: str
    default: Any
    lo: float | None = None
    hi: float | None = None
    step: float | None = None
    choices: tuple = ()
    optional: bool = False
    zero_is_none: bool = False
    help: str = ""
    on_value: Any = None  # for optional params: the value a widget starts from when switched on


@dataclass(frozen=True)
class TransformInfo:
    """A transform the studio offers: schema, group and what it needs from its input."""

    name: str  # the key in a pipeline spec (the v2 class name, except ToTensor)
    group: str  # Geometry | Colour | Auto-augment | Tensor | Batch
    summary: str  # one line for menus and tooltips
    params: tuple[Param, ...] = ()
    needs_float: bool = False  # refuses uint8 (Normalize)
    photometric: bool = False  # expects 0..1 (or 0..255) values: wrong after Normalize
    batch_level: bool = False  # mixes a batch with its labels (MixUp, CutMix)
    changes_size: bool = False
    factory: Callable[..., Any] | None = None  # default: getattr(v2, name)

    @property
    def takes_p(self) -> bool:
        """Whether the transform is applied with probability ``p``."""
        return any(p.name == "p" for p in self.params)


TRANSFORMS: Registry[TransformInfo] = Registry("transform")


def _p(default: float = 0.5) -> Param:
    return Param("p", "float", default, 0.0, 1.0, 0.05, help="Probability that a sample gets this transform.")


def _interp(default: str) -> Param:
    return Param("interpolation", "choice", default, choices=INTERPOLATIONS, help="How new pixel values are computed.")


def _size(default: Any, help: str) -> Param:
    return Param("size", "size", default, 1, 4096, 1, help=help)


def _to_tensor_factory():
    # ToTensor in its v2 form: uint8 image -> float32 in [0, 1] (scale=True divides by 255).
    from torchvision.transforms import v2

    return [v2.ToImage(), v2.ToDtype(torch.float32, scale=True)]


def _add(info: TransformInfo) -> None:
    TRANSFORMS.register(info.name, info)


_SQUARE = "Output size in pixels: one number for a square, or height and width."
for _info in [
    # -- geometry ---------------------------------------------------------------------------------
    TransformInfo(
        "Resize",
        "Geometry",
        "Resize; one number sets the shorter side, keeping the aspect ratio.",
        (
            _size(256, "One number: the shorter side becomes this long (aspect kept). Two: exact height x width."),
            _interp("bilinear"),
            Param("antialias", "bool", True, help="Smooth before shrinking (avoids aliasing)."),
        ),
        changes_size=True,
    ),
    TransformInfo("CenterCrop", "Geometry", "Cut out the centre.", (_size(224, _SQUARE),), changes_size=True),
    TransformInfo(
        "RandomCrop",
        "Geometry",
        "Cut out a random window (optionally after padding the border).",
        (
            _size(32, _SQUARE),
            Param(
                "padding",
                "int",
                0,
                0,
                256,
                1,
                zero_is_none=True,
                help="Pixels added on every side before cropping (0: none).",
            ),
            Param(
                "pad_if_needed",
                "bool",
                False,
                help="Pad the image when it is smaller than the crop instead of failing.",
            ),
            Param(
                "padding_mode",
                "choice",
                "constant",
                choices=PAD_MODES,
                help="constant: black border; edge: repeat the edge; reflect/symmetric: mirror the image.",
            ),
        ),
        changes_size=True,
    ),
    TransformInfo(
        "RandomResizedCrop",
        "Geometry",
        "Crop a random area and aspect ratio, then resize to a fixed size.",
        (
            _size(224, _SQUARE),
            Param("scale", "range", [0.08, 1.0], 0.01, 1.0, 0.01, help="Fraction of the image area the crop covers."),
            Param("ratio", "range", [0.75, 4 / 3], 0.1, 10.0, 0.05, help="Aspect ratio (width / height) of the crop."),
            _interp("bilinear"),
            Param("antialias", "bool", True, help="Smooth before shrinking (avoids aliasing)."),
        ),
        changes_size=True,
    ),
    TransformInfo("RandomHorizontalFlip", "Geometry", "Mirror left-right.", (_p(),)),
    TransformInfo("RandomVerticalFlip", "Geometry", "Mirror top-bottom.", (_p(),)),
    TransformInfo(
        "RandomRotation",
        "Geometry",
        "Rotate by a random angle in [-degrees, degrees].",
        (
            Param("degrees", "int", 15, 0, 180, 1, help="Largest rotation either way, in degrees."),
            _interp("nearest"),
            Param("expand", "bool", False, help="Grow the canvas so no corner is cut off (changes the size)."),
        ),
    ),
    TransformInfo(
        "RandomAffine",
        "Geometry",
        "Random rotation, shift, zoom and shear in one go.",
        (
            Param("degrees", "int", 0, 0, 180, 1, help="Largest rotation either way (0: none)."),
            Param(
                "translate",
                "pair",
                [0.1, 0.1],
                0.0,
                1.0,
                0.01,
                optional=True,
                help="Largest shift as a fraction of width and of height.",
            ),
            Param(
                "scale", "range", None, 0.1, 3.0, 0.05, optional=True, on_value=[0.9, 1.1], help="Zoom factor range."
            ),
            Param(
                "shear",
                "float",
                None,
                0.0,
                80.0,
                1.0,
                optional=True,
                on_value=10.0,
                help="Largest shear either way, in degrees.",
            ),
            _interp("nearest"),
        ),
    ),
    TransformInfo(
        "RandomPerspective",
        "Geometry",
        "Random perspective distortion (a tilted camera).",
        (
            Param("distortion_scale", "float", 0.5, 0.0, 1.0, 0.05, help="How far the corners may move (0..1)."),
            _p(),
            _interp("bilinear"),
        ),
    ),
    TransformInfo(
        "ElasticTransform",
        "Geometry",
        "Rubber-sheet distortion, as for handwriting.",
        (
            Param("alpha", "float", 50.0, 0.0, 500.0, 5.0, help="Strength of the displacement, in pixels."),
            Param("sigma", "float", 5.0, 0.1, 50.0, 0.5, help="Smoothness of the displacement field."),
            _interp("bilinear"),
        ),
    ),
    # -- colour -----------------------------------------------------------------------------------
    TransformInfo(
        "ColorJitter",
        "Colour",
        "Random brightness, contrast, saturation and hue, in random order.",
        (
            Param(
                "brightness",
                "float",
                0.4,
                0.0,
                1.0,
                0.05,
                zero_is_none=True,
                help="Factor drawn from [1 - b, 1 + b] (0: off).",
            ),
            Param(
                "contrast",
                "float",
                0.4,
                0.0,
                1.0,
                0.05,
                zero_is_none=True,
                help="Factor drawn from [1 - c, 1 + c] (0: off).",
            ),
            Param(
                "saturation",
                "float",
                0.4,
                0.0,
                1.0,
                0.05,
                zero_is_none=True,
                help="Factor drawn from [1 - s, 1 + s] (0: off).",
            ),
            Param(
                "hue",
                "float",
                0.1,
                0.0,
                0.5,
                0.01,
                zero_is_none=True,
                help="Hue shift drawn from [-h, h] turns of the colour wheel (0: off).",
            ),
        ),
        photometric=True,
    ),
    TransformInfo(
        "Grayscale",
        "Colour",
        "Convert to grayscale.",
        (
            Param(
                "num_output_channels",
                "choice",
                3,
                choices=(1, 3),
                help="3 keeps three (equal) channels, so RGB models and 3-value Normalize still fit.",
            ),
        ),
        photometric=True,
    ),
    TransformInfo(
        "RandomGrayscale",
        "Colour",
        "Convert to grayscale (three equal channels) with probability p.",
        (_p(0.1),),
        photometric=True,
    ),
    TransformInfo(
        "GaussianBlur",
        "Colour",
        "Blur with a Gaussian kernel of random width.",
        (
            Param("kernel_size", "int", 9, 1, 51, 2, help="Kernel side in pixels; must be odd."),
            Param("sigma", "range", [0.1, 2.0], 0.01, 20.0, 0.05, help="Standard deviation range, in pixels."),
        ),
        photometric=True,
    ),
    TransformInfo(
        "GaussianNoise",
        "Colour",
        "Add Gaussian noise (on the 0..1 scale).",
        (
            Param("mean", "float", 0.0, -1.0, 1.0, 0.01, help="Mean of the noise."),
            Param("sigma", "float", 0.1, 0.0, 1.0, 0.01, help="Standard deviation of the noise, 0..1 scale."),
            Param("clip", "bool", True, help="Clip the result back to the valid range."),
        ),
        photometric=True,
    ),
    TransformInfo("RandomInvert", "Colour", "Negative image with probability p.", (_p(),), photometric=True),
    TransformInfo(
        "RandomPosterize",
        "Colour",
        "Keep only the top bits of each channel.",
        (Param("bits", "int", 4, 1, 8, 1, help="Bits kept per channel (8: unchanged)."), _p()),
        photometric=True,
    ),
    TransformInfo(
        "RandomSolarize",
        "Colour",
        "Invert every value above a threshold.",
        (
            Param(
                "threshold",
                "float",
                128.0,
                0.0,
                255.0,
                1.0,
                help="On the 0..255 scale before ToTensor; on float tensors it must be at most 1.",
            ),
            _p(),
        ),
        photometric=True,
    ),
    TransformInfo(
        "RandomAdjustSharpness",
        "Colour",
        "Sharpen (factor > 1) or blur (factor < 1).",
        (
            Param(
                "sharpness_factor", "float", 2.0, 0.0, 10.0, 0.1, help="0: blurred, 1: unchanged, 2: twice as sharp."
            ),
            _p(),
        ),
        photometric=True,
    ),
    TransformInfo("RandomAutocontrast", "Colour", "Stretch each channel to the full range.", (_p(),), photometric=True),
    TransformInfo("RandomEqualize", "Colour", "Equalise the histogram.", (_p(),), photometric=True),
    # -- learned / searched policies ---------------------------------------------------------------
    TransformInfo(
        "AutoAugment",
        "Auto-augment",
        "A policy learned on a dataset (Cubuk et al., 2019).",
        (
            Param(
                "policy", "choice", "imagenet", choices=("imagenet", "cifar10", "svhn"), help="Which learned policy."
            ),
            _interp("nearest"),
        ),
        photometric=True,
    ),
    TransformInfo(
        "RandAugment",
        "Auto-augment",
        "num_ops random operations at one shared magnitude.",
        (
            Param("num_ops", "int", 2, 1, 10, 1, help="Operations applied in a row."),
            Param("magnitude", "int", 9, 0, 30, 1, help="Strength of every operation (0..num_magnitude_bins - 1)."),
            Param("num_magnitude_bins", "int", 31, 2, 100, 1, help="How many strength levels there are."),
            _interp("nearest"),
        ),
        photometric=True,
    ),
    TransformInfo(
        "TrivialAugmentWide",
        "Auto-augment",
        "One random operation at a random strength.",
        (
            Param("num_magnitude_bins", "int", 31, 2, 100, 1, help="How many strength levels there are."),
            _interp("nearest"),
        ),
        photometric=True,
    ),
    TransformInfo(
        "AugMix",
        "Auto-augment",
        "Mix several augmentation chains with the original.",
        (
            Param("severity", "int", 3, 1, 10, 1, help="Strength of the operations."),
            Param("mixture_width", "int", 3, 1, 10, 1, help="How many chains are mixed."),
            Param("chain_depth", "int", -1, -1, 10, 1, help="Operations per chain (-1: random 1..3)."),
            Param("alpha", "float", 1.0, 0.05, 10.0, 0.05, help="Dirichlet/Beta concentration of the mixing weights."),
            Param("all_ops", "bool", True, help="Include colour operations that may overlap with test corruptions."),
            _interp("bilinear"),
        ),
        photometric=True,
    ),
    # -- tensor -----------------------------------------------------------------------------------
    TransformInfo(
        "ToTensor",
        "Tensor",
        "uint8 image -> float32 tensor in [0, 1] (v2: ToImage + ToDtype(float32, scale=True)).",
        factory=_to_tensor_factory,
    ),
    TransformInfo(
        "Normalize",
        "Tensor",
        "Subtract a per-channel mean, divide by a per-channel std.",
        (
            Param(
                "mean", "floats", list(IMAGENET_MEAN), help="One value per channel (or one for all), e.g. ImageNet's."
            ),
            Param("std", "floats", list(IMAGENET_STD), help="One positive value per channel (or one for all)."),
        ),
        needs_float=True,
    ),
    TransformInfo(
        "RandomErasing",
        "Tensor",
        "Blank out a random rectangle (Cutout) with probability p.",
        (
            _p(),
            Param("scale", "range", [0.02, 0.33], 0.0, 1.0, 0.01, help="Fraction of the image area erased."),
            Param("ratio", "range", [0.3, 3.3], 0.05, 20.0, 0.05, help="Aspect ratio of the erased rectangle."),
            Param("value", "float", 0.0, -5.0, 255.0, 0.1, help="The value written into the rectangle."),
        ),
    ),
    # -- batch ------------------------------------------------------------------------------------
    TransformInfo(
        "MixUp",
        "Batch",
        "Blend each image with another in the batch; labels blend alike.",
        (Param("alpha", "float", 1.0, 0.05, 5.0, 0.05, help="Beta(alpha, alpha) draws the mixing weight."),),
        needs_float=True,
        batch_level=True,
    ),
    TransformInfo(
        "CutMix",
        "Batch",
        "Paste a box from another image in the batch; labels mix by area.",
        (Param("alpha", "float", 1.0, 0.05, 5.0, 0.05, help="Beta(alpha, alpha) draws the pasted area."),),
        needs_float=True,
        batch_level=True,
    ),
]:
    _add(_info)


def default_params(name: str) -> dict[str, Any]:
    """The schema defaults of transform ``name`` (a fresh, JSON-able dict)."""
    info = TRANSFORMS.get(name)
    return {p.name: _copy(p.default) for p in info.params}


def _copy(v: Any) -> Any:
    return list(v) if isinstance(v, (list, tuple)) else v


def _python_value(p: Param, v: Any) -> Any:
    """A JSON value -> the Python value the v2 constructor receives."""
    from torchvision.transforms import v2

    if v is None:
        return None
    if p.zero_is_none and v == 0:
        return None
    if p.kind in ("range", "pair"):
        return tuple(float(x) for x in v)
    if p.kind == "size":
        return int(v) if not isinstance(v, (list, tuple)) else tuple(int(x) for x in v)
    if p.kind == "floats":
        return [float(x) for x in v]
    if p.name == "policy":
        return v2.AutoAugmentPolicy(v)
    if p.kind == "int":
        return int(v)
    if p.kind == "float":
        return float(v)
    return v


def step_kwargs(step: dict) -> dict[str, Any]:
    """Keyword arguments of the v2 constructor for ``step`` (the single source for build and codegen)."""
    info = TRANSFORMS.get(step["name"])
    params = step.get("params", {})
    return {p.name: _python_value(p, params.get(p.name, p.default)) for p in info.params}


def build_step(step: dict) -> list:
    """The v2 transform(s) for one step (ToTensor gives two: ToImage, ToDtype).

    Batch-level steps (MixUp/CutMix) need ``num_classes``; build them with
    ``playground.augment.pipelines.build_batch_transform`` instead.
    """
    from torchvision.transforms import v2

    info = TRANSFORMS.get(step["name"])
    if info.factory is not None:
        out = info.factory(**step_kwargs(step))
    else:
        out = getattr(v2, info.name)(**step_kwargs(step))
    return out if isinstance(out, list) else [out]


def groups() -> dict[str, list[str]]:
    """Transform names by group, in registry order (for the "add a step" menu)."""
    out: dict[str, list[str]] = {}
    for name, info in TRANSFORMS.items():
        out.setdefault(info.group, []).append(name)
    return out
