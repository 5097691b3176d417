"""The model spec's vocabulary and its JSON form: the layer types a spec may name, normalization, files.

``LAYER_TYPES`` is the vocabulary: the leaf layer types of ``playground.models.layers`` (where
each one declares its settings) followed by the residual blocks and containers declared here.
``normalize`` checks a spec document and fills every setting in (``compact`` leaves the
defaults out again, for short links); ``load_spec`` / ``save_spec`` read and write it.
A spec that cannot work raises ``SpecError``: one sentence, naming the layer, with the fix.
The shape walk, validation and ``build`` are in ``playground.models.spec``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import torch.nn as nn

from playground.common.jsontext import loads as json_loads
from playground.models.blocks import ACTIVATIONS
from playground.models.layers import LEAVES, MAX_DIM, Field, LayerType

SPEC_FORMAT = "cnn-playground/model"
SPEC_VERSION = 1

# --------------------------------------------------------------------------- vocabulary

_ACT = Field("activation", "choice", "relu", "Non-linearity inside the block", choices=tuple(ACTIVATIONS))
_BLOCK_FIELDS = (
    Field("planes", "int", 64, "Channels inside the block (a bottleneck outputs 4x this)", 1),
    Field("stride", "int", 1, "Stride of the block's 3x3 conv: 2 halves the feature map", 1, 64),
    Field("residual", "bool", True, "Add the skip connection F(x) + x; off makes the 'plain' twin"),
    Field(
        "shortcut",
        "choice",
        "conv",
        "When the shape changes: a 1x1 conv (torchvision, option B) or "
        "subsampling + zero channels (option A, no parameters)",
        choices=("conv", "pad"),
    ),
    Field("norm", "bool", True, "Batch norm after each conv"),
    _ACT,
    Field("bias", "bool", False, "Bias in the convs (redundant before batch norm)"),
)

# The words that are not leaves: residual blocks and containers (the leaves are in playground.models.layers).
_COMPOSITE_TYPES: dict[str, LayerType] = {
    t.type: t
    for t in (
        LayerType(
            "basic_block",
            "Residual basic block",
            "BasicBlock",
            _BLOCK_FIELDS,
            "Two 3x3 convs learning F(x), added to the input: F(x) + x (ResNet-18/34, CIFAR ResNets).",
        ),
        LayerType(
            "bottleneck",
            "Bottleneck block",
            "Bottleneck",
            _BLOCK_FIELDS,
            "1x1 reduce, 3x3, 1x1 expand to 4x planes, plus the skip connection (ResNet-50/101/152).",
        ),
        LayerType(
            "stage",
            "Stage of blocks",
            "Sequential",
            (
                Field("block", "choice", "basic_block", "Block type", choices=("basic_block", "bottleneck")),
                Field("blocks", "int", 2, "How many blocks", 1, 1000),
                *_BLOCK_FIELDS,
            ),
            "Blocks in a row; only the first one uses the stride (ResNet's layer1..layer4).",
        ),
        LayerType("sequential", "Group", "Sequential", (), "A named group of layers (e.g. features, classifier)."),
    )
}


class _Vocabulary(Mapping[str, LayerType]):
    """Every layer type a spec may name: the leaf table's words (in its order), then the blocks and containers.

    A view, not a copy: a leaf type registered in ``LEAVES`` is a word of the vocabulary at
    once, with nothing to add here.
    """

    def __getitem__(self, t: str) -> LayerType:
        if t in _COMPOSITE_TYPES:
            return _COMPOSITE_TYPES[t]
        if t in LEAVES and LEAVES.get(t).in_vocabulary:
            return LEAVES.get(t).word
        raise KeyError(t)

    def __iter__(self) -> Iterator[str]:
        yield from (name for name, leaf in LEAVES.items() if leaf.in_vocabulary)
        yield from _COMPOSITE_TYPES

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return f"LAYER_TYPES({', '.join(self)})"


LAYER_TYPES: Mapping[str, LayerType] = _Vocabulary()

BLOCK_TYPES = ("basic_block", "bottleneck")
CONTAINER_TYPES = ("sequential", "stage")


class SpecError(ValueError):
    """A spec that cannot work. ``str()`` is one sentence with the fix; ``path`` the layer's module name
    (None for the whole spec); ``item`` the layer's index path in the spec (for an editor to highlight)."""

    def __init__(self, message: str, path: str | None = None, item: tuple[int, ...] | None = None):
        super().__init__(message)
        self.path, self.item = path, item


# --------------------------------------------------------------------------- normalization


def _where(item: tuple[int, ...], layer: Any) -> str:
    t = layer.get("type", "?") if isinstance(layer, dict) else "?"
    name = layer.get("name") if isinstance(layer, dict) else None
    return f"Layer {name or '.'.join(str(i) for i in item)} ({t})"


def _as_int(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or int(v) != v:
        raise ValueError
    return int(v)


def _coerce(f: Field, v: Any, where: str) -> Any:
    """``v`` checked and brought to the canonical JSON form for ``f`` (pairs: int if square, else [h, w])."""
    rng = f"from {f.lo:g} to {f.hi:g}"
    try:
        if f.kind in ("auto_int", "auto_pair") and v is None:
            return None
        if f.kind == "padding" and isinstance(v, str):
            if v.lower() not in ("same", "valid"):
                raise ValueError
            return v.lower()
        if f.kind in ("int", "auto_int"):
            n = _as_int(v)
            if not f.lo <= n <= f.hi:
                raise ValueError
            return n
        if f.kind in ("pair", "auto_pair", "padding"):
            vals = [_as_int(x) for x in v] if isinstance(v, (list, tuple)) else [_as_int(v)] * 2
            if len(vals) != 2 or not all(f.lo <= x <= f.hi for x in vals):
                raise ValueError
            return vals[0] if vals[0] == vals[1] else vals
        if f.kind == "float":
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not f.lo <= v <= f.hi:
                raise ValueError
            return float(v)
        if f.kind == "bool":
            if v in (True, False, 0, 1):
                return bool(v)
            raise ValueError
        if f.kind == "choice":
            if v in f.choices:
                return v
            raise SpecError(f"{where}: {f.name} must be one of {', '.join(f.choices)}, not {v!r}.")
    except SpecError:
        raise
    except (ValueError, TypeError):
        what = {
            "int": f"a whole number {rng}",
            "auto_int": f"empty or a whole number {rng}",
            "pair": f"a whole number {rng} or a pair [h, w]",
            "auto_pair": f"empty or a whole number {rng} or a pair",
            "padding": f"a whole number {rng}, a pair [h, w], 'same' or 'valid'",
            "float": f"a number {rng}",
            "bool": "true or false",
        }[f.kind]
        raise SpecError(f"{where}: {f.name} must be {what}, not {v!r}.") from None
    raise AssertionError(f.kind)


_RESERVED = set(dir(nn.Sequential)) | {"spec"}


def normalize_layer(layer: Any, item: tuple[int, ...] = (0,)) -> dict:
    """A layer with every setting present and checked (containers recursively); SpecError otherwise."""
    if not isinstance(layer, dict):
        raise SpecError(
            f'Layer {".".join(map(str, item))} must be an object like {{"type": "conv", ...}}, '
            f"not {type(layer).__name__}.",
            item=item,
        )
    where = _where(item, layer)
    lt = LAYER_TYPES.get(layer.get("type"))
    if lt is None:
        raise SpecError(
            f"{where}: unknown layer type {layer.get('type')!r}. Use one of: {', '.join(LAYER_TYPES)}.", item=item
        )
    out: dict[str, Any] = {"type": lt.type}
    allowed = {f.name for f in lt.fields} | {"type", "name", "frozen"}
    if lt.type == "sequential":
        allowed.add("layers")
    unknown = sorted(set(layer) - allowed)
    if unknown:
        settings = ", ".join(f.name for f in lt.fields) or "none besides name and frozen"
        raise SpecError(f"{where} has no setting {unknown[0]!r}. Its settings: {settings}.", item=item)
    if layer.get("name") not in (None, ""):
        name = layer["name"]
        if not isinstance(name, str) or "." in name or not name.strip() or name in _RESERVED or len(name) > 64:
            raise SpecError(
                f"{where}: {name!r} cannot be a module name. Use letters, digits and underscores "
                "(no dots), and not a name PyTorch modules already use such as 'forward'.",
                item=item,
            )
        out["name"] = name
    for f in lt.fields:
        out[f.name] = _coerce(f, layer.get(f.name, f.default), where)
    if layer.get("frozen"):
        out["frozen"] = _coerce(Field("frozen", "bool", False), layer["frozen"], where)
    if lt.type == "sequential":
        children = layer.get("layers", [])
        if not isinstance(children, list):
            raise SpecError(f"{where}: 'layers' must be a list of layers.", item=item)
        out["layers"] = normalize_layers(children, item)
    return out


def normalize_layers(layers: list, parent: tuple[int, ...] = ()) -> list[dict]:
    """Normalize a list of layers and check that names are unique within it."""
    out = [normalize_layer(layer, parent + (i,)) for i, layer in enumerate(layers)]
    seen: set[str] = set()
    for i, layer in enumerate(out):
        name = layer.get("name") or str(i)
        if name in seen:
            raise SpecError(
                f"{_where(parent + (i,), layer)}: the name {name!r} is used twice in the same group. "
                "Rename one of them.",
                item=parent + (i,),
            )
        seen.add(name)
    return out


def normalize(spec: Any) -> dict:
    """The full spec: format, version, name, input and every layer with all its settings. SpecError if unusable."""
    if not isinstance(spec, dict):
        raise SpecError("A model spec is a JSON object with 'input' and 'layers'.")
    if spec.get("format", SPEC_FORMAT) != SPEC_FORMAT:
        raise SpecError(f"This file is not a CNN Playground model (its format is {spec.get('format')!r}).")
    if not isinstance(spec.get("version", SPEC_VERSION), int) or spec.get("version", SPEC_VERSION) > SPEC_VERSION:
        raise SpecError(f"This spec has version {spec.get('version')!r}; this playground reads version {SPEC_VERSION}.")
    layers = spec.get("layers")
    if not isinstance(layers, list):
        raise SpecError("The spec needs 'layers': a list of layers (it may be empty).")
    out = {
        "format": SPEC_FORMAT,
        "version": SPEC_VERSION,
        "name": str(spec.get("name") or "Custom model"),
        "input": list(check_input(spec.get("input", [3, 32, 32]))),
    }
    for k in ("preset", "knobs"):
        if k in spec:
            out[k] = spec[k]
    out["layers"] = normalize_layers(layers)
    return out


def check_input(shape: Any) -> tuple[int, int, int]:
    """A per-sample input ``(C, H, W)`` of whole numbers >= 1; SpecError otherwise."""
    try:
        vals = tuple(_as_int(v) for v in shape)
        if len(vals) != 3 or min(vals) < 1 or max(vals) > MAX_DIM:
            raise ValueError
    except (ValueError, TypeError):
        raise SpecError(
            f"The input must be three whole numbers [channels, height, width] from 1 to {MAX_DIM}, not {shape!r}."
        ) from None
    return vals  # type: ignore[return-value]


def load_spec(source: "str | Path | bytes | dict") -> dict:
    """A normalized spec from a dict, JSON text or bytes, or the path of a JSON file."""
    if isinstance(source, dict):
        return normalize(source)
    if isinstance(source, bytes):
        try:
            source = source.decode("utf-8")
        except UnicodeDecodeError:
            raise SpecError("The spec file is not UTF-8 text: upload the .json file the playground exported.") from None
    text = str(source)
    if not text.lstrip().startswith("{"):
        path = Path(text)
        if not path.is_file():
            raise SpecError(f"No spec file at {text!r}: give a preset name or the path of a .json spec.")
        text = path.read_text(encoding="utf-8", errors="replace")
    try:
        data = json_loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError(f"The spec is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}).") from None
    return normalize(data)


def dumps(spec: dict, indent: int | None = 2) -> str:
    """The spec as JSON text (normalized first)."""
    return json.dumps(normalize(spec), indent=indent)


def save_spec(spec: dict, path: "str | Path") -> None:
    """Write the normalized spec to ``path`` as indented JSON."""
    Path(path).write_text(dumps(spec) + "\n", encoding="utf-8")


def compact(spec: dict) -> dict:
    """The spec with every setting at its default left out (short URLs; ``normalize`` restores it)."""

    def strip(layer: dict) -> dict:
        defaults = {f.name: f.default for f in LAYER_TYPES[layer["type"]].fields}
        out = {k: v for k, v in layer.items() if k not in defaults or defaults[k] != v}
        if "layers" in out:
            out["layers"] = [strip(c) for c in out["layers"]]
        return out

    return {"name": spec["name"], "input": spec["input"], "layers": [strip(layer) for layer in spec["layers"]]}
