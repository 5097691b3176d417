"""The zoo's machinery: ``Preset``, the ``MODELS`` registry, ``register_model`` and the doors in.

Modelled on torchvision's ``models/_api.py``: a preset is a public function decorated with
``@register_model(name, ...)``, which records what a menu shows about it (title, year, blurb,
paper), reads its defaults and knobs off the function's keyword-only signature, and refuses a
name that is already taken. ``model_spec`` and ``build_model`` take a preset's name (or a spec)
and go through the same checks whichever way a preset is reached.
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch.nn as nn

from playground.common.registry import Registry
from playground.models.blocks import ACTIVATIONS
from playground.models.spec import build
from playground.models.vocab import SpecError, check_input, load_spec, normalize


@dataclass(frozen=True)
class Preset:
    """A registered model: its history and idea, defaults, knobs and the function that builds its spec."""

    name: str
    title: str
    year: int | None
    family: str
    blurb: str
    default_input: tuple[int, int, int]
    num_classes: int
    builder: Callable[..., dict] = field(repr=False)  # the undecorated preset function
    knobs: dict[str, Any] = field(default_factory=dict)  # knob -> default
    torchvision: str | None = None  # torchvision.models name when it has the same model
    paper: str = ""


MODELS: Registry[Preset] = Registry("model")

COMMON_KNOBS = ("width", "batch_norm", "activation", "dropout")
# What every preset function takes besides its knobs; model_spec resolves them before the call.
INPUT_ARGS = ("num_classes", "in_channels", "input_size")


def _pair(size: int | tuple[int, int]) -> tuple[int, int]:
    return (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))


def register_model(
    name: str,
    *,
    title: str,
    year: int | None,
    family: str,
    blurb: str,
    torchvision: str | None = None,
    paper: str = "",
) -> Callable[[Callable[..., dict]], Callable[..., dict]]:
    """Register the decorated preset function as ``name`` in ``MODELS``; a name taken twice raises ValueError.

    The function must be called ``name`` (so ``grep "def resnet50"`` finds the preset) and take
    only keyword-only arguments with defaults: ``num_classes``, ``in_channels`` and ``input_size``
    give the preset's default input and classes, and every other argument is a knob, listed in
    signature order (a tuple default is shown as a list, as in JSON). It returns its spec's
    ``input`` and ``layers``. The decorator returns a function with the same signature that goes
    through ``model_spec``, so ``resnet50(width=0.5) == model_spec("resnet50", width=0.5)``:
    knobs checked, the spec named and normalised.
    """

    def decorate(fn: Callable[..., dict]) -> Callable[..., dict]:
        if fn.__name__ != name:
            raise ValueError(f"The preset {name!r} must be a function called {name}, not {fn.__name__}.")
        params = inspect.signature(fn).parameters
        loose = [p.name for p in params.values() if p.kind is not p.KEYWORD_ONLY or p.default is p.empty]
        missing = [k for k in (*INPUT_ARGS, *COMMON_KNOBS) if k not in params]
        if loose or missing:
            raise TypeError(
                f"The preset {name!r} needs keyword-only arguments with defaults, including "
                f"{', '.join((*INPUT_ARGS, *COMMON_KNOBS))}; "
                + (f"not keyword-only with a default: {', '.join(loose)}." if loose else "")
                + (f"missing: {', '.join(missing)}." if missing else "")
            )
        defaults = {k: p.default for k, p in params.items()}
        knobs = {k: list(v) if isinstance(v, tuple) else v for k, v in defaults.items() if k not in INPUT_ARGS}
        MODELS.register(
            name,
            Preset(
                name,
                title,
                year,
                family,
                blurb,
                (defaults["in_channels"], *_pair(defaults["input_size"])),
                defaults["num_classes"],
                fn,
                knobs,
                torchvision,
                paper,
            ),
        )

        @functools.wraps(fn)  # keeps the name, docstring and (through __wrapped__) the signature
        def preset(**kwargs: Any) -> dict:
            return model_spec(name, **kwargs)

        return preset

    return decorate


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
    body = p.builder(num_classes=n, in_channels=c, input_size=tuple(hw), **k)
    changed = {name: v for name, v in k.items() if v != p.knobs[name]}
    return normalize(
        {
            "name": p.title.split(" (")[0] if p.name != "simplecnn" else "SimpleCNN",
            "preset": p.name,
            "knobs": changed,
            "input": body["input"],
            "layers": body["layers"],
        }
    )


def build_model(
    model: Any, *, num_classes: int | None = None, in_channels: int | None = None, input_size: Any = None, **knobs
) -> nn.Module:
    """The ``nn.Module`` for ``model`` (arguments as ``model_spec``); ValueError with a sentence if it cannot work."""
    return build(model_spec(model, num_classes=num_classes, in_channels=in_channels, input_size=input_size, **knobs))
