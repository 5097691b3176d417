"""The ``nn.Module`` side of the model spec: the activations, and the residual blocks.

``make_layer`` turns one normalized leaf layer (a dict from ``playground.models.spec``) into
the PyTorch layer it names, as its entry in the leaf table (``playground.models.layers``)
builds it. ``BasicBlock`` and ``Bottleneck`` copy torchvision's
``models/resnet.py`` (same attribute names, same forward order, ``expansion``), so
torchvision's ``state_dict`` loads into our ResNets with ``strict=True``; two
switches go beyond it: ``residual=False`` drops the skip connection (the "plain"
networks of He et al. 2015) and ``shortcut="pad"`` is their option A for CIFAR
(stride-2 subsampling plus zero channels: no parameters).

Which sub-layers a block holds, and in which order its forward calls them, is
written once, in ``block_plan``; the summary walks the same plan, so the table and
the real module cannot drift apart (the tests hold them to a hooked forward).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from playground.common.registry import Registry


class Activation(NamedTuple):
    """A registered non-linearity: its module class and whether PyTorch gives it ``inplace=``."""

    cls: type[nn.Module]
    has_inplace: bool


# The names are the spec's vocabulary; the registration order is the order menus show them.
ACTIVATIONS: Registry[Activation] = Registry("activation")
for _name, _cls, _inplace in (
    ("relu", nn.ReLU, True),
    ("leaky_relu", nn.LeakyReLU, True),
    ("elu", nn.ELU, True),
    ("gelu", nn.GELU, False),
    ("silu", nn.SiLU, True),
    ("tanh", nn.Tanh, False),
    ("sigmoid", nn.Sigmoid, False),
):
    ACTIVATIONS.register(_name, Activation(_cls, _inplace))


def make_activation(fn: str, inplace: bool = False) -> nn.Module:
    """``nn.ReLU(inplace=True)`` and friends; ``inplace`` is ignored where PyTorch has no such option."""
    cls, has_inplace = ACTIVATIONS[fn]
    return cls(inplace=True) if (inplace and has_inplace) else cls()


class PadShortcut(nn.Module):
    """Option A shortcut of He et al. 2015 (sec. 4.2): subsample by ``stride``, then append zero channels.

    No parameters, so a plain twin and its residual network have exactly the same count.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        self.in_channels, self.out_channels, self.stride = in_channels, out_channels, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride != 1:
            x = x[:, :, :: self.stride, :: self.stride]  # (N, C, ceil(H/s), ceil(W/s))
        extra = self.out_channels - self.in_channels
        if extra:
            x = F.pad(x, (0, 0, 0, 0, extra // 2, extra - extra // 2))  # zero channels on both sides
        return x

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, stride={self.stride}"


def make_layer(layer: dict, in_shape: tuple[int, ...]) -> nn.Module:
    """The PyTorch layer for one normalized, validated leaf ``layer`` on a per-sample ``in_shape``.

    The module is the leaf table's (``playground.models.layers.LEAVES``); ValueError naming the
    leaf types for anything else.
    """
    # The table imports this module (ACTIVATIONS, PadShortcut), so it is looked up when a layer is built.
    from playground.models.layers import LEAVES

    return LEAVES.get(layer["type"]).build(layer, in_shape)


# --------------------------------------------------------------------------- residual blocks


def block_plan(block: dict, in_channels: int) -> dict:
    """The sub-layers of a residual block, as spec leaf layers, in forward order.

    Returns ``{"main": [(name, layer)], "skip": [(name, layer)], "post": (name, layer), "out_channels": int}``;
    ``skip`` is empty when the shortcut is the identity or the block is plain.
    Names are torchvision's: conv1, bn1, relu, conv2, ..., downsample.0, downsample.1.
    """
    kind, planes, stride = block["type"], block["planes"], block["stride"]
    norm, bias, fn = block["norm"], block["bias"], block["activation"]
    expansion = 4 if kind == "bottleneck" else 1
    out_c = planes * expansion

    def conv(out: int, k: int, s: int) -> dict:
        return {
            "type": "conv",
            "out_channels": out,
            "kernel": k,
            "stride": s,
            "padding": k // 2,
            "dilation": 1,
            "groups": 1,
            "bias": bias,
        }

    bn = {"type": "batchnorm", "eps": 1e-5, "momentum": 0.1, "affine": True}
    act = {"type": "activation", "fn": fn, "inplace": True}
    if kind == "bottleneck":
        convs = [conv(planes, 1, 1), conv(planes, 3, stride), conv(out_c, 1, 1)]
    else:
        convs = [conv(planes, 3, stride), conv(planes, 3, 1)]
    main: list[tuple[str, dict]] = []
    for i, c in enumerate(convs, 1):
        main.append((f"conv{i}", c))
        if norm:
            main.append((f"bn{i}", dict(bn)))
        if i < len(convs):
            main.append((fn, act))
    skip: list[tuple[str, dict]] = []
    if block["residual"] and (stride != 1 or in_channels != out_c):
        if block["shortcut"] == "pad":
            skip.append(("downsample", {"type": "pad_shortcut", "out_channels": out_c, "stride": stride}))
        else:
            skip.append(("downsample.0", {**conv(out_c, 1, stride), "padding": 0}))
            if norm:
                skip.append(("downsample.1", dict(bn)))
    return {"main": main, "skip": skip, "post": (fn, act), "out_channels": out_c}


class _Block(nn.Module):
    """Shared construction for BasicBlock / Bottleneck from ``block_plan``."""

    expansion = 1

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        *,
        residual: bool = True,
        shortcut: str = "conv",
        norm: bool = True,
        activation: str = "relu",
        bias: bool = False,
    ):
        super().__init__()
        spec = {
            "type": self._kind,
            "planes": planes,
            "stride": stride,
            "residual": residual,
            "shortcut": shortcut,
            "norm": norm,
            "activation": activation,
            "bias": bias,
        }
        plan = block_plan(spec, inplanes)
        self.residual, self.act_name = residual, activation
        c = inplanes
        for name, layer in plan["main"]:
            if layer["type"] == "activation":
                if not hasattr(self, name):
                    setattr(self, name, make_activation(activation, inplace=True))
                continue
            setattr(self, name, make_layer(layer, (c, 1, 1)))
            c = layer.get("out_channels", c)
        for i in range(1, len(plan["main"]) + 1):  # bn1.. absent when norm is off: keep the attribute, as None
            if f"conv{i}" in self._modules and f"bn{i}" not in self._modules:
                setattr(self, f"bn{i}", None)
        self.downsample: nn.Module | None = None
        if plan["skip"]:
            first = plan["skip"][0][1]
            if first["type"] == "pad_shortcut":
                self.downsample = make_layer(first, (inplanes, 1, 1))
            else:
                mods, c = [], inplanes
                for _, layer in plan["skip"]:
                    mods.append(make_layer(layer, (c, 1, 1)))
                    c = layer.get("out_channels", c)
                self.downsample = nn.Sequential(*mods)

    def _main(self, x: torch.Tensor) -> torch.Tensor:
        act = getattr(self, self.act_name)
        out = x
        n = 3 if self._kind == "bottleneck" else 2
        for i in range(1, n + 1):
            out = getattr(self, f"conv{i}")(out)
            bn = getattr(self, f"bn{i}")
            if bn is not None:
                out = bn(out)
            if i < n:
                out = act(out)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self._main(x)  # F(x)
        if self.residual:
            identity = x if self.downsample is None else self.downsample(x)
            out += identity  # F(x) + x
        return getattr(self, self.act_name)(out)


class BasicBlock(_Block):
    """Two 3x3 convs (+ BN) and a skip connection: torchvision's ``BasicBlock`` (ResNet-18/34, CIFAR ResNets)."""

    expansion = 1
    _kind = "basic_block"


class Bottleneck(_Block):
    """1x1 reduce, 3x3 (stride here, as torchvision's v1.5), 1x1 expand x4, and a skip connection."""

    expansion = 4
    _kind = "bottleneck"


BLOCK_CLASSES: dict[str, type[_Block]] = {"basic_block": BasicBlock, "bottleneck": Bottleneck}


def make_block(block: dict, in_channels: int) -> nn.Module:
    """The module for one normalized ``basic_block`` / ``bottleneck`` spec layer."""
    cls = BLOCK_CLASSES[block["type"]]
    return cls(
        in_channels,
        block["planes"],
        block["stride"],
        residual=block["residual"],
        shortcut=block["shortcut"],
        norm=block["norm"],
        activation=block["activation"],
        bias=block["bias"],
    )


class SpecNet(nn.Sequential):
    """A model built from a spec: an ``nn.Sequential`` whose children carry the spec's names.

    ``model.layer4``, ``model.fc`` and ``model.features`` work as on torchvision's models, and
    ``model.fc = nn.Linear(...)`` replaces a layer in place (transfer learning). ``model.spec``
    keeps the JSON spec it was built from.
    """

    def __init__(self, modules: "dict[str, nn.Module]", spec: dict):
        super().__init__(modules)  # an OrderedDict keeps the names
        self.spec = spec
