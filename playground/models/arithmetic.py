"""Convolution and pooling arithmetic, checked against PyTorch's own rules.

Everything the Convolution & Pooling Explorer shows is computed here, without
running a layer: output shapes (with the formula and the user's numbers written
out), parameters, MACs, the parameter count of an equivalent fully-connected
layer, receptive field and jump. ``validate_*`` reject exactly the
configurations ``nn.Conv2d`` / ``nn.MaxPool2d`` / ``nn.AvgPool2d`` reject, each
with a sentence that says how to fix it (the property tests in
``tests/unit/test_conv_properties.py`` hold us to that).

Shapes are ``(N, C, H, W)`` tuples throughout; per-axis values are ``(h, w)``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from math import floor, prod
from typing import Any, Union

import torch.nn as nn

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
POOL_KINDS = ("max", "avg")

Pair = tuple[int, int]
Shape = tuple[int, int, int, int]


class LayerError(ValueError):
    """A layer configuration PyTorch would reject; the message says how to fix it."""


def _pair(v: Any) -> Pair:
    """Accept an int or a 2-sequence and return an ``(h, w)`` tuple of ints."""
    if isinstance(v, (list, tuple)):
        if len(v) != 2:
            raise LayerError(f"Expected one number or a pair (height, width), got {v!r}.")
        return int(v[0]), int(v[1])
    return int(v), int(v)


@dataclass
class ConvSpec:
    """One ``nn.Conv2d``. ``padding`` is an ``(h, w)`` pair or ``"same"`` / ``"valid"``.

    ``in_channels`` is not stored: in a chain it always comes from the input.
    """

    out_channels: int = 16
    kernel: Pair = (3, 3)
    stride: Pair = (1, 1)
    padding: Union[Pair, str] = (0, 0)  # as nn.Conv2d
    dilation: Pair = (1, 1)
    groups: int = 1
    bias: bool = True
    padding_mode: str = "zeros"
    kind: str = field(default="conv", init=False)

    def __post_init__(self):
        self.kernel, self.stride, self.dilation = _pair(self.kernel), _pair(self.stride), _pair(self.dilation)
        if isinstance(self.padding, str):
            self.padding = self.padding.lower()
        else:
            self.padding = _pair(self.padding)
        self.out_channels, self.groups, self.bias = int(self.out_channels), int(self.groups), bool(self.bias)


@dataclass
class PoolSpec:
    """One ``nn.MaxPool2d`` or ``nn.AvgPool2d``; ``stride=None`` means "same as the kernel"."""

    pool: str = "max"
    kernel: Pair = (2, 2)
    stride: Pair | None = None
    padding: Pair = (0, 0)
    dilation: Pair = (1, 1)  # max pooling only; PyTorch's AvgPool2d has no dilation
    ceil_mode: bool = False
    kind: str = field(default="pool", init=False)

    def __post_init__(self):
        self.pool = str(self.pool).lower()
        self.kernel, self.padding, self.dilation = _pair(self.kernel), _pair(self.padding), _pair(self.dilation)
        self.stride = self.kernel if self.stride is None else _pair(self.stride)
        self.ceil_mode = bool(self.ceil_mode)
        if self.pool == "avg":
            # nn.AvgPool2d has no dilation: keep the field neutral so it never shows up in a report.
            self.dilation = (1, 1)


LayerSpec = Union[ConvSpec, PoolSpec]


def spec_to_dict(spec: LayerSpec) -> dict:
    """A JSON-friendly dict (tuples become lists) that ``spec_from_dict`` reads back."""
    d = asdict(spec)
    return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


def spec_from_dict(d: dict) -> LayerSpec:
    """Build a spec from a dict made by ``spec_to_dict`` (unknown keys are ignored, so old links keep working)."""
    kind = d.get("kind", "conv")
    cls = {"conv": ConvSpec, "pool": PoolSpec}.get(kind)
    if cls is None:
        raise LayerError(f"Unknown layer kind {kind!r}: use 'conv' or 'pool'.")
    allowed = {f.name for f in fields(cls) if f.init}
    return cls(**{k: v for k, v in d.items() if k in allowed})


# --------------------------------------------------------------------------- padding


def conv_padding(spec: ConvSpec) -> tuple[Pair, Pair]:
    """The actual padding ``((top, bottom), (left, right))`` the conv applies.

    ``same`` pads ``d*(k-1)`` in total per axis, the odd pixel going to the
    bottom/right, exactly as ``nn.Conv2d`` does; ``valid`` pads nothing.
    """
    if spec.padding == "valid":
        return (0, 0), (0, 0)
    if spec.padding == "same":
        out = []
        for k, d in zip(spec.kernel, spec.dilation):
            total = d * (k - 1)
            out.append((total // 2, total - total // 2))
        return out[0], out[1]
    ph, pw = spec.padding
    return (ph, ph), (pw, pw)


# --------------------------------------------------------------------------- validation


def _positive(name: str, values: Pair | int, what: str) -> None:
    vals = values if isinstance(values, tuple) else (values,)
    if any(v <= 0 for v in vals):
        raise LayerError(f"{what}: {name} must be at least 1 (got {_fmt(values)}). Set it to 1 or more.")


def _fmt(v: Any) -> str:
    if isinstance(v, tuple) and len(v) == 2:
        return f"{v[0]}x{v[1]}" if v[0] != v[1] else str(v[0])
    return str(v)


def validate_input(shape: Shape) -> None:
    """An input tensor shape ``(N, C, H, W)`` the explorer can work with."""
    if len(shape) != 4:
        raise LayerError("The input needs four numbers: batch, channels, height, width.")
    names = ("batch size", "channels", "height", "width")
    for n, v in zip(names, shape):
        if int(v) < 1:
            raise LayerError(f"The input {n} must be at least 1 (got {v}).")


def validate_conv(spec: ConvSpec, in_shape: Shape, what: str = "Conv2d") -> None:
    """Raise LayerError with a fix, for every configuration ``nn.Conv2d`` would reject on ``in_shape``."""
    _, c, h, w = in_shape
    if spec.out_channels < 1:
        raise LayerError(f"{what}: out_channels must be at least 1 (got {spec.out_channels}).")
    if spec.groups < 1:
        raise LayerError(f"{what}: groups must be at least 1 (got {spec.groups}).")
    if c % spec.groups:
        raise LayerError(
            f"{what}: groups={spec.groups} does not divide the {c} input channels. "
            f"Choose groups among {_divisors(c)} (or change the channels)."
        )
    if spec.out_channels % spec.groups:
        raise LayerError(
            f"{what}: groups={spec.groups} does not divide out_channels={spec.out_channels}. "
            f"Make out_channels a multiple of {spec.groups}."
        )
    if spec.padding_mode not in PADDING_MODES:
        raise LayerError(f"{what}: unknown padding mode {spec.padding_mode!r}; use one of {', '.join(PADDING_MODES)}.")
    if isinstance(spec.padding, str):
        if spec.padding not in ("same", "valid"):
            raise LayerError(f"{what}: padding {spec.padding!r} is not a number, 'same' or 'valid'.")
        if spec.padding == "same" and spec.stride != (1, 1):
            raise LayerError(
                f"{what}: padding='same' only works with stride 1 (got stride {_fmt(spec.stride)}): "
                "with a larger stride the output cannot keep the input's size. "
                "Set the stride to 1, or give the padding as a number."
            )
    elif min(spec.padding) < 0 and spec.padding_mode == "zeros":
        # nn.Conv2d pads with F.pad for the other modes, which crops on a negative pad; zeros padding refuses it.
        raise LayerError(
            f"{what}: padding cannot be negative with padding mode 'zeros' (got {_fmt(spec.padding)}). "
            "Use 0 or more, or padding mode 'reflect', 'replicate' or 'circular', where a negative padding crops."
        )
    _positive("the kernel size", spec.kernel, what)
    _positive("the stride", spec.stride, what)
    _positive("the dilation", spec.dilation, what)
    pads = conv_padding(spec)
    for axis, size, (p0, p1), k, d in zip(("height", "width"), (h, w), pads, spec.kernel, spec.dilation):
        if spec.padding_mode == "reflect" and max(p0, p1) >= size:
            raise LayerError(
                f"{what}: reflect padding of {max(p0, p1)} needs an input {axis} above {max(p0, p1)} (it is {size}). "
                "Pad less, or use padding mode 'zeros' or 'replicate'."
            )
        if spec.padding_mode == "circular" and max(p0, p1) > size:
            raise LayerError(
                f"{what}: circular padding of {max(p0, p1)} would wrap around the {size}-pixel {axis} more than once. "
                f"Pad at most {size}, or use padding mode 'zeros'."
            )
        eff = d * (k - 1) + 1
        if eff > size + p0 + p1:
            dil = f" (dilation {d} stretches the {k}-tap kernel to span {eff})" if d > 1 else ""
            sign = "+" if p0 + p1 >= 0 else "-"
            raise LayerError(
                f"{what}: the kernel spans {eff} pixels{dil} but the padded input {axis} is only "
                f"{size} {sign} {abs(p0 + p1)} = {size + p0 + p1}. Use a smaller kernel or dilation, or more padding."
            )


def validate_pool(spec: PoolSpec, in_shape: Shape, what: str | None = None) -> None:
    """Raise LayerError with a fix, for every configuration ``nn.MaxPool2d`` / ``nn.AvgPool2d`` rejects."""
    what = what or ("MaxPool2d" if spec.pool == "max" else "AvgPool2d")
    if spec.pool not in POOL_KINDS:
        raise LayerError(f"Unknown pooling {spec.pool!r}: use 'max' or 'avg'.")
    _positive("the kernel size", spec.kernel, what)
    _positive("the stride", spec.stride, what)
    _positive("the dilation", spec.dilation, what)
    if min(spec.padding) < 0:
        raise LayerError(f"{what}: padding cannot be negative (got {_fmt(spec.padding)}). Use 0 or more.")
    for k, p in zip(spec.kernel, spec.padding):
        # PyTorch: "pad should be at most half of kernel size" (kernel, not the dilated span).
        if 2 * p > k:
            raise LayerError(
                f"{what}: padding {p} is more than half the kernel size {k}, so some windows would see only padding. "
                f"Use padding of at most {k // 2}, or a larger kernel."
            )
    out = pool_output_hw(spec, in_shape[2:])
    if min(out) < 1:
        raise LayerError(
            f"{what}: a {_fmt(spec.kernel)} window does not fit the {in_shape[2]}x{in_shape[3]} input "
            f"(output would be {out[0]}x{out[1]}). Use a smaller kernel, add padding, or pool earlier in the chain."
        )


def _divisors(n: int) -> str:
    return ", ".join(str(d) for d in range(1, n + 1) if n % d == 0)


# --------------------------------------------------------------------------- output sizes


def conv_output_hw(spec: ConvSpec, hw: Pair) -> Pair:
    """Output ``(H, W)`` of a valid conv: ``floor((n + p0 + p1 - d*(k-1) - 1) / s) + 1``."""
    out = []
    for n, (p0, p1), k, s, d in zip(hw, conv_padding(spec), spec.kernel, spec.stride, spec.dilation):
        out.append((n + p0 + p1 - d * (k - 1) - 1) // s + 1)
    return out[0], out[1]


def _pool_axis(n: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    span = n + 2 * p - d * (k - 1) - 1
    if ceil_mode:
        out = -(-span // s) + 1  # ceil for possibly negative span, like PyTorch's div_rtn
        # PyTorch drops a last window that would start inside the right padding.
        if (out - 1) * s >= n + p:
            out -= 1
        return out
    return floor(span / s) + 1


def pool_output_hw(spec: PoolSpec, hw: Pair) -> Pair:
    """Output ``(H, W)`` of a pooling layer, honouring ``ceil_mode`` like PyTorch."""
    d = spec.dilation if spec.pool == "max" else (1, 1)
    return tuple(
        _pool_axis(n, k, s, p, dd, spec.ceil_mode)
        for n, k, s, p, dd in zip(hw, spec.kernel, spec.stride, spec.padding, d)
    )  # type: ignore[return-value]


# --------------------------------------------------------------------------- reports


@dataclass
class LayerReport:
    """Everything the explorer shows about one layer of a chain."""

    index: int
    label: str  # e.g. "Conv2d(3, 16, kernel_size=3, stride=1, padding=1)"
    in_shape: Shape
    out_shape: Shape | None = None
    formulas: tuple[str, str] = ("", "")  # (height, width) with numbers plugged in
    params: int = 0
    macs: int = 0  # multiply-accumulates per image; FLOPs = 2 x MACs
    fc_params: int | None = None  # a Linear layer mapping the same input to the same output
    receptive_field: Pair = (1, 1)
    jump: Pair = (1, 1)
    error: str | None = None


def conv_params(spec: ConvSpec, in_channels: int) -> int:
    """Weights ``out * in/groups * kh * kw`` plus one bias per output channel."""
    kh, kw = spec.kernel
    return spec.out_channels * (in_channels // spec.groups) * kh * kw + (spec.out_channels if spec.bias else 0)


def conv_macs(spec: ConvSpec, in_channels: int, out_hw: Pair) -> int:
    """Multiply-accumulates per image (bias additions not counted, as in torchvision's figures)."""
    kh, kw = spec.kernel
    return spec.out_channels * out_hw[0] * out_hw[1] * (in_channels // spec.groups) * kh * kw


def fc_equivalent_params(in_shape: Shape, out_shape: Shape, bias: bool = True) -> int:
    """Parameters of ``nn.Linear(C*H*W, C'*H'*W')``: what weight sharing saves us."""
    n_in, n_out = prod(in_shape[1:]), prod(out_shape[1:])
    return n_in * n_out + (n_out if bias else 0)


def layer_label(spec: LayerSpec, in_channels: int) -> str:
    """The PyTorch constructor call a layer corresponds to, as people would write it."""

    def f(v):
        return str(v[0]) if isinstance(v, tuple) and v[0] == v[1] else str(v)

    if isinstance(spec, ConvSpec):
        pad = repr(spec.padding) if isinstance(spec.padding, str) else f(spec.padding)
        extra = "".join(
            s
            for s, on in (
                (f", dilation={f(spec.dilation)}", spec.dilation != (1, 1)),
                (f", groups={spec.groups}", spec.groups != 1),
                (", bias=False", not spec.bias),
                (f", padding_mode={spec.padding_mode!r}", spec.padding_mode != "zeros"),
            )
            if on
        )
        return (
            f"Conv2d({in_channels}, {spec.out_channels}, kernel_size={f(spec.kernel)}, "
            f"stride={f(spec.stride)}, padding={pad}{extra})"
        )
    name = "MaxPool2d" if spec.pool == "max" else "AvgPool2d"
    extra = f", dilation={f(spec.dilation)}" if spec.pool == "max" and spec.dilation != (1, 1) else ""
    extra += ", ceil_mode=True" if spec.ceil_mode else ""
    return f"{name}(kernel_size={f(spec.kernel)}, stride={f(spec.stride)}, padding={f(spec.padding)}{extra})"


def _formula(axis: str, n: int, p0: int, p1: int, k: int, s: int, d: int, out: int, ceil_mode: bool, same: bool) -> str:
    sym = axis[0].upper()
    if same:
        return (
            f"{sym}_out = {sym}_in = {n}: padding='same' pads d·(k−1) = {d}·({k}−1) = {p0 + p1} in total "
            f"({p0} before, {p1} after), and stride 1 keeps every position."
        )
    pad = f"2·{p0}" if p0 == p1 else f"{p0}+{p1}"
    open_, close = ("⌈", "⌉") if ceil_mode else ("⌊", "⌋")
    text = (
        f"{sym}_out = {open_}({sym}_in + 2·p − d·(k−1) − 1) / s{close} + 1 = "
        f"{open_}({n} + {pad} − {d}·({k}−1) − 1) / {s}{close} + 1 = {out}"
    )
    if ceil_mode:
        raw = -(-(n + p0 + p1 - d * (k - 1) - 1) // s) + 1
        if raw != out:
            text += f" (ceil gives {raw}, but the last window would start in the padding, so PyTorch drops it)"
    return text


def analyse_layer(
    spec: LayerSpec, in_shape: Shape, index: int = 0, rf: Pair = (1, 1), jump: Pair = (1, 1)
) -> LayerReport:
    """Validate one layer on ``in_shape`` and compute its report (``error`` set instead of raising)."""
    n, c, h, w = in_shape
    label = layer_label(spec, c)
    report = LayerReport(index=index, label=label, in_shape=in_shape, receptive_field=rf, jump=jump)
    try:
        if isinstance(spec, ConvSpec):
            validate_conv(spec, in_shape)
            oh, ow = conv_output_hw(spec, (h, w))
            pads, dil = conv_padding(spec), spec.dilation
            report.out_shape = (n, spec.out_channels, oh, ow)
            report.params = conv_params(spec, c)
            report.macs = conv_macs(spec, c, (oh, ow))
            report.fc_params = fc_equivalent_params(in_shape, report.out_shape, spec.bias)
            same = spec.padding == "same"
        else:
            validate_pool(spec, in_shape)
            oh, ow = pool_output_hw(spec, (h, w))
            pads = tuple((p, p) for p in spec.padding)
            dil = spec.dilation if spec.pool == "max" else (1, 1)
            report.out_shape = (n, c, oh, ow)
            same = False
    except LayerError as exc:
        report.error = str(exc)
        return report
    ceil_mode = isinstance(spec, PoolSpec) and spec.ceil_mode
    report.formulas = tuple(  # type: ignore[assignment]
        _formula(axis, size, p[0], p[1], k, s, d, o, ceil_mode, same)
        for axis, size, p, k, s, d, o in zip(("height", "width"), (h, w), pads, spec.kernel, spec.stride, dil, (oh, ow))
    )
    # Receptive field grows by the dilated kernel span times the current jump;
    # the jump (distance in input pixels between neighbouring outputs) multiplies by the stride.
    report.receptive_field = tuple(r + d * (k - 1) * j for r, d, k, j in zip(rf, dil, spec.kernel, jump))  # type: ignore
    report.jump = tuple(j * s for j, s in zip(jump, spec.stride))  # type: ignore[assignment]
    return report


def analyse_chain(in_shape: Shape, layers: list[LayerSpec]) -> list[LayerReport]:
    """Reports for each layer in turn; stops after the first layer that fails (its report carries the error)."""
    validate_input(in_shape)
    reports: list[LayerReport] = []
    shape, rf, jump = tuple(int(v) for v in in_shape), (1, 1), (1, 1)
    for i, spec in enumerate(layers):
        rep = analyse_layer(spec, shape, i, rf, jump)  # type: ignore[arg-type]
        reports.append(rep)
        if rep.error:
            break
        shape, rf, jump = rep.out_shape, rep.receptive_field, rep.jump
    return reports


# --------------------------------------------------------------------------- to PyTorch


def to_module(spec: LayerSpec, in_channels: int) -> nn.Module:
    """The real PyTorch layer for a spec (validated first, so it never raises a torch error)."""
    if isinstance(spec, ConvSpec):
        return nn.Conv2d(
            in_channels,
            spec.out_channels,
            spec.kernel,
            stride=spec.stride,
            padding=spec.padding,
            dilation=spec.dilation,
            groups=spec.groups,
            bias=spec.bias,
            padding_mode=spec.padding_mode,
        )
    if spec.pool == "max":
        return nn.MaxPool2d(spec.kernel, spec.stride, spec.padding, dilation=spec.dilation, ceil_mode=spec.ceil_mode)
    return nn.AvgPool2d(spec.kernel, spec.stride, spec.padding, ceil_mode=spec.ceil_mode)


def chain_to_sequential(in_shape: Shape, layers: list[LayerSpec]) -> nn.Sequential:
    """An ``nn.Sequential`` of the chain; raises LayerError (with the fix) at the first bad layer."""
    reports = analyse_chain(in_shape, layers)
    for rep in reports:
        if rep.error:
            raise LayerError(f"Layer {rep.index + 1}: {rep.error}")
    mods, c = [], in_shape[1]
    for spec in layers:
        mods.append(to_module(spec, c))
        if isinstance(spec, ConvSpec):
            c = spec.out_channels
    return nn.Sequential(*mods)


def stacked_vs_single(channels: int = 64, hw: Pair = (32, 32), small: int = 3, n_small: int = 2) -> dict[str, Any]:
    """The VGG argument: ``n_small`` stacked ``small x small`` convs vs one conv with the same receptive field.

    Returns both chains' reports so the page can show them side by side.
    """
    big = n_small * (small - 1) + 1  # two 3x3 -> 5x5, three 3x3 -> 7x7
    shape = (1, channels, hw[0], hw[1])
    stacked = [ConvSpec(channels, small, 1, small // 2) for _ in range(n_small)]
    single = [ConvSpec(channels, big, 1, big // 2)]
    a, b = analyse_chain(shape, stacked), analyse_chain(shape, single)
    return {
        "in_shape": shape,
        "big_kernel": big,
        "stacked": a,
        "single": b,
        "stacked_params": sum(r.params for r in a),
        "single_params": sum(r.params for r in b),
        "stacked_macs": sum(r.macs for r in a),
        "single_macs": sum(r.macs for r in b),
        "stacked_nonlinearities": n_small,
        "single_nonlinearities": 1,
    }
