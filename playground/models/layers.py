"""The leaf layer types, one table: each type says in one place everything the playground knows about it.

A leaf is one PyTorch module call: a conv, a pooling, a linear layer... Each is one ``Leaf``
subclass, registered in ``LEAVES``, that declares its vocabulary word (``word``: its JSON
``type``, title, PyTorch class and settings) and its facets:

- ``output``: the output shape and parameter count on a per-sample input shape;
- ``build``: the ``nn.Module``; ``source``: the PyTorch source text that makes the same module;
- ``type_name``: the class name the summary shows;
- ``macs``, ``window`` (its receptive-field step), ``allocates`` (activation memory),
  ``buffers`` and ``torchinfo_mult_adds``: the summary's arithmetic;
- ``saves`` and ``saved_extra``: what autograd keeps of it for the backward pass (the training-memory
  walk of ``playground.models.memory``).

The spec walk (``playground.models.spec``), the module builder (``playground.models.blocks``),
the code writer (``playground.models.codegen``) and the summary (``playground.models.summary``)
look a layer up here instead of branching on its type, and the vocabulary
(``playground.models.vocab.LAYER_TYPES``) lists the words registered here, so adding a layer
type means adding one class to this file. ``tests/unit/models/test_layers.py`` holds every
facet of every registered type to PyTorch.

The residual blocks and the containers (stage, sequential) are not leaves: they are made of
leaves and keep their own code.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from math import ceil, floor, prod
from typing import Any, ClassVar

import torch.nn as nn

from playground.common.registry import Registry
from playground.models.arithmetic import (
    ConvSpec,
    LayerError,
    PoolSpec,
    conv_output_hw,
    pool_output_hw,
    validate_conv,
    validate_pool,
)
from playground.models.blocks import ACTIVATIONS, PadShortcut, make_activation

BYTES = 4  # float32
MAX_DIM = 65536  # channels, features, pixels: beyond this it is a typo, not a model

Shape = tuple  # per sample: (C, H, W) or (F,)
Pair = tuple[int, int]
Window = tuple[Pair, Pair, Pair]  # (kernel, stride, dilation), each per axis (h, w)

POINTWISE: Window = ((1, 1), (1, 1), (1, 1))  # each output position sees its own input position

# --------------------------------------------------------------------------- vocabulary


@dataclass(frozen=True)
class Field:
    """One setting of a layer type. ``kind``: int, auto_int, pair, auto_pair, padding, float, bool, choice."""

    name: str
    kind: str
    default: Any
    help: str = ""
    lo: float = 0
    hi: float = MAX_DIM
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class LayerType:
    """A word of the vocabulary: its JSON ``type``, its PyTorch name and its settings."""

    type: str
    title: str
    torch: str
    fields: tuple[Field, ...]
    blurb: str


# --------------------------------------------------------------------------- the table


class Leaf(ABC):
    """One leaf layer type. Every method takes the normalized spec ``layer`` (a dict).

    A subclass sets ``word`` and writes ``output``, ``build`` and ``source`` (abstract: a type
    without them cannot be registered). The other facets default to a layer that does no
    multiply-accumulates, keeps no buffers, maps each position to itself and writes a new
    output: override the ones where the type differs.
    """

    word: ClassVar[LayerType]
    in_vocabulary: ClassVar[bool] = True  # False: made only inside residual blocks, never written in a spec
    fixed_output: ClassVar[bool] = False  # its output size does not follow the input's (adaptive pooling)

    @property
    def type(self) -> str:
        """The JSON ``type`` it is registered under."""
        return self.word.type

    def type_name(self, layer: dict, in_shape: Shape) -> str:
        """The PyTorch class the layer becomes on a per-sample ``in_shape``."""
        return self.word.torch

    @abstractmethod
    def output(self, layer: dict, shape: Shape, what: str) -> tuple[Shape, int]:
        """``(output shape, parameters)`` on a per-sample ``shape``.

        LayerError if the layer cannot work there: a sentence that starts with ``what``
        ("Layer features.0 (Conv2d)") and says how to fix it.
        """

    @abstractmethod
    def build(self, layer: dict, in_shape: Shape) -> nn.Module:
        """The ``nn.Module`` on a per-sample ``in_shape`` (the layer is validated: ``output`` accepted it)."""

    @abstractmethod
    def source(self, layer: dict, in_shape: Shape) -> str:
        """The constructor call that makes the same module, the way the article writes it: ``nn.Conv2d(3, 64, ...)``."""

    def macs(self, layer: dict, in_shape: Shape, out_shape: Shape) -> int:
        """Multiply-accumulates per image, biases not counted (torchvision's and FlopCounterMode's count)."""
        return 0

    def window(self, layer: dict, in_shape: Shape, out_shape: Shape) -> Window | None:
        """``(kernel, stride, dilation)`` of the receptive-field step on spatial shapes.

        The receptive field grows by ``dilation x (kernel - 1) x jump`` and the jump is multiplied
        by ``stride``; None: every output value sees the whole input (flatten, linear).
        """
        return POINTWISE

    def allocates(self, layer: dict) -> bool:
        """Whether the output takes new activation memory (False for views and in-place layers)."""
        return True

    def buffers(self, layer: dict, in_shape: Shape) -> int:
        """Float values the module keeps besides its parameters (batch norm's running statistics)."""
        return 0

    def saves(self, layer: dict) -> tuple[bool, bool]:
        """``(input, output)``: which of its tensors autograd keeps until the backward pass, in training mode.

        From PyTorch's ``derivatives.yaml``: a conv, linear or pooling layer keeps its input, ReLU its output.
        """
        return True, False

    def saved_extra(self, layer: dict, in_shape: Shape, out_shape: Shape) -> int:
        """Bytes per image it keeps for the backward pass besides its input and output (max pooling's indices)."""
        return 0

    def scratch(self, layer: dict, in_shape: Shape, out_shape: Shape) -> tuple[int, int, int]:
        """Bytes per image of the kernel's own temporaries while it runs: ``(forward, backward, backward
        when the input needs a gradient too)``; gone when it returns."""
        return 0, 0, 0

    def torchinfo_mult_adds(self, params: int, out_shape: Shape) -> int:
        """torchinfo's "mult-adds" per image on a per-sample ``out_shape``: it counts the parameters once."""
        return params


LEAVES: Registry[Leaf] = Registry("leaf layer type")


def leaf(cls: type[Leaf]) -> type[Leaf]:
    """Class decorator: register one instance of ``cls`` in ``LEAVES`` under its word's ``type``."""
    LEAVES.register(cls.word.type, cls())
    return cls


def need_feature_map(what: str, shape: Shape) -> None:
    """LayerError unless ``shape`` is a ``(C, H, W)`` feature map: the fix is to move the layer before the flatten."""
    if len(shape) != 3:
        raise LayerError(
            f"{what} needs a [channels, height, width] feature map, but it gets a flat vector of "
            f"{shape[0]} features: move it before the flatten (or remove the flatten)."
        )


def _pair(v: Any) -> Any:
    """Spec pairs are an int (square) or ``[h, w]``; PyTorch wants an int or a tuple."""
    return tuple(v) if isinstance(v, list) else v


def _hw(v: Any) -> Pair:
    """A spec pair as ``(h, w)``."""
    return (v, v) if isinstance(v, int) else (v[0], v[1])


def _p(v: Any) -> str:
    """A spec pair as source text: ``3`` or ``(3, 5)``."""
    return str(v) if isinstance(v, (int, str)) and not isinstance(v, bool) else f"({v[0]}, {v[1]})"


# --------------------------------------------------------------------------- the leaf layer types
# Registration order is the vocabulary's order (the editor's menu, the error listing the choices).


@leaf
class Conv(Leaf):
    """``nn.Conv2d``; the shape rules and their sentences are ``playground.models.arithmetic``'s."""

    word = LayerType(
        "conv",
        "Convolution",
        "Conv2d",
        (
            Field("in_channels", "auto_int", None, "Leave empty to follow the input", 1),
            Field("out_channels", "int", 64, "Number of filters (feature maps out)", 1),
            Field("kernel", "pair", 3, "Kernel size: 3 or [h, w]", 1, 1024),
            Field("stride", "pair", 1, "Step of the kernel: 2 halves the size", 1, 1024),
            Field("padding", "padding", 0, "Zeros around the border: a number, [h, w], 'same' or 'valid'", 0, 1024),
            Field("dilation", "pair", 1, "Spacing between kernel taps", 1, 1024),
            Field("groups", "int", 1, "Split channels into groups (groups = channels: depthwise)", 1),
            Field("bias", "bool", True, "Add a learned bias per filter"),
        ),
        "A filter slides over the input; each output channel is one feature map.",
    )

    def output(self, layer, shape, what):
        need_feature_map(what, shape)
        c, h, w = shape
        if layer.get("in_channels") not in (None, c):
            raise LayerError(
                f"{what} expects {layer['in_channels']} input channels, it gets {c}: "
                f"set in_channels={c} (or leave it empty to follow the input)."
            )
        cs = ConvSpec(
            layer["out_channels"],
            layer["kernel"],
            layer["stride"],
            layer["padding"],
            layer["dilation"],
            layer["groups"],
            layer["bias"],
        )
        validate_conv(cs, (1, c, h, w), what)
        oh, ow = conv_output_hw(cs, (h, w))
        kh, kw = cs.kernel
        params = cs.out_channels * (c // cs.groups) * kh * kw + (cs.out_channels if cs.bias else 0)
        return (cs.out_channels, oh, ow), params

    def build(self, layer, in_shape):
        return nn.Conv2d(
            in_shape[0],
            layer["out_channels"],
            _pair(layer["kernel"]),
            stride=_pair(layer["stride"]),
            padding=_pair(layer["padding"]),
            dilation=_pair(layer["dilation"]),
            groups=layer["groups"],
            bias=layer["bias"],
        )

    def source(self, layer, in_shape):
        args = [str(in_shape[0]), str(layer["out_channels"]), f"kernel_size={_p(layer['kernel'])}"]
        args += [f"stride={_p(layer['stride'])}"] if layer["stride"] != 1 else []
        pad = layer["padding"]
        args += [f"padding={pad!r}" if isinstance(pad, str) else f"padding={_p(pad)}"] if pad != 0 else []
        args += [f"dilation={_p(layer['dilation'])}"] if layer["dilation"] != 1 else []
        args += [f"groups={layer['groups']}"] if layer["groups"] != 1 else []
        args += ["bias=False"] if not layer["bias"] else []
        return f"nn.Conv2d({', '.join(args)})"

    def macs(self, layer, in_shape, out_shape):
        kh, kw = _hw(layer["kernel"])
        c_out, oh, ow = out_shape
        return c_out * oh * ow * (in_shape[0] // layer["groups"]) * kh * kw

    def window(self, layer, in_shape, out_shape):
        return _hw(layer["kernel"]), _hw(layer["stride"]), _hw(layer["dilation"])

    def torchinfo_mult_adds(self, params, out_shape):
        return params * prod(out_shape[1:])  # torchinfo: weights and bias once per output pixel

    def scratch(self, layer, in_shape, out_shape):
        # On CPU torch runs convs through oneDNN, which works on channel-blocked copies (channels rounded up to
        # 16) and reorders: forward, the output's copy (and the input's once it has 16 channels or more);
        # backward, the output gradient's copy, and the input gradient's when one is needed. Measured on
        # torch 2.14's CPU build with torch.profiler (tests/unit/models/test_memory.py).
        def blocked(shape):
            return BYTES * -(-shape[0] // 16) * 16 * prod(shape[1:])

        forward = blocked(out_shape) + (blocked(in_shape) if in_shape[0] >= 16 else 0)
        return forward, blocked(out_shape), blocked(out_shape) + blocked(in_shape)


@leaf
class BatchNorm(Leaf):
    """``nn.BatchNorm2d`` on a feature map, ``nn.BatchNorm1d`` on a flat vector."""

    word = LayerType(
        "batchnorm",
        "Batch norm",
        "BatchNorm2d",
        (
            Field("num_features", "auto_int", None, "Leave empty to follow the input", 1),
            Field("eps", "float", 1e-5, "Added to the variance", 0, 1),
            Field("momentum", "float", 0.1, "Running-average momentum", 0, 1),
            Field("affine", "bool", True, "Learn a scale and shift per channel"),
        ),
        "Normalizes each channel over the batch; BatchNorm1d after a flatten.",
    )

    def type_name(self, layer, in_shape):
        return "BatchNorm2d" if len(in_shape) == 3 else "BatchNorm1d"

    def output(self, layer, shape, what):
        if layer.get("num_features") not in (None, shape[0]):
            unit = "channels" if len(shape) == 3 else "features"
            raise LayerError(
                f"{what} expects {layer['num_features']} {unit}, it gets {shape[0]}: set "
                f"num_features={shape[0]} (or leave it empty to follow the input)."
            )
        return shape, (2 * shape[0] if layer["affine"] else 0)

    def build(self, layer, in_shape):
        cls = nn.BatchNorm2d if len(in_shape) == 3 else nn.BatchNorm1d
        return cls(in_shape[0], eps=layer["eps"], momentum=layer["momentum"], affine=layer["affine"])

    def source(self, layer, in_shape):
        args = [str(in_shape[0])]
        args += [f"eps={layer['eps']!r}"] if layer.get("eps", 1e-5) != 1e-5 else []
        args += [f"momentum={layer['momentum']!r}"] if layer.get("momentum", 0.1) != 0.1 else []
        args += ["affine=False"] if not layer.get("affine", True) else []
        return f"nn.BatchNorm{2 if len(in_shape) == 3 else 1}d({', '.join(args)})"

    def buffers(self, layer, in_shape):
        return 2 * in_shape[0]  # running mean and variance, affine or not


@leaf
class Activation(Leaf):
    """An element-wise non-linearity from ``blocks.ACTIVATIONS``; ``inplace`` where PyTorch allows it."""

    word = LayerType(
        "activation",
        "Activation",
        "ReLU",
        (
            Field("fn", "choice", "relu", "The non-linearity", choices=tuple(ACTIVATIONS)),
            Field("inplace", "bool", False, "Overwrite the input (saves memory)"),
        ),
        "An element-wise non-linearity: without it stacked layers collapse into one linear map.",
    )

    def type_name(self, layer, in_shape):
        return ACTIVATIONS[layer["fn"]][0].__name__

    def output(self, layer, shape, what):
        return shape, 0

    def build(self, layer, in_shape):
        return make_activation(layer["fn"], layer["inplace"])

    def source(self, layer, in_shape):
        cls, has_inplace = ACTIVATIONS[layer["fn"]]
        return f"nn.{cls.__name__}({'inplace=True' if layer.get('inplace') and has_inplace else ''})"

    def allocates(self, layer):
        return not (layer.get("inplace") and ACTIVATIONS[layer["fn"]][1])  # in place: writes over its input

    def saves(self, layer):
        # derivatives.yaml: relu, tanh, sigmoid keep their result; gelu, silu, leaky_relu, elu their input,
        # except that the in-place leaky_relu_ and elu_ keep the result (their input is gone).
        fn = layer["fn"]
        result = fn in ("relu", "tanh", "sigmoid") or (fn in ("leaky_relu", "elu") and not self.allocates(layer))
        return not result, result


class _Pool(Leaf):
    """Max and average pooling: the same window arithmetic (``playground.models.arithmetic``)."""

    pool: ClassVar[str]  # PoolSpec's "max" / "avg"

    def output(self, layer, shape, what):
        need_feature_map(what, shape)
        ps = PoolSpec(
            self.pool,
            layer["kernel"],
            layer["stride"],
            layer["padding"],
            layer.get("dilation", 1),
            layer["ceil_mode"],
        )
        validate_pool(ps, (1, *shape), what)
        return (shape[0], *pool_output_hw(ps, shape[1:])), 0

    def source(self, layer, in_shape):
        args = [f"kernel_size={_p(layer['kernel'])}"]
        args += [f"stride={_p(layer['stride'])}"] if layer["stride"] is not None else []
        args += [f"padding={_p(layer['padding'])}"] if layer["padding"] != 0 else []
        args += [f"dilation={_p(layer['dilation'])}"] if layer.get("dilation", 1) != 1 else []
        args += ["ceil_mode=True"] if layer["ceil_mode"] else []
        args += ["count_include_pad=False"] if not layer.get("count_include_pad", True) else []
        return f"nn.{self.word.torch}({', '.join(args)})"

    def window(self, layer, in_shape, out_shape):
        k = _hw(layer["kernel"])
        s = _hw(layer["stride"]) if layer["stride"] is not None else k
        return k, s, _hw(layer.get("dilation", 1))

    def saved_extra(self, layer, in_shape, out_shape):
        return 8 * prod(out_shape) if self.pool == "max" else 0  # max pooling keeps int64 argmax indices

    @staticmethod
    def _stride(layer: dict) -> Any:
        """The stride PyTorch gets: an empty stride is the kernel's."""
        return _pair(layer["stride"] if layer["stride"] is not None else layer["kernel"])


@leaf
class MaxPool(_Pool):
    """``nn.MaxPool2d``."""

    pool = "max"
    word = LayerType(
        "maxpool",
        "Max pooling",
        "MaxPool2d",
        (
            Field("kernel", "pair", 2, "Window size", 1, 1024),
            Field("stride", "auto_pair", None, "Empty: same as the kernel", 1, 1024),
            Field("padding", "pair", 0, "At most half the kernel", 0, 512),
            Field("dilation", "pair", 1, "Spacing between window taps", 1, 1024),
            Field("ceil_mode", "bool", False, "Round the output size up"),
        ),
        "Keeps the largest value of each window: smaller maps, a little translation invariance.",
    )

    def build(self, layer, in_shape):
        return nn.MaxPool2d(
            _pair(layer["kernel"]),
            self._stride(layer),
            _pair(layer["padding"]),
            dilation=_pair(layer["dilation"]),
            ceil_mode=layer["ceil_mode"],
        )


@leaf
class AvgPool(_Pool):
    """``nn.AvgPool2d`` (PyTorch's has no dilation)."""

    pool = "avg"
    word = LayerType(
        "avgpool",
        "Average pooling",
        "AvgPool2d",
        (
            Field("kernel", "pair", 2, "Window size", 1, 1024),
            Field("stride", "auto_pair", None, "Empty: same as the kernel", 1, 1024),
            Field("padding", "pair", 0, "At most half the kernel", 0, 512),
            Field("ceil_mode", "bool", False, "Round the output size up"),
            Field("count_include_pad", "bool", True, "Count padding zeros in the average"),
        ),
        "Averages each window: smoother features (LeNet's 'subsampling').",
    )

    def build(self, layer, in_shape):
        return nn.AvgPool2d(
            _pair(layer["kernel"]),
            self._stride(layer),
            _pair(layer["padding"]),
            ceil_mode=layer["ceil_mode"],
            count_include_pad=layer["count_include_pad"],
        )


def _adaptive_window(n: int, m: int) -> tuple[int, int]:
    """(largest window, step) of adaptive pooling from n to m: windows run floor(i*n/m) .. ceil((i+1)*n/m)."""
    if n % m == 0:
        return n // m, n // m
    k = max(ceil((i + 1) * n / m) - floor(i * n / m) for i in range(m))
    return k, max(1, n // m)


class _AdaptivePool(Leaf):
    """Adaptive pooling: any input down to the ``output`` size."""

    fixed_output = True

    def output(self, layer, shape, what):
        need_feature_map(what, shape)
        oh, ow = _hw(layer["output"])
        return (shape[0], oh, ow), 0

    def build(self, layer, in_shape):
        return getattr(nn, self.word.torch)(_pair(layer["output"]))

    def source(self, layer, in_shape):
        return f"nn.{self.word.torch}({_p(layer['output'])})"

    def saves(self, layer):
        # Adaptive average pooling to 1x1 is a mean (keeps only sizes); otherwise the input is kept.
        return not (self.word.torch == "AdaptiveAvgPool2d" and _hw(layer["output"]) == (1, 1)), False

    def saved_extra(self, layer, in_shape, out_shape):
        return 8 * prod(out_shape) if self.word.torch == "AdaptiveMaxPool2d" else 0  # int64 indices

    def window(self, layer, in_shape, out_shape):
        # Windows differ in size when the output does not divide the input: the largest one counts.
        wins = [_adaptive_window(n, m) for n, m in zip(in_shape[1:], out_shape[1:])]
        return (wins[0][0], wins[1][0]), (wins[0][1], wins[1][1]), (1, 1)


@leaf
class AdaptiveAvgPool(_AdaptivePool):
    """``nn.AdaptiveAvgPool2d``: output 1 is global average pooling."""

    word = LayerType(
        "adaptive_avgpool",
        "Adaptive average pooling",
        "AdaptiveAvgPool2d",
        (Field("output", "pair", 1, "Output size whatever the input: 1 is global average pooling", 1, 1024),),
        "Pools any input down to a fixed size, so the classifier does not depend on the image size.",
    )


@leaf
class AdaptiveMaxPool(_AdaptivePool):
    """``nn.AdaptiveMaxPool2d``."""

    word = LayerType(
        "adaptive_maxpool",
        "Adaptive max pooling",
        "AdaptiveMaxPool2d",
        (Field("output", "pair", 1, "Output size whatever the input", 1, 1024),),
        "Max pooling to a fixed output size.",
    )


@leaf
class Dropout(Leaf):
    """``nn.Dropout``."""

    word = LayerType(
        "dropout",
        "Dropout",
        "Dropout",
        (Field("p", "float", 0.5, "Probability of zeroing each value while training", 0, 1),),
        "Randomly zeroes values while training (regularization); does nothing at evaluation.",
    )

    def output(self, layer, shape, what):
        return shape, 0

    def build(self, layer, in_shape):
        return nn.Dropout(layer["p"])

    def source(self, layer, in_shape):
        return f"nn.Dropout(p={layer['p']!r})"

    def saves(self, layer):
        return False, False  # only its mask (saved_extra)

    def saved_extra(self, layer, in_shape, out_shape):
        # On CPU dropout multiplies by a float noise tensor, which autograd keeps (CUDA's fused kernel keeps a
        # one-byte mask instead; the CPU figure is the one measured).
        return BYTES * prod(out_shape) if layer["p"] > 0 else 0


@leaf
class Flatten(Leaf):
    """``nn.Flatten(1)``: a view of the feature map."""

    word = LayerType(
        "flatten", "Flatten", "Flatten", (), "Turns a [C, H, W] feature map into a vector of C*H*W features."
    )

    def output(self, layer, shape, what):
        return (prod(shape),), 0

    def build(self, layer, in_shape):
        return nn.Flatten(1)

    def source(self, layer, in_shape):
        return "nn.Flatten()"

    def window(self, layer, in_shape, out_shape):
        return None

    def allocates(self, layer):
        return False  # a view of its input

    def saves(self, layer):
        return False, False  # its backward is a reshape


@leaf
class Linear(Leaf):
    """``nn.Linear`` on a flat vector."""

    word = LayerType(
        "linear",
        "Linear (fully connected)",
        "Linear",
        (
            Field("in_features", "auto_int", None, "Leave empty to follow the input", 1, 1 << 31),
            Field("out_features", "int", 10, "Outputs (the number of classes for the last layer)", 1),
            Field("bias", "bool", True, "Add a learned bias"),
        ),
        "Every output sees every input.",
    )

    def output(self, layer, shape, what):
        expect = layer.get("in_features")
        if len(shape) == 3:
            flat = prod(shape)
            hint = f"it expects {expect} inputs, " if expect else ""
            raise LayerError(
                f"{what} gets a {shape[0]}x{shape[1]}x{shape[2]} feature map, not a flat vector: {hint}"
                f"add a flatten before it (it would then get {flat} inputs)."
            )
        if expect not in (None, shape[0]):
            raise LayerError(
                f"{what} expects {expect} inputs, it gets {shape[0]}: set in_features={shape[0]}, "
                f"or change the layers before it so they produce {expect}."
            )
        params = shape[0] * layer["out_features"] + (layer["out_features"] if layer["bias"] else 0)
        return (layer["out_features"],), params

    def build(self, layer, in_shape):
        return nn.Linear(in_shape[0], layer["out_features"], bias=layer["bias"])

    def source(self, layer, in_shape):
        return f"nn.Linear({in_shape[0]}, {layer['out_features']}{'' if layer['bias'] else ', bias=False'})"

    def macs(self, layer, in_shape, out_shape):
        return in_shape[0] * out_shape[0]

    def window(self, layer, in_shape, out_shape):
        return None


@leaf
class PadShortcutLeaf(Leaf):
    """A residual block's option-A shortcut (``blocks.PadShortcut``): subsample, then append zero channels."""

    in_vocabulary = False  # blocks make it (shortcut="pad"); a spec never names it
    word = LayerType(
        "pad_shortcut",
        "Zero-padding shortcut",
        "PadShortcut",
        (
            Field("out_channels", "int", 64, "Channels out: the input's plus zero channels", 1),
            Field("stride", "int", 1, "Keep every stride-th row and column", 1, 64),
        ),
        "Subsampling plus zero channels: the skip path of a block that changes shape, without parameters.",
    )

    def output(self, layer, shape, what):
        need_feature_map(what, shape)  # a block checks first; this keeps the facet's promise on its own
        c, h, w = shape
        s = layer["stride"]
        if layer["out_channels"] < c:
            raise LayerError(
                f"{what}: the zero-padding shortcut cannot reduce {c} channels to "
                f"{layer['out_channels']}; use shortcut 'conv'."
            )
        return (layer["out_channels"], -(-h // s), -(-w // s)), 0

    def build(self, layer, in_shape):
        return PadShortcut(in_shape[0], layer["out_channels"], layer["stride"])

    def source(self, layer, in_shape):
        # The exported file defines PadShortcut (codegen's _PAD_SRC) wherever a block uses it.
        return f"PadShortcut({in_shape[0]}, {layer['out_channels']}, stride={layer['stride']})"

    def window(self, layer, in_shape, out_shape):
        return (1, 1), _hw(layer["stride"]), (1, 1)

    def saves(self, layer):
        return False, False  # slicing and zero padding keep only sizes
