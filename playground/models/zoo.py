"""The model zoo: a registry of preset specs, from the article's SimpleCNN to ResNet-152.

A preset is a function from knobs to a spec (``playground.models.spec``): the same kind of
thing a user builds on the Architecture Lab page, so the summary, the code export and
training work on both. Where torchvision has the model (AlexNet, VGG, ResNet-18..152)
the preset equals it exactly: same module names and parameter count, and torchvision's
``state_dict`` loads with ``strict=True`` (``tests/unit/test_zoo.py`` checks all of it).

    >>> from playground.models.zoo import build_model, model_spec, preset_info
    >>> model = build_model("resnet18", num_classes=5)      # model.layer4, model.fc as in torchvision
    >>> spec = model_spec("vgg11", batch_norm=True, width=0.5, input_size=64)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch.nn as nn

from playground.common.registry import Registry
from playground.models.blocks import ACTIVATIONS
from playground.models.spec import build, trace
from playground.models.vocab import SpecError, check_input, load_spec, normalize

# --------------------------------------------------------------------------- layer helpers


def _named(d: dict, name: str | None) -> dict:
    return {**d, "name": name} if name else d


def conv(out: int, k: int, s: int = 1, p: int = 0, bias: bool = True, name: str | None = None) -> dict:
    return _named({"type": "conv", "out_channels": out, "kernel": k, "stride": s, "padding": p, "bias": bias}, name)


def bn(name: str | None = None) -> dict:
    return _named({"type": "batchnorm"}, name)


def act(fn: str, name: str | None = None, inplace: bool = True) -> dict:
    return _named({"type": "activation", "fn": fn, "inplace": inplace}, name)


def pool(kind: str, k: int, s: int | None = None, p: int = 0, name: str | None = None) -> dict:
    return _named({"type": kind, "kernel": k, "stride": s if s is not None else k, "padding": p}, name)


def linear(n_in: int | None, n_out: int, name: str | None = None) -> dict:
    return _named({"type": "linear", "in_features": n_in, "out_features": n_out}, name)


def dropout(p: float, name: str | None = None) -> dict:
    return _named({"type": "dropout", "p": p}, name)


def group(name: str, layers: list[dict]) -> dict:
    return {"type": "sequential", "name": name, "layers": layers}


def _flat_features(layers: list[dict], c: int, hw: tuple[int, int]) -> int | None:
    """Features a flatten would see after ``layers`` on a ``(c, *hw)`` input (None if they break first)."""
    tr = trace({"input": [c, *hw], "layers": layers}, raise_errors=False)
    if tr.error:
        return None
    n = 1
    for v in tr.output_shape:
        n *= v
    return n


def _w(c: int, width: float) -> int:
    """A channel count scaled by the width multiplier (at least 1)."""
    return max(1, int(round(c * width)))


# --------------------------------------------------------------------------- presets


@dataclass(frozen=True)
class Preset:
    """A registered model: its history and idea, defaults, knobs and the builder of its layers."""

    name: str
    title: str
    year: int | None
    family: str
    blurb: str
    default_input: tuple[int, int, int]
    num_classes: int
    builder: Callable[..., list[dict]] = field(repr=False)
    knobs: dict[str, Any] = field(default_factory=dict)  # knob -> default
    torchvision: str | None = None  # torchvision.models name when it has the same model
    paper: str = ""


MODELS: Registry[Preset] = Registry("model")

COMMON_KNOBS = ("width", "batch_norm", "activation", "dropout")


def _register(name, title, year, family, blurb, default_input, num_classes, builder, knobs, torchvision=None, paper=""):
    MODELS.register(
        name,
        Preset(
            name,
            title,
            year,
            family,
            blurb,
            tuple(default_input),
            num_classes,
            builder,
            dict(knobs),
            torchvision,
            paper,
        ),
    )


# SimpleCNN -------------------------------------------------------------------


def _simplecnn(c, hw, num_classes, width=1.0, blocks=(1, 1, 1), batch_norm=True, activation="relu", dropout_p=0.0):
    feats: list[dict] = []
    chans = [_w(32, width), _w(64, width), _w(128, width)]
    for stage, (ch, n) in enumerate(zip(chans, blocks)):
        for _ in range(n):
            feats += [conv(ch, 3, 1, 1)] + ([bn()] if batch_norm else []) + [act(activation)]
        feats.append(pool("maxpool", 2, 2) if stage < 2 else {"type": "adaptive_avgpool", "output": 1})
    tail = [dropout(dropout_p, "dropout")] if dropout_p > 0 else []
    return [
        group("features", feats),
        {"type": "flatten", "name": "flatten"},
        *tail,
        linear(chans[-1], num_classes, "classifier"),
    ]


_register(
    "simplecnn",
    "SimpleCNN (the article's)",
    None,
    "SimpleCNN",
    "The article's CIFAR-10 model: three Conv2d-BatchNorm-ReLU stages with 3x3 kernels and padding 1, max pooling "
    "halving 32x32 to 16x16 to 8x8, adaptive average pooling to 1x1 and one Linear classifier. "
    "It maps a [8, 3, 32, 32] batch to [8, 10].",
    (3, 32, 32),
    10,
    _simplecnn,
    {"width": 1.0, "blocks": [1, 1, 1], "batch_norm": True, "activation": "relu", "dropout": 0.0},
)

# LeNet -----------------------------------------------------------------------


def _lenet(c, hw, num_classes, width=1.0, batch_norm=False, activation="tanh", dropout_p=0.0, modern=False):
    c1, c2, f1, f2 = _w(6, width), _w(16, width), _w(120, width), _w(84, width)
    kind = "maxpool" if modern else "avgpool"
    norm = [bn()] if batch_norm else []
    feats = [
        conv(c1, 5, 1, 2 if modern else 0),
        *norm,
        act(activation, inplace=False),
        pool(kind, 2),
        conv(c2, 5),
        *norm,
        act(activation, inplace=False),
        pool(kind, 2),
    ]
    flat = _flat_features(feats, c, hw)
    drop = [dropout(dropout_p)] if dropout_p > 0 else []
    head = [
        linear(flat, f1),
        act(activation, inplace=False),
        *drop,
        linear(f1, f2),
        act(activation, inplace=False),
        *drop,
        linear(f2, num_classes),
    ]
    return [group("features", feats), {"type": "flatten", "name": "flatten"}, group("classifier", head)]


_register(
    "lenet5",
    "LeNet-5 (1998)",
    1998,
    "LeNet",
    "LeNet-5 (1998): designed by Yann LeCun for handwritten digit recognition, it was the first successful CNN. "
    "With only 5 layers (2 convolutions + 3 fully connected), tanh non-linearities and average pooling "
    "('subsampling') on 32x32 grayscale images, it showed that convolutional networks could beat traditional "
    "feature engineering. Simplified as usual: every C3 map sees all S2 maps, and the output is a Linear layer "
    "instead of RBF units.",
    (1, 32, 32),
    10,
    _lenet,
    {"width": 1.0, "batch_norm": False, "activation": "tanh", "dropout": 0.0},
    paper="LeCun, Bottou, Bengio, Haffner: Gradient-based learning applied to document recognition (1998)",
)
_register(
    "lenet5_modern",
    "LeNet, modern",
    None,
    "LeNet",
    "LeNet-5 as it is written today: ReLU instead of tanh, max pooling instead of average pooling, batch norm after "
    "each convolution, and 28x28 inputs (padding 2 keeps the first feature maps 28x28, as for MNIST). "
    "Same 2 + 3 layers.",
    (1, 28, 28),
    10,
    lambda *a, **k: _lenet(*a, **k, modern=True),
    {"width": 1.0, "batch_norm": True, "activation": "relu", "dropout": 0.0},
)

# AlexNet and VGG (torchvision) -------------------------------------------------


def _classifier(n_in: int, hidden: int, num_classes: int, activation: str, p: float, dropout_first: bool) -> list[dict]:
    """AlexNet's (dropout first) and VGG's (dropout after each ReLU) three-layer classifiers, index for index."""
    if dropout_first:
        layers = [
            dropout(p),
            linear(n_in, hidden),
            act(activation),
            dropout(p),
            linear(hidden, hidden),
            act(activation),
        ]
    else:
        layers = [
            linear(n_in, hidden),
            act(activation),
            dropout(p),
            linear(hidden, hidden),
            act(activation),
            dropout(p),
        ]
    return layers + [linear(hidden, num_classes)]


def _alexnet(c, hw, num_classes, width=1.0, batch_norm=False, activation="relu", dropout_p=0.5):
    feats: list[dict] = []
    # (out channels, kernel, stride, padding, then max pooling)
    spec = [
        (64, 11, 4, 2, True),
        (192, 5, 1, 2, True),
        (384, 3, 1, 1, False),
        (256, 3, 1, 1, False),
        (256, 3, 1, 1, True),
    ]
    for out, k, s, p, then_pool in spec:
        feats += [conv(_w(out, width), k, s, p)] + ([bn()] if batch_norm else []) + [act(activation)]
        if then_pool:
            feats.append(pool("maxpool", 3, 2))
    head = _classifier(_w(256, width) * 36, _w(4096, width), num_classes, activation, dropout_p, True)
    return [
        group("features", feats),
        {"type": "adaptive_avgpool", "name": "avgpool", "output": 6},
        {"type": "flatten", "name": "flatten"},
        group("classifier", head),
    ]


_register(
    "alexnet",
    "AlexNet (2012)",
    2012,
    "AlexNet",
    "AlexNet won ImageNet 2012 and started the deep-learning era: a deep CNN trained on GPUs, with large 11x11 and 5x5 "
    "kernels up front, ReLU instead of tanh, max pooling, and dropout in a huge fully-connected classifier that holds "
    "most of its 61 million parameters. This is torchvision's version.",
    (3, 224, 224),
    1000,
    _alexnet,
    {"width": 1.0, "batch_norm": False, "activation": "relu", "dropout": 0.5},
    torchvision="alexnet",
    paper="Krizhevsky, Sutskever, Hinton: ImageNet classification with deep CNNs (2012)",
)

VGG_BLOCKS = {11: [1, 1, 2, 2, 2], 13: [2, 2, 2, 2, 2], 16: [2, 2, 3, 3, 3], 19: [2, 2, 4, 4, 4]}


def _vgg(c, hw, num_classes, width=1.0, blocks=(1, 1, 2, 2, 2), batch_norm=False, activation="relu", dropout_p=0.5):
    feats: list[dict] = []
    for ch, n in zip((64, 128, 256, 512, 512), blocks):
        for _ in range(n):
            feats += [conv(_w(ch, width), 3, 1, 1)] + ([bn()] if batch_norm else []) + [act(activation)]
        feats.append(pool("maxpool", 2, 2))
    head = _classifier(_w(512, width) * 49, _w(4096, width), num_classes, activation, dropout_p, False)
    return [
        group("features", feats),
        {"type": "adaptive_avgpool", "name": "avgpool", "output": 7},
        {"type": "flatten", "name": "flatten"},
        group("classifier", head),
    ]


for _depth, _blocks in VGG_BLOCKS.items():
    for _bn in (False, True):
        _register(
            f"vgg{_depth}{'_bn' if _bn else ''}",
            f"VGG-{_depth}{' with batch norm' if _bn else ''} (2014)",
            2014,
            "VGG",
            f"VGGNet showed that depth matters: only stacked 3x3 kernels, here across {_depth} layers. Two 3x3 convs "
            "cover the same receptive field as one 5x5, with fewer parameters and more non-linearity. Uniform and "
            "simple, but heavy: most parameters sit in the classifier, most MACs in the early full-resolution convs."
            + (" This variant adds batch norm after every conv, which makes it far easier to train." if _bn else ""),
            (3, 224, 224),
            1000,
            _vgg,
            {"width": 1.0, "blocks": list(_blocks), "batch_norm": _bn, "activation": "relu", "dropout": 0.5},
            torchvision=f"vgg{_depth}{'_bn' if _bn else ''}",
            paper="Simonyan, Zisserman: Very deep convolutional networks for large-scale image recognition (2014)",
        )

# ResNets ----------------------------------------------------------------------


def _stage(name, block, n, planes, stride, residual, shortcut, batch_norm, activation) -> dict:
    return {
        "type": "stage",
        "name": name,
        "block": block,
        "blocks": n,
        "planes": planes,
        "stride": stride,
        "residual": residual,
        "shortcut": shortcut,
        "norm": batch_norm,
        "activation": activation,
        "bias": not batch_norm,
    }


def _resnet(
    c,
    hw,
    num_classes,
    width=1.0,
    blocks=(2, 2, 2, 2),
    batch_norm=True,
    activation="relu",
    dropout_p=0.0,
    block="basic_block",
    residual=True,
):
    """torchvision's ResNet: 7x7 stem, max pool, four stages (64, 128, 256, 512 planes), global pool, fc."""
    stem = [conv(_w(64, width), 7, 2, 3, bias=not batch_norm, name="conv1")] + ([bn("bn1")] if batch_norm else [])
    stem += [act(activation, activation), pool("maxpool", 3, 2, 1, "maxpool")]  # named "relu" for ReLU, as torchvision
    stages = [
        _stage(f"layer{i + 1}", block, n, _w(p, width), 1 if i == 0 else 2, residual, "conv", batch_norm, activation)
        for i, (n, p) in enumerate(zip(blocks, (64, 128, 256, 512)))
    ]
    feats = _w(512, width) * (4 if block == "bottleneck" else 1)
    tail = [dropout(dropout_p, "dropout")] if dropout_p > 0 else []
    return (
        stem
        + stages
        + [
            {"type": "adaptive_avgpool", "name": "avgpool", "output": 1},
            {"type": "flatten", "name": "flatten"},
            *tail,
            linear(feats, num_classes, "fc"),
        ]
    )


def _cifar_resnet(
    c, hw, num_classes, width=1.0, blocks=(3, 3, 3), batch_norm=True, activation="relu", dropout_p=0.0, residual=True
):
    """He et al. 2015, sec. 4.2: a 3x3 stem of 16 filters, three stages of basic blocks (16, 32, 64), option A."""
    stem = [conv(_w(16, width), 3, 1, 1, bias=not batch_norm, name="conv1")] + ([bn("bn1")] if batch_norm else [])
    stem.append(act(activation, activation))
    stages = [
        _stage(
            f"layer{i + 1}", "basic_block", n, _w(p, width), 1 if i == 0 else 2, residual, "pad", batch_norm, activation
        )
        for i, (n, p) in enumerate(zip(blocks, (16, 32, 64)))
    ]
    tail = [dropout(dropout_p, "dropout")] if dropout_p > 0 else []
    return (
        stem
        + stages
        + [
            {"type": "adaptive_avgpool", "name": "avgpool", "output": 1},
            {"type": "flatten", "name": "flatten"},
            *tail,
            linear(_w(64, width), num_classes, "fc"),
        ]
    )


RESNET_BLOCKS = {
    18: ("basic_block", [2, 2, 2, 2]),
    34: ("basic_block", [3, 4, 6, 3]),
    50: ("bottleneck", [3, 4, 6, 3]),
    101: ("bottleneck", [3, 4, 23, 3]),
    152: ("bottleneck", [3, 8, 36, 3]),
}
_RESNET_IDEA = (
    "ResNet (2015) solved the training of very deep networks with skip connections: instead of learning a "
    "direct transformation, each block learns the residual F(x) and outputs F(x) + x, so the gradient "
    "flows directly through the identity path and 152+ layers become trainable."
)
_HE = "He, Zhang, Ren, Sun: Deep residual learning for image recognition (2015)"
_KNOBS = {"width": 1.0, "batch_norm": True, "activation": "relu", "dropout": 0.0}

for _depth, (_block, _blocks) in RESNET_BLOCKS.items():
    _kind = (
        "basic blocks (two 3x3 convs)"
        if _block == "basic_block"
        else "bottleneck blocks (1x1 reduce, 3x3, 1x1 expand to 4x)"
    )
    for _res in (True, False):
        _register(
            f"{'resnet' if _res else 'plain'}{_depth}",
            f"ResNet-{_depth} (2015)" if _res else f"Plain-{_depth} (ResNet-{_depth} without skips)",
            2015,
            "ResNet" if _res else "Plain",
            (
                f"{_RESNET_IDEA} ResNet-{_depth} stacks {sum(_blocks)} {_kind} in four stages. This is torchvision's "
                "version (stride in the 3x3 conv)."
                if _res
                else f"ResNet-{_depth}'s plain twin: the same convolutions without the skip connections (He et al.'s 'plain' "
                "baseline). Deeper plain networks train worse, not better: gradients fade on their way back through "
                "many layers, the vanishing-gradient problem skip connections solve. Train both and compare."
            ),
            (3, 224, 224),
            1000,
            (lambda b, r: lambda *a, **k: _resnet(*a, **k, block=b, residual=r))(_block, _res),
            {**_KNOBS, "blocks": list(_blocks)},
            torchvision=f"resnet{_depth}" if _res else None,
            paper=_HE,
        )

for _depth in (20, 32, 44, 56):
    _n = (_depth - 2) // 6
    for _res in (True, False):
        _register(
            f"{'resnet' if _res else 'plain'}{_depth}",
            f"ResNet-{_depth} (CIFAR, 2015)" if _res else f"Plain-{_depth} (CIFAR, no skips)",
            2015,
            "CIFAR ResNet" if _res else "Plain",
            (
                f"{_RESNET_IDEA} The CIFAR-10 ResNets of He et al. (section 4.2) have 6n+2 layers: a 3x3 conv, three "
                f"stages of n={_n} basic blocks with 16, 32 and 64 filters on 32x32 images, global average pooling and "
                "a 10-way fc. Where the shape changes the shortcut subsamples and pads with zero channels (option A), "
                "so the skips add no parameters."
                if _res
                else f"ResNet-{_depth}'s plain twin (He et al. section 4.2): the same {_depth} layers and exactly the same "
                "parameters, without the skip connections. In the paper plain-56 trains worse than plain-20: the "
                "degradation problem that skip connections fix."
            ),
            (3, 32, 32),
            10,
            (lambda r: lambda *a, **k: _cifar_resnet(*a, **k, residual=r))(_res),
            {**_KNOBS, "blocks": [_n] * 3},
            paper=_HE,
        )

# --------------------------------------------------------------------------- the public API


def preset_info(name: str) -> dict:
    """What a menu or a history card shows about a preset (ValueError listing the choices if unknown)."""
    p = MODELS.get(name)
    return {
        "name": p.name,
        "title": p.title,
        "year": p.year,
        "family": p.family,
        "blurb": p.blurb,
        "default_input": p.default_input,
        "num_classes": p.num_classes,
        "knobs": dict(p.knobs),
        "torchvision": p.torchvision,
        "paper": p.paper,
    }


def _check_knobs(p: Preset, knobs: dict) -> dict:
    unknown = sorted(set(knobs) - set(p.knobs))
    if unknown:
        raise SpecError(f"The preset {p.name!r} has no knob {unknown[0]!r}; its knobs are: {', '.join(p.knobs)}.")
    out = {**p.knobs, **knobs}
    w = out["width"]
    if isinstance(w, bool) or not isinstance(w, (int, float)) or not 0.01 <= w <= 16:
        raise SpecError(f"The width multiplier must be a number from 0.01 to 16, not {w!r}.")
    if "blocks" in out:
        b, n = out["blocks"], len(p.knobs["blocks"])
        if isinstance(b, int) and not isinstance(b, bool):
            b = [b] * n
        if (
            not isinstance(b, (list, tuple))
            or len(b) != n
            or not all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 200 for v in b)
        ):
            raise SpecError(
                f"blocks for {p.name!r} must be {n} whole numbers from 1 to 200 (one per stage), "
                f"e.g. {p.knobs['blocks']}, not {out['blocks']!r}."
            )
        out["blocks"] = list(b)
    if out["activation"] not in ACTIVATIONS:
        raise SpecError(f"Unknown activation {out['activation']!r}; use one of {', '.join(ACTIVATIONS)}.")
    if not isinstance(out["batch_norm"], bool):
        raise SpecError("batch_norm must be true or false.")
    d = out["dropout"]
    if isinstance(d, bool) or not isinstance(d, (int, float)) or not 0 <= d < 1:
        raise SpecError(f"dropout must be a probability from 0 to below 1, not {d!r}.")
    return out


def _input_size(input_size: Any) -> tuple[int, int] | None:
    if input_size is None:
        return None
    if isinstance(input_size, (list, tuple)):
        return tuple(check_input((1, *input_size))[1:])  # type: ignore[return-value]
    return tuple(check_input((1, input_size, input_size))[1:])  # type: ignore[return-value]


def _is_spec_source(model: Any) -> bool:
    if isinstance(model, (dict, Path)):
        return True
    text = str(model)
    return text.lstrip().startswith("{") or text.endswith(".json") or ("/" in text and Path(text).exists())


def _last_linear(layers: list[dict]) -> dict | None:
    for layer in reversed(layers):
        if layer["type"] == "linear":
            return layer
        if layer["type"] == "sequential":
            found = _last_linear(layer["layers"])
            if found:
                return found
    return None


def model_spec(
    model: Any, *, num_classes: int | None = None, in_channels: int | None = None, input_size: Any = None, **knobs
) -> dict:
    """The full JSON-able spec of ``model``: a preset name (with knobs), a spec dict, or a JSON spec file's path.

    ``input_size`` is an int (square) or ``(H, W)``. For a spec, ``num_classes`` resets its last
    Linear layer and ``in_channels`` / ``input_size`` its input; knobs only apply to presets.
    Raises ValueError (``SpecError``) with a sentence for an unknown name or a bad spec.
    """
    hw = _input_size(input_size)
    if _is_spec_source(model):
        if knobs:
            raise SpecError(f"Knobs ({', '.join(knobs)}) only apply to presets; edit the spec's layers instead.")
        spec = load_spec(model if not isinstance(model, Path) else str(model))
        c, h, w = spec["input"]
        spec["input"] = [in_channels or c, *(hw or (h, w))]
        if num_classes is not None:
            last = _last_linear(spec["layers"])
            if last is None:
                raise SpecError("num_classes needs a Linear layer at the end of the model; this spec has none.")
            last["out_features"] = int(num_classes)
        return normalize(spec)
    p = MODELS.get(str(model))
    k = _check_knobs(p, knobs)
    c = int(in_channels or p.default_input[0])
    hw = hw or p.default_input[1:]
    n = int(num_classes if num_classes is not None else p.num_classes)
    if n < 1 or c < 1:
        raise SpecError("num_classes and in_channels must be at least 1.")
    args = {
        "width": k["width"],
        "batch_norm": k["batch_norm"],
        "activation": k["activation"],
        "dropout_p": k["dropout"],
    }
    if "blocks" in k:
        args["blocks"] = k["blocks"]
    layers = p.builder(c, tuple(hw), n, **args)
    changed = {name: v for name, v in k.items() if v != p.knobs[name]}
    return normalize(
        {
            "name": p.title.split(" (")[0] if p.name != "simplecnn" else "SimpleCNN",
            "preset": p.name,
            "knobs": changed,
            "input": [c, *hw],
            "layers": layers,
        }
    )


def build_model(
    model: Any, *, num_classes: int | None = None, in_channels: int | None = None, input_size: Any = None, **knobs
) -> nn.Module:
    """The ``nn.Module`` for ``model`` (arguments as ``model_spec``); ValueError with a sentence if it cannot work."""
    return build(model_spec(model, num_classes=num_classes, in_channels=in_channels, input_size=input_size, **knobs))
