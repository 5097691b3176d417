"""The model spec: walk it layer by layer without building anything, validate it, build it.

Every model, preset or user-built, is one JSON document (vocabulary and file handling
in ``playground.models.vocab``)::

    {"format": "cnn-playground/model", "version": 1, "name": "SimpleCNN", "input": [3, 32, 32],
     "layers": [{"type": "sequential", "name": "features", "layers": [
                    {"type": "conv", "out_channels": 32, "kernel": 3, "padding": 1}, ...]},
                {"type": "flatten"}, {"type": "linear", "name": "classifier", "in_features": 128, "out_features": 10}]}

A layer's ``name`` is its module name (default: its index, as in ``nn.Sequential``), so the
spec fixes the ``state_dict`` keys. ``trace`` walks the spec the way the built model's
forward will run: one ``Step`` per module call (a residual block's ReLU is called twice, so
it appears twice) plus an ``Add`` step where a skip connection joins, each with its
per-sample input and output shape (``(C, H, W)`` before a flatten, ``(F,)`` after) and its
parameters. It stops at the first layer that cannot work with a ``SpecError`` naming the
layer and the fix. ``build`` makes the ``nn.Module`` (a ``SpecNet``). What each leaf layer
gives (shape, parameters, module) is its entry in the leaf table, ``playground.models.layers``;
the residual blocks and containers are walked here.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

import torch.nn as nn

from playground.models.arithmetic import LayerError
from playground.models.blocks import SpecNet, block_plan, make_block, make_layer
from playground.models.layers import LEAVES, need_feature_map
from playground.models.vocab import (
    BLOCK_TYPES,
    LAYER_TYPES,
    SpecError,
    check_input,
    normalize,
)

MAX_STEPS = 5000  # module calls in one model: ResNet-152 makes about 520

Shape = tuple  # per sample: (C, H, W) or (F,)


@dataclass(slots=True)
class Step:
    """One module call of the forward pass (or the ``Add`` of a skip connection)."""

    name: str  # module path as in model.named_modules(): "layer1.0.conv1"; an add is "layer1.0.add"
    type: str  # the PyTorch class: "Conv2d", "BatchNorm2d", ...; "Add" for a skip connection
    kind: str  # the vocabulary word: conv, batchnorm, ..., pad_shortcut, add
    layer: dict  # the leaf's settings
    in_shape: Shape
    out_shape: Shape
    params: int
    trainable: bool = True
    block: str | None = None  # the residual block it belongs to
    role: str = "main"  # "main" path, "skip" path, or the "add" joining them
    item: tuple[int, ...] = ()  # index path of the spec layer it comes from (what an editor selects)


@dataclass
class Trace:
    """The result of walking a spec: the steps up to the end, or up to the layer in ``error``."""

    spec: dict
    input_shape: tuple[int, int, int]
    steps: list[Step] = field(default_factory=list)
    inputs: dict[str, Shape] = field(default_factory=dict)  # module name -> its input shape
    blocks: dict[str, str] = field(default_factory=dict)  # residual block name -> "BasicBlock" / "Bottleneck"
    error: SpecError | None = None

    @property
    def output_shape(self) -> Shape:
        return self.steps[-1].out_shape if self.steps else self.input_shape


def type_name(layer: dict, in_shape: Shape) -> str:
    """The PyTorch class a layer becomes on ``in_shape`` (a leaf's as its table entry says)."""
    t = layer["type"]
    return LEAVES.get(t).type_name(layer, in_shape) if t in LEAVES else LAYER_TYPES[t].torch


def leaf_output(layer: dict, shape: Shape, name: str) -> tuple[Shape, int]:
    """``(output shape, parameters)`` of one leaf on a per-sample ``shape``; SpecError with the fix otherwise."""
    t = layer["type"]
    what = f"Layer {name} ({type_name(layer, shape)})"
    if t not in LEAVES:
        raise SpecError(f"{what}: {t!r} is not a layer this playground knows.", path=name)
    try:
        return LEAVES.get(t).output(layer, shape, what)
    except LayerError as exc:  # the table's sentences already start with ``what``
        raise SpecError(str(exc), path=name) from None


def stage_block(stage: dict, index: int) -> dict:
    """The ``index``-th block of a stage: only the first one strides."""
    keys = ("planes", "residual", "shortcut", "norm", "activation", "bias")
    return {"type": stage["block"], **{k: stage[k] for k in keys}, "stride": stage["stride"] if index == 0 else 1}


class _Walker:
    """Walks normalized layers, appending steps to ``trace`` (raises SpecError at the first bad layer)."""

    def __init__(self, tr: Trace):
        self.tr = tr

    def _emit(
        self,
        name: str,
        layer: dict,
        shape: Shape,
        item: tuple,
        frozen: bool,
        block: str | None = None,
        role: str = "main",
    ) -> Shape:
        out, params = leaf_output(layer, shape, name)
        steps = self.tr.steps
        steps.append(
            Step(name, type_name(layer, shape), layer["type"], layer, shape, out, params, not frozen, block, role, item)
        )
        if len(steps) > MAX_STEPS:
            raise SpecError(
                f"This model makes more than {MAX_STEPS} layer calls, too many for the playground: use fewer blocks.",
                path=name,
            )
        return out

    def block(self, layer: dict, shape: Shape, name: str, item: tuple, frozen: bool) -> Shape:
        tname = LAYER_TYPES[layer["type"]].torch
        try:
            need_feature_map(f"Layer {name} ({tname})", shape)
        except LayerError as exc:
            raise SpecError(str(exc), path=name) from None
        self.tr.inputs[name] = shape
        self.tr.blocks[name] = tname
        plan = block_plan(layer, shape[0])
        main = shape
        for sub, leaf in plan["main"]:
            main = self._emit(f"{name}.{sub}", leaf, main, item, frozen, name, "main")
        if layer["residual"]:
            skip = shape
            for sub, leaf in plan["skip"]:
                skip = self._emit(f"{name}.{sub}", leaf, skip, item, frozen, name, "skip")
            if skip != main:  # cannot happen with block_plan's shortcuts; a guard, not a user error
                raise SpecError(
                    f"Layer {name} ({tname}): the skip path gives {list(skip)} but the block gives {list(main)}.",
                    path=name,
                )
            self.tr.steps.append(
                Step(f"{name}.add", "Add", "add", {"type": "add"}, main, main, 0, not frozen, name, "add", item)
            )
        sub, act = plan["post"]
        return self._emit(f"{name}.{sub}", act, main, item, frozen, name, "main")

    def layers(self, layers: list[dict], shape: Shape, prefix: str, parent: tuple, frozen: bool) -> Shape:
        for i, layer in enumerate(layers):
            name = prefix + (layer.get("name") or str(i))
            item, fz = parent + (i,), frozen or bool(layer.get("frozen"))
            self.tr.inputs[name] = shape
            try:
                t = layer["type"]
                if t == "sequential":
                    shape = self.layers(layer["layers"], shape, name + ".", item, fz)
                elif t == "stage":
                    for b in range(layer["blocks"]):
                        shape = self.block(stage_block(layer, b), shape, f"{name}.{b}", item, fz)
                elif t in BLOCK_TYPES:
                    shape = self.block(layer, shape, name, item, fz)
                else:
                    shape = self._emit(name, layer, shape, item, fz)
            except SpecError as exc:
                if exc.item is None:
                    exc.item = item
                raise
        return shape


def trace(spec: dict, input_shape=None, *, raise_errors: bool = True, normalized: bool = False) -> Trace:
    """Walk ``spec`` on a per-sample ``input_shape`` (default: the spec's ``input``).

    With ``raise_errors=False`` a spec that breaks returns the steps up to the break and the
    ``SpecError`` in ``.error`` (what the page shows); a spec that is not even well-formed JSON
    still raises.
    """
    spec = spec if normalized else normalize(spec)
    shape = check_input(input_shape if input_shape is not None else spec["input"])
    tr = Trace(spec, shape)
    try:
        _Walker(tr).layers(spec["layers"], shape, "", (), False)
    except SpecError as exc:
        if raise_errors:
            raise
        tr.error = exc
    return tr


def validate(spec: dict, input_shape=None) -> dict:
    """The normalized spec if it works on ``input_shape`` (default: its own); SpecError with the fix otherwise."""
    return trace(spec, input_shape).spec


def _modules(layers: list[dict], prefix: str, inputs: dict[str, Shape]) -> "OrderedDict[str, nn.Module]":
    mods: OrderedDict[str, nn.Module] = OrderedDict()
    for i, layer in enumerate(layers):
        name = layer.get("name") or str(i)
        full, t = prefix + name, layer["type"]
        if t == "sequential":
            m: nn.Module = nn.Sequential(_modules(layer["layers"], full + ".", inputs))
        elif t == "stage":
            m = nn.Sequential(
                *(make_block(stage_block(layer, b), inputs[f"{full}.{b}"][0]) for b in range(layer["blocks"]))
            )
        elif t in BLOCK_TYPES:
            m = make_block(layer, inputs[full][0])
        else:
            m = make_layer(layer, inputs[full])
        if layer.get("frozen"):
            m.requires_grad_(False)
        mods[name] = m
    return mods


def build(spec: dict, input_shape=None) -> SpecNet:
    """The ``nn.Module`` a spec describes (validated first: SpecError with the fix, never a torch traceback).

    Build under ``with torch.device("meta"):`` to get shapes and parameter counts without
    allocating weights.
    """
    tr = trace(spec, input_shape)
    return SpecNet(_modules(tr.spec["layers"], "", tr.inputs), tr.spec)
