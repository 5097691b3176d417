"""The Architecture Lab's one config object, and the layer edits the page makes (no streamlit here).

``ArchConfig`` holds everything the page shows and round-trips through the URL: either a
preset with its knobs, or (``custom=True``) a model's own layer list, kept compact so even
an edited VGG-19 fits in a link. Edits address a layer by its index path in the spec
(``(0, 4)`` is the fifth layer of the first group) and return a new layer list; values
typed into the page are parsed here, with a sentence when they cannot be used.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, fields, replace
from typing import Any, Mapping

from playground.common import settings
from playground.common.settings import setting
from playground.common.urlstate import encode_value, from_query
from playground.models.blocks import ACTIVATIONS
from playground.models.layers import Field
from playground.models.spec import trace
from playground.models.vocab import BLOCK_TYPES, LAYER_TYPES, MAX_DIM, SpecError, compact, normalize, normalize_layer
from playground.models.zoo import MODELS, model_spec, preset_info

OPTIMIZERS = {"adam": "Adam", "sgd_momentum": "SGD + momentum", "sgd": "plain SGD"}
TABLE_LEVELS = {"layers": "every layer", "blocks": "residual blocks", "top": "top-level layers"}
DIAGRAM_DETAIL = {"auto": "auto", "layers": "every layer", "blocks": "one box per block"}


def _preset_names() -> list[str]:
    return ["", *MODELS.names()]


@dataclass
class ArchConfig:
    """Everything the Architecture Lab shows; every field has a default, a URL form and what it may be (``setting``)."""

    preset: str = setting("simplecnn", choices=_preset_names, help='"" = start from nothing')
    num_classes: int = setting(10, lo=1, hi=MAX_DIM)  # the spec's own limit: more would break the preset's build
    channels: int = setting(3, lo=1, hi=2048)
    height: int = setting(32, lo=1, hi=4096)
    width: int = setting(32, lo=1, hi=4096)
    width_mult: float = setting(1.0, lo=0.125, hi=4.0, step=0.125)
    blocks: str = setting("", help='per stage, "3,4,6,3"; empty: the preset\'s own')
    batch_norm: bool = setting(True)
    activation: str = setting("relu", choices=lambda: list(ACTIVATIONS))
    dropout: float = setting(0.0, lo=0.0, hi=0.95, step=0.05)
    custom: bool = setting(False, help="True: the model is ``layers`` (edited, built from nothing, or uploaded)")
    name: str = setting("")
    layers: list = setting(factory=list, help="compact spec layers, when custom")
    selected: str = setting("0", help='index path of the layer being edited: "3" or "0.4"')
    table: str = setting("layers", choices=tuple(TABLE_LEVELS))
    batch_size: int = setting(32, lo=1, hi=65536)
    optimizer: str = setting("adam", choices=tuple(OPTIMIZERS))
    diagram: str = setting("auto", choices=tuple(DIAGRAM_DETAIL))
    seed: int = setting(0, help='the random input of the "check with PyTorch" forward pass')

    def __post_init__(self):
        # A config built from a preset or an uploaded spec must never break a widget either: pull every
        # value into what the page offers (a link's values were already, with sentences, when it was read).
        values, _ = settings.fit_values(type(self), vars(self))
        for name, value in values.items():
            if value is not getattr(self, name):
                setattr(self, name, value)


def preset_config(name: str, base: ArchConfig | None = None) -> ArchConfig:
    """A config showing preset ``name`` with its default knobs (keeping the page's other settings)."""
    base = base or ArchConfig()
    if not name:
        return replace(base, preset="", custom=True, layers=[], name="My model", selected="0")
    info = preset_info(name)
    k = info["knobs"]
    c, h, w = info["default_input"]
    return replace(
        base,
        preset=name,
        num_classes=info["num_classes"],
        channels=c,
        height=h,
        width=w,
        width_mult=1.0,
        blocks="",
        batch_norm=k["batch_norm"],
        activation=k["activation"],
        dropout=k["dropout"],
        custom=False,
        layers=[],
        name="",
        selected="0",
    )


def config_query(cfg: ArchConfig) -> dict[str, str]:
    """The link's query: the preset, and every field that differs from *that preset's* defaults.

    (Plain ``urlstate.to_query`` compares with the dataclass defaults, so a LeNet-5 link would lose its
    tanh: here ``?preset=lenet5`` alone means LeNet-5 exactly as the zoo defines it.)
    """
    base = preset_config(cfg.preset)
    out = {"preset": encode_value(cfg.preset)} if cfg.preset != ArchConfig().preset else {}
    for f in fields(cfg):
        v = getattr(cfg, f.name)
        if f.name != "preset" and v != getattr(base, f.name):
            out[f.name] = encode_value(v)
    return out


def config_from_query(params: Mapping[str, Any]) -> tuple[ArchConfig, list[str]]:
    """Read a link made by ``config_query``: the preset's defaults, overridden by the link's values.

    Hostile or stale values are dropped with a sentence each (``urlstate.from_query``), never raised.
    """
    raw = params.get("preset", ArchConfig().preset)
    preset = str(raw[-1] if isinstance(raw, list) and raw else raw)
    problems = []
    if preset and preset not in MODELS:
        problems.append(f"The link names no preset called {preset!r}; showing SimpleCNN.")
        preset = "simplecnn"
    base = preset_config(preset)
    merged = {f.name: encode_value(getattr(base, f.name)) for f in fields(ArchConfig)}
    merged.update({k: v for k, v in params.items() if k != "preset"})
    cfg, more = from_query(ArchConfig, merged)
    return cfg, problems + more


def parse_blocks(text: str) -> list[int] | None:
    """``"3, 4, 6, 3"`` -> ``[3, 4, 6, 3]``; empty -> None (the preset's own)."""
    text = text.strip()
    if not text:
        return None
    try:
        return [int(v) for v in text.replace(";", ",").replace(" ", ",").split(",") if v]
    except ValueError:
        raise SpecError(
            f"Blocks per stage are whole numbers separated by commas, like 3,4,6,3 (not {text!r})."
        ) from None


def config_spec(cfg: ArchConfig) -> tuple[dict, list[str]]:
    """The full spec the config describes, and sentences for anything that had to be ignored."""
    problems: list[str] = []
    if cfg.custom or not cfg.preset:
        try:
            return normalize(
                {"name": cfg.name or "My model", "input": [cfg.channels, cfg.height, cfg.width], "layers": cfg.layers}
            ), problems
        except SpecError as exc:
            problems.append(f"The model's layers could not be read ({exc}); starting from an empty model.")
            return normalize(
                {"name": cfg.name or "My model", "input": [cfg.channels, cfg.height, cfg.width], "layers": []}
            ), problems
    if cfg.preset not in MODELS:
        problems.append(f"There is no preset called {cfg.preset!r}; showing SimpleCNN.")
        return model_spec("simplecnn"), problems
    knobs = preset_info(cfg.preset)["knobs"]
    wanted: dict[str, Any] = {
        "width": cfg.width_mult,
        "batch_norm": cfg.batch_norm,
        "activation": cfg.activation,
        "dropout": cfg.dropout,
    }
    try:
        if "blocks" in knobs and parse_blocks(cfg.blocks) is not None:
            wanted["blocks"] = parse_blocks(cfg.blocks)
        return model_spec(
            cfg.preset,
            num_classes=cfg.num_classes,
            in_channels=cfg.channels,
            input_size=(cfg.height, cfg.width),
            **wanted,
        ), problems
    except SpecError as exc:
        problems.append(f"{exc} The preset's defaults are used instead.")
        return model_spec(
            cfg.preset, num_classes=cfg.num_classes, in_channels=cfg.channels, input_size=(cfg.height, cfg.width)
        ), problems


def with_layers(cfg: ArchConfig, spec: dict, layers: list[dict], selected: tuple[int, ...] | None = None) -> ArchConfig:
    """The config after an edit: the model becomes custom (its own layer list), compact for the URL."""
    name = cfg.name or (f"{spec['name']} (edited)" if not cfg.custom else spec["name"])
    small = compact({"name": name, "input": spec["input"], "layers": layers})["layers"]
    sel = ".".join(map(str, selected)) if selected is not None else cfg.selected
    return replace(cfg, custom=True, name=name, layers=small, selected=sel)


# --------------------------------------------------------------------------- addressing and editing


def path_of(text: str) -> tuple[int, ...]:
    """``"0.4"`` -> ``(0, 4)``; anything unreadable -> ``()``."""
    try:
        return tuple(int(p) for p in text.split(".")) if text else ()
    except ValueError:
        return ()


def _parent(layers: list[dict], path: tuple[int, ...]) -> list[dict]:
    for i in path[:-1]:
        layers = layers[i]["layers"]
    return layers


def get_layer(layers: list[dict], path: tuple[int, ...]) -> dict | None:
    """The layer at ``path`` or None."""
    try:
        return _parent(layers, path)[path[-1]] if path else None
    except (IndexError, KeyError, TypeError):
        return None


def outline(layers: list[dict], prefix: str = "", parent: tuple[int, ...] = ()) -> list[tuple[str, str]]:
    """``(path, label)`` for every editable layer, groups followed by their children: what the editor lists."""
    out = []
    for i, layer in enumerate(layers):
        path = parent + (i,)
        name = prefix + (layer.get("name") or str(i))
        out.append((".".join(map(str, path)), f"{name} · {layer_summary(layer)}"))
        if layer["type"] == "sequential":
            out += outline(layer["layers"], name + ".", path)
    return out


def layer_summary(layer: dict) -> str:
    """A few words about a spec layer: ``Conv2d 64, 3x3, stride 2`` or ``stage: 3 x bottleneck(64), stride 2``."""
    t = layer["type"]
    lt = LAYER_TYPES[t]
    if t == "conv":
        k = layer["kernel"]
        s = f", stride {layer['stride']}" if layer["stride"] != 1 else ""
        kh, kw = (k, k) if isinstance(k, int) else k
        return f"Conv2d {layer['out_channels']}, {kh}x{kw}{s}"
    if t == "linear":
        return f"Linear → {layer['out_features']}"
    if t == "activation":
        return layer["fn"]
    if t in ("maxpool", "avgpool"):
        return f"{lt.torch} {layer['kernel']}"
    if t == "stage":
        return f"stage: {layer['blocks']} x {layer['block']}({layer['planes']}), stride {layer['stride']}" + (
            "" if layer["residual"] else ", no skips"
        )
    if t in BLOCK_TYPES:
        return f"{lt.torch}({layer['planes']}), stride {layer['stride']}" + ("" if layer["residual"] else ", no skip")
    if t == "sequential":
        return f"group of {len(layer['layers'])}"
    if t == "dropout":
        return f"Dropout {layer['p']:g}"
    return lt.torch


def default_layer(kind: str) -> dict:
    """A new layer of ``kind`` with settings that usually fit where it is added (channel counts follow the input)."""
    base = {
        "conv": {"type": "conv", "out_channels": 64, "kernel": 3, "padding": 1},
        "maxpool": {"type": "maxpool", "kernel": 2},
        "avgpool": {"type": "avgpool", "kernel": 2},
        "sequential": {"type": "sequential", "layers": []},
    }.get(kind, {"type": kind})
    return normalize_layer(base)


def edit(
    layers: list[dict], op: str, path: tuple[int, ...], new: dict | None = None
) -> tuple[list[dict], tuple[int, ...]]:
    """Apply ``op`` (up, down, remove, insert_after, append, append_inside) and return ``(layers, selected path)``."""
    layers = copy.deepcopy(layers)
    if op == "append" or (op == "insert_after" and not path):
        layers.append(new)  # type: ignore[arg-type]
        return layers, (len(layers) - 1,)
    siblings = _parent(layers, path)
    i = path[-1]
    if op == "remove":
        siblings.pop(i)
        if siblings:
            return layers, path[:-1] + (min(i, len(siblings) - 1),)
        return layers, path[:-1]
    if op in ("up", "down"):
        j = i - 1 if op == "up" else i + 1
        if 0 <= j < len(siblings):
            siblings[i], siblings[j] = siblings[j], siblings[i]
            return layers, path[:-1] + (j,)
        return layers, path
    if op == "insert_after":
        siblings.insert(i + 1, new)  # type: ignore[arg-type]
        return layers, path[:-1] + (i + 1,)
    if op == "append_inside":
        siblings[i]["layers"].append(new)
        return layers, path + (len(siblings[i]["layers"]) - 1,)
    raise ValueError(f"unknown edit {op!r}")


def set_setting(layers: list[dict], path: tuple[int, ...], name: str, raw: Any) -> list[dict]:
    """Layers with one setting of the layer at ``path`` changed (``raw`` as typed); SpecError if it is unusable."""
    layers = copy.deepcopy(layers)
    layer = get_layer(layers, path)
    if layer is None:
        raise SpecError("That layer is no longer there: pick one from the list.")
    if name == "name":
        text = str(raw).strip()
        if text:
            layer["name"] = text
        else:
            layer.pop("name", None)
    elif name == "frozen":
        layer["frozen"] = bool(raw)
    else:
        f = next(f for f in LAYER_TYPES[layer["type"]].fields if f.name == name)
        layer[name] = parse_value(f, raw)
    _parent(layers, path)[path[-1]] = normalize_layer(layer, path)
    return layers


def parse_value(f: Field, raw: Any) -> Any:
    """A value typed into the page for setting ``f``: sizes as ``3``, ``3x5`` or ``3,5``; empty means auto."""
    if f.kind not in ("pair", "auto_pair", "padding", "auto_int") or not isinstance(raw, str):
        return raw
    text = raw.strip().lower()
    if text in ("", "auto", "none") and f.kind.startswith("auto"):
        return None
    if f.kind == "padding" and text in ("same", "valid"):
        return text
    parts = [p for p in text.replace("x", ",").replace("×", ",").replace(" ", ",").split(",") if p]
    try:
        vals = [int(p) for p in parts]
    except ValueError:
        vals = []
    if f.kind == "auto_int" and len(vals) == 1:
        return vals[0]
    if f.kind != "auto_int" and len(vals) in (1, 2):
        return vals[0] if len(vals) == 1 else vals
    what = {"auto_int": "a whole number, or empty for auto", "padding": "a number, HxW, 'same' or 'valid'"}.get(
        f.kind, "a number or HxW like 3x5" + (", or empty for the default" if f.kind == "auto_pair" else "")
    )
    raise SpecError(f"{f.name} must be {what}, not {raw!r}.")


def display_value(f: Field, value: Any) -> Any:
    """The widget form of a setting: text for sizes (``3x5``, empty for auto), the value itself otherwise."""
    if f.kind in ("pair", "auto_pair", "padding", "auto_int"):
        if value is None:
            return ""
        if isinstance(value, list):
            return f"{value[0]}x{value[1]}"
        return str(value)
    return value


def check_against_pytorch(spec: dict, batch_size: int = 2) -> tuple[bool, str]:
    """Build the model on the meta device and run it with hooks: do PyTorch's shapes and counts equal the table?"""
    import torch

    from playground.models.spec import build

    tr = trace(spec)
    with torch.device("meta"):
        model = build(spec)
    seen, names = [], {m: n for n, m in model.named_modules()}
    hooks = [
        m.register_forward_hook(lambda mod, i, o: seen.append((names[mod], tuple(o.shape[1:]))))
        for m in model.modules()
        if not list(m.children())
    ]
    c, h, w = spec["input"]
    try:
        out = model(torch.empty(batch_size, c, h, w, device="meta"))
    finally:
        for hk in hooks:
            hk.remove()
    ours = [(s.name, s.out_shape) for s in tr.steps if s.kind != "add"]
    params = sum(p.numel() for p in model.parameters())
    if seen == ours and params == sum(s.params for s in tr.steps):
        return True, (
            f"PyTorch agrees: {len(seen)} layer calls with the shapes above, output {list(out.shape)} for a "
            f"batch of {batch_size}, {params:,} parameters."
        )
    first = next((i for i, (a, b) in enumerate(zip(seen, ours)) if a != b), min(len(seen), len(ours)))
    return False, (
        f"PyTorch differs from the table at call {first + 1}: {seen[first : first + 1]} vs {ours[first : first + 1]}."
    )
