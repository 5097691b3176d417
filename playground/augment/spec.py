"""Pipeline specs: the JSON form of a pipeline, checked and completed.

A pipeline spec is a plain dict, the same for presets, the studio page, the
CLI and training runs::

    {"steps": [{"name": "RandomCrop", "params": {"size": 32, "padding": 4, ...}, "enabled": true}, ...]}

``normalize_spec`` checks and completes one: every parameter present, values
coerced and range-checked against the transform's schema, and a sentence
naming the step and the fix for anything wrong.
"""

from __future__ import annotations

import copy
import math
from typing import Any

from playground.augment.transforms import TRANSFORMS, Param, default_params

MAX_STEPS = 24


class PipelineError(ValueError):
    """A pipeline that cannot be used; the message says what is wrong and how to fix it."""


# -- specs ---------------------------------------------------------------------------------------


def make_step(name: str, enabled: bool = True, **params: Any) -> dict:
    """A complete step dict: schema defaults overridden by ``params``."""
    full = default_params(name)
    unknown = set(params) - set(full)
    if unknown:
        raise PipelineError(
            f"{name} has no parameter {sorted(unknown)[0]!r}; it takes: {', '.join(full) or 'nothing'}."
        )
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
            raise PipelineError(
                f"{where}: '{p.name}' = {x:g} is outside {p.lo:g}..{p.hi:g}; choose a value in that range."
            )
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
        "bool": "true or false",
        "int": "a whole number",
        "float": "a number",
        "range": "[low, high]",
        "pair": "[x, y]",
        "size": "a whole number or [height, width]",
        "floats": "a list of 1 to 4 numbers",
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
