"""Config dataclasses <-> URL query strings.

Every page keeps its setup in one dataclass. ``to_query`` writes the fields
that differ from their defaults as strings (short, readable links);
``from_query`` reads them back, whitelisting the dataclass's own fields and
coercing each value to the type of its default, then pulling each into what
the page offers as the field's ``setting`` declares it (``playground.common.settings``).
A hostile or stale link never raises: a value that does not parse is dropped and
reported, and the default stays; one out of range is moved into it, with a sentence.
Lists and dicts travel as compact JSON.
"""

from __future__ import annotations

import json
from dataclasses import fields, is_dataclass
from typing import Any, Mapping, TypeVar

from playground.common.jsontext import loads as json_loads
from playground.common.settings import default_of, fit_values

C = TypeVar("C")

MAX_VALUE_CHARS = 4000  # a query value longer than this is ignored, not parsed


def encode_value(value: Any) -> str:
    """One field value as a query-string value."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float, str)):
        return str(value)
    return json.dumps(value, separators=(",", ":"))


def decode_value(text: str, like: Any) -> Any:
    """Parse ``text`` into the type of ``like`` (the field's default). Raises ValueError if it cannot."""
    if len(text) > MAX_VALUE_CHARS:
        raise ValueError("value too long")
    if isinstance(like, bool):
        low = text.strip().lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"not a yes/no value: {text!r}")
    if isinstance(like, int):
        return int(text)
    if isinstance(like, float):
        value = float(text)
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("not a finite number")
        return value
    if isinstance(like, str):
        return text
    value = json_loads(text)  # JSONDecodeError, never RecursionError, for a deep one
    if isinstance(like, (list, tuple)) and not isinstance(value, list):
        raise ValueError("expected a list")
    if isinstance(like, dict) and not isinstance(value, dict):
        raise ValueError("expected an object")
    return tuple(value) if isinstance(like, tuple) else value


def to_query(config: Any) -> dict[str, str]:
    """The fields of ``config`` that differ from their defaults, as strings."""
    if not is_dataclass(config):
        raise TypeError("to_query expects a dataclass instance")
    out: dict[str, str] = {}
    for f in fields(config):
        value = getattr(config, f.name)
        if value != default_of(f):
            out[f.name] = encode_value(value)
    return out


def from_query(cls: type[C], params: Mapping[str, Any]) -> tuple[C, list[str]]:
    """Build ``cls`` from query params; returns ``(config, problems)``.

    ``problems`` holds one sentence per value that was present but unusable.
    Unknown keys are ignored (they may belong to another page or an old link).
    """
    values: dict[str, Any] = {}
    problems: list[str] = []
    for f in fields(cls):  # type: ignore[arg-type]
        if not f.init or f.name not in params:
            continue
        raw = params[f.name]
        if isinstance(raw, list):  # st.query_params.to_dict() keeps the last value; be tolerant
            raw = raw[-1] if raw else ""
        try:
            values[f.name] = decode_value(str(raw), default_of(f))
        except (ValueError, TypeError) as exc:
            problems.append(f"The link's value for '{f.name}' was ignored ({exc}).")
    values, more = fit_values(cls, values)
    problems += more
    try:
        return cls(**values), problems
    except (ValueError, TypeError) as exc:
        # A combination the dataclass itself refuses: fall back to defaults entirely.
        return cls(), problems + [f"The link's settings could not be used ({exc}); showing the defaults."]
