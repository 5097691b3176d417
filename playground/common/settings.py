"""Config fields declared once: ``field_name: int = setting(4, lo=1, hi=4096, help=...)``.

Every page keeps its setup in one dataclass, and each field says in its declaration, in one
place, what its value may be, what the page offers and what it means. That one declaration drives:

- validation: ``problems(cfg)`` / ``validate(cfg)`` check ``lo``/``hi`` (numbers, or zero-argument
  callables such as ``max_epochs`` read when checked), ``lo_open``/``hi_open`` (the bound itself is
  not allowed: a learning rate above 0), ``choices`` (a tuple, or a zero-argument callable that reads
  a registry lazily) and ``check`` (a predicate on the value's shape), each with a sentence;
- links: ``fit(cfg)`` / ``fit_values`` pull a value into what the page offers (``page_lo``,
  ``page_hi``, ``page_choices`` where that is narrower than what the core accepts, else the valid
  range and choices), with a sentence saying what changed; ``urlstate.from_query`` applies it to
  every link, so a hand-edited link never reaches a widget it would break;
- widgets: their min/max/step and options come from ``offered_range`` / ``offered_choices``;
- the command line: ``add_flags`` makes ``--field-name`` for every field declared with ``flag=True``
  (type from the default, static ``choices`` as argparse choices, ``help``, the default).

A link's number outside what is offered moves to the nearest usable value (clamped into its range,
or snapped to the nearest offered number); with ``reset=True`` it goes back to the default instead,
as does a name that is not among the choices or a value of the wrong type.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from dataclasses import MISSING, dataclass, fields, replace
from typing import Any, Callable, Mapping, TypeVar

C = TypeVar("C")
KEY = "setting"  # the key of ``Setting`` in a dataclass field's metadata


@dataclass(frozen=True)
class Setting:
    """What one config field may be and what the page offers; see the module docstring."""

    help: str = ""
    lo: Any = None
    hi: Any = None
    lo_open: bool = False
    hi_open: bool = False
    choices: Any = None
    page_lo: Any = None
    page_hi: Any = None
    page_choices: Any = None
    step: Any = None
    reset: bool = False
    check: Callable[[Any], bool] | None = None
    flag: bool = False
    label: str = ""  # how sentences name the field ("the batch size"); default: its name in words
    explain: str = ""  # the sentence for an invalid value; may use {value}, {lo}, {hi}, {choices}

    def valid_choices(self) -> tuple | None:
        """The values the core accepts (None: any)."""
        return _resolve_choices(self.choices)

    def offered_choices(self) -> tuple | None:
        """The values the page offers (its own, else the valid ones)."""
        page = _resolve_choices(self.page_choices)
        return page if page is not None else self.valid_choices()

    def valid_range(self) -> tuple[Any, Any]:
        return _call(self.lo), _call(self.hi)

    def offered_range(self) -> tuple[Any, Any]:
        """The page's bounds (a widget's min and max), falling back to the valid ones."""
        lo, hi = self.valid_range()
        page_lo, page_hi = _call(self.page_lo), _call(self.page_hi)
        return (page_lo if page_lo is not None else lo), (page_hi if page_hi is not None else hi)

    def static_choices(self) -> tuple | None:
        """The valid choices when they are a plain collection (not read from a registry): argparse can list them."""
        return None if self.choices is None or callable(self.choices) else tuple(self.choices)


def setting(default: Any = MISSING, *, factory: Callable[[], Any] | None = None, **meta: Any) -> Any:
    """A dataclass field with a default (or ``factory``) and its ``Setting`` in the metadata."""
    info = Setting(**meta)
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata={KEY: info})
    return dataclasses.field(default=default, metadata={KEY: info})


def _call(v: Any) -> Any:
    return v() if callable(v) else v


def _resolve_choices(choices: Any) -> tuple | None:
    if choices is None:
        return None
    try:
        return tuple(_call(choices))
    except Exception:  # a registry that cannot be read must not break a page: accept nothing new
        return ()


def default_of(f: dataclasses.Field) -> Any:
    """A field's default value (a fresh one for ``default_factory`` fields)."""
    if f.default is not MISSING:
        return f.default
    if f.default_factory is not MISSING:  # type: ignore[misc]
        return f.default_factory()  # type: ignore[misc]
    raise TypeError(f"Field {f.name} needs a default.")


def settings_of(cls_or_cfg: Any) -> dict[str, Setting]:
    """``{field name: Setting}`` for the fields declared with ``setting``."""
    return {f.name: f.metadata[KEY] for f in fields(cls_or_cfg) if KEY in f.metadata}


def setting_of(cls_or_cfg: Any, name: str) -> Setting:
    """The ``Setting`` of field ``name`` (KeyError if it was declared without one)."""
    return settings_of(cls_or_cfg)[name]


def default_value(cls_or_cfg: Any, name: str) -> Any:
    """The default of field ``name``."""
    return default_of(next(f for f in fields(cls_or_cfg) if f.name == name))


# --------------------------------------------------------------------------- types


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def kind_of(default: Any) -> str:
    """What type a field holds, read off its default: bool, int, float, str, list, dict or any."""
    for kind, types in (("bool", bool), ("int", int), ("float", float), ("str", str), ("list", (list, tuple))):
        if isinstance(default, types):
            return kind
    return "dict" if isinstance(default, dict) else "any"


def field_kind(f: dataclasses.Field) -> str:
    """What type field ``f`` holds: ``any`` when annotated ``Any`` (a name or a spec dict), else read off its default."""
    if f.type in ("Any", "typing.Any") or f.type is Any:
        return "any"
    return kind_of(default_of(f))


def _usable_type(value: Any, kind: str) -> bool:
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "float":
        return _is_number(value) and math.isfinite(value)
    if kind == "str":
        return isinstance(value, str)
    if kind == "list":
        return isinstance(value, (list, tuple))
    if kind == "dict":
        return isinstance(value, dict)
    return True


_TYPE_WORDS = {
    "bool": "yes or no",
    "int": "a whole number",
    "float": "a number",
    "str": "text",
    "list": "a list",
    "dict": "a mapping",
}


def _num(x: Any) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def _range_words(lo: Any, lo_open: bool, hi: Any, hi_open: bool) -> str:
    if lo is not None and hi is not None:
        if not lo_open and not hi_open:
            return f"between {_num(lo)} and {_num(hi)}"
        return f"in {'(' if lo_open else '['}{_num(lo)}, {_num(hi)}{')' if hi_open else ']'}"
    if lo is not None:
        return f"{'above' if lo_open else 'at least'} {_num(lo)}"
    return f"{'below' if hi_open else 'at most'} {_num(hi)}"


def _outside(value: Any, lo: Any, lo_open: bool, hi: Any, hi_open: bool) -> bool:
    if lo is not None and (value < lo or (lo_open and value == lo)):
        return True
    return hi is not None and (value > hi or (hi_open and value == hi))


# --------------------------------------------------------------------------- links


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:59] + "…"


def fit_value(name: str, s: Setting, value: Any, default: Any, kind: str | None = None) -> tuple[Any, str | None]:
    """``(value pulled into what the page offers, a sentence if it had to change)``; ``kind``: see ``field_kind``."""
    kind, hint = kind or kind_of(default), ""
    if not _usable_type(value, kind):
        new = default
    else:
        new = value
        choices = s.offered_choices()
        if choices is not None and value not in choices:
            numbers = bool(choices) and all(_is_number(c) for c in choices)
            near = _is_number(value) and numbers and not s.reset
            new = min(choices, key=lambda c: abs(c - value)) if near else default
        elif _is_number(value):
            lo, hi = s.offered_range()
            # Page bounds are inclusive; a valid bound that is open stays open when the page has none.
            lo_open = s.lo_open and _call(s.page_lo) is None
            hi_open = s.hi_open and _call(s.page_hi) is None
            if _outside(value, lo, lo_open, hi, hi_open):
                hint = f" ({_range_words(lo, lo_open, hi, hi_open)})"
                if s.reset:
                    new = default
                elif lo is not None and value <= lo:
                    new = default if lo_open else type(default)(lo) if kind in ("int", "float") else lo
                else:
                    new = default if hi_open else type(default)(hi) if kind in ("int", "float") else hi
        if new is value and s.check is not None and not _safe_check(s.check, value):
            new = default
    if new is value:
        return value, None
    return new, f"The link's {name} = {_short(value)} is not available{hint}; using {new!r}."


def _safe_check(check: Callable[[Any], bool], value: Any) -> bool:
    try:
        return bool(check(value))
    except Exception:  # a predicate that trips over a hostile value has answered "no"
        return False


def fit_values(cls: type, values: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Field values (a link's, before the dataclass is built) pulled into what the page offers."""
    out, problems = dict(values), []
    for f in fields(cls):
        s = f.metadata.get(KEY)
        if s is None or f.name not in out:
            continue
        out[f.name], problem = fit_value(f.name, s, out[f.name], default_of(f), field_kind(f))
        if problem:
            problems.append(problem)
    return out, problems


def fit(cfg: C) -> tuple[C, list[str]]:
    """``cfg`` with every declared field pulled into what the page offers, and a sentence per change."""
    values, problems = fit_values(type(cfg), {f.name: getattr(cfg, f.name) for f in fields(cfg)})  # type: ignore[arg-type]
    changed = {k: v for k, v in values.items() if v is not getattr(cfg, k)}
    return (replace(cfg, **changed) if changed else cfg), problems  # type: ignore[type-var]


# --------------------------------------------------------------------------- validation


def value_problem(name: str, s: Setting, value: Any, default: Any, kind: str | None = None) -> str | None:
    """The sentence for a value the core cannot use, or None; ``kind``: see ``field_kind``."""
    kind = kind or kind_of(default)
    label = s.label or name.replace("_", " ")
    lo, hi = s.valid_range()
    choices = s.valid_choices()
    words = dict(value=value, lo=_num(lo), hi=_num(hi), choices=", ".join(map(str, choices or ())), name=name)
    if not _usable_type(value, kind):
        return (
            s.explain.format(**words)
            if s.explain
            else f"{label[:1].upper()}{label[1:]} must be {_TYPE_WORDS[kind]}, not {value!r}."
        )
    if choices is not None and value not in choices:
        return (
            s.explain.format(**words) if s.explain else f"Unknown {label} {value!r}. Choose one of: {words['choices']}."
        )
    if _is_number(value) and _outside(value, lo, s.lo_open, hi, s.hi_open):
        if s.explain:
            return s.explain.format(**words)
        return (
            f"{label[:1].upper()}{label[1:]} must be {_range_words(lo, s.lo_open, hi, s.hi_open)}, not {_num(value)}."
        )
    if s.check is not None and not _safe_check(s.check, value):
        return s.explain.format(**words) if s.explain else f"{label[:1].upper()}{label[1:]} cannot be {_short(value)}."
    return None


def problems(cfg: Any) -> list[str]:
    """A sentence for every declared field whose value the core cannot use, in declaration order."""
    out = []
    for f in fields(cfg):
        s = f.metadata.get(KEY)
        if s is not None:
            p = value_problem(f.name, s, getattr(cfg, f.name), default_of(f), field_kind(f))
            if p:
                out.append(p)
    return out


def validate(cfg: Any) -> None:
    """Raise ValueError with the sentence of the first unusable field."""
    found = problems(cfg)
    if found:
        raise ValueError(found[0])


# --------------------------------------------------------------------------- command line


def flag_name(name: str) -> str:
    """``batch_size`` -> ``--batch-size``."""
    return "--" + name.replace("_", "-")


def add_flags(parser: argparse.ArgumentParser, cls: type) -> None:
    """One ``--field-name`` per field declared with ``flag=True``, defaulting to the field's default."""
    for f in fields(cls):
        s = f.metadata.get(KEY)
        if s is None or not s.flag:
            continue
        default = default_of(f)
        kind = field_kind(f)
        text = s.help.replace("%", "%%")
        kw: dict[str, Any] = {"dest": f.name, "default": default, "help": f"{text} (default: %(default)s)".lstrip()}
        if kind == "bool":
            kw["action"] = argparse.BooleanOptionalAction
        else:
            kw["type"] = {"int": int, "float": float}.get(kind, str)
            if s.static_choices() is not None:
                kw["choices"] = s.static_choices()
        parser.add_argument(flag_name(f.name), **kw)


def flag_values(cls: type, args: argparse.Namespace) -> dict[str, Any]:
    """The flagged fields' values from parsed arguments (``add_flags``), ready for ``cls(**...)``."""
    return {name: getattr(args, name) for name, s in settings_of(cls).items() if s.flag and hasattr(args, name)}
