"""The studio's pipeline editor: presets, and one row per step with a widget per parameter.

Step ``i``'s widgets are keyed ``augment_s{i}_{param}`` (``_on`` for its on/off
toggle and for optional parameters, ``_h``/``_w`` for sizes, ``_x``/``_y`` for
pairs). Structural edits (add, remove, move, presets, a loaded JSON) happen in
callbacks, which run before the script: they rewrite the step list in the
page's config and drop every ``augment_s*`` key, so the widgets start again from
the new list on the next run.

Every widget is drawn with ``value=`` taken from the saved step, never primed
through ``st.session_state``: if the browser remounts a row (a rerun cut short
by the next click can drop the rows from the page for a moment), the widget
comes back at that value instead of its type's default (an unticked box), which
would otherwise be sent back as a user edit and switch every step off.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace

import streamlit as st

from playground.augment.codegen import step_source
from playground.augment.pipelines import PIPELINES
from playground.augment.spec import MAX_STEPS, PipelineError, make_step, normalize_spec
from playground.augment.transforms import TRANSFORMS, Param, groups
from playground.common.jsontext import loads as json_loads
from playground.common.lists import edit_rows, is_row_edit
from playground.labs.augment import DEFAULT_PRESET, StudioConfig, compact_steps, preset_steps
from playground.labs.augment import preset_caption as preset_caption_text
from ui import state
from ui.widgets import options, row_buttons

NS = "augment"
WIDGETS = {"preset", "sample", "n", "seed", "max_side", "inspect"}
_STEP_KEY = re.compile(rf"^{NS}_s\d+_")


def _k(i: int, name: str) -> str:
    return f"{NS}_s{i}_{name}"


# -- widget state <-> step dicts -------------------------------------------------------------------


def _initial(i: int, step: dict) -> dict[str, object]:
    """Step ``i``'s saved values, keyed like its widgets (what each widget is drawn with)."""
    out: dict[str, object] = {_k(i, "on"): step["enabled"]}
    for p in TRANSFORMS.get(step["name"]).params:
        v = step["params"][p.name]
        if p.optional:
            out[_k(i, p.name + "_on")] = v is not None
            v = v if v is not None else p.on_value
        if p.kind == "size":
            out[_k(i, p.name + "_h")] = v if isinstance(v, int) else v[0]
            out[_k(i, p.name + "_w")] = 0 if isinstance(v, int) else v[1]
        elif p.kind == "pair":
            out[_k(i, p.name + "_x")] = float(v[0])
            out[_k(i, p.name + "_y")] = float(v[1])
        elif p.kind == "range":
            out[_k(i, p.name)] = (float(v[0]), float(v[1]))
        elif p.kind == "floats":
            out[_k(i, p.name)] = ", ".join(f"{x:g}" for x in v)
        else:
            out[_k(i, p.name)] = v
    return out


def _value(i: int, p: Param):
    """Parameter ``p`` of step ``i`` as its widgets show it (raises KeyError before they exist)."""
    g = st.session_state
    if p.optional and not g[_k(i, p.name + "_on")]:
        return None
    if p.kind == "size":
        h, w = int(g[_k(i, p.name + "_h")]), int(g[_k(i, p.name + "_w")])
        return h if w == 0 else [h, w]
    if p.kind == "pair":
        return [float(g[_k(i, p.name + "_x")]), float(g[_k(i, p.name + "_y")])]
    if p.kind == "range":
        return [float(x) for x in g[_k(i, p.name)]]
    if p.kind == "floats":
        text = str(g[_k(i, p.name)])
        try:
            return [float(x) for x in text.replace(";", ",").split(",") if x.strip()]
        except ValueError:
            raise PipelineError(
                f"Step {i + 1} ({p.name}): {text!r} is not a list of numbers; write them like 0.485, 0.456, 0.406."
            ) from None
    return g[_k(i, p.name)]


def current_steps(steps: list[dict]) -> tuple[list[dict], list[str]]:
    """The step list as the widgets show it, plus sentences for values that could not be read."""
    out, problems = [], []
    for i, step in enumerate(steps):
        info = TRANSFORMS.get(step["name"])
        try:
            params = {p.name: _value(i, p) for p in info.params}
            enabled = bool(st.session_state[_k(i, "on")])
            out.append(normalize_spec([{"name": step["name"], "params": params, "enabled": enabled}])["steps"][0])
        except KeyError:  # widgets not drawn yet
            out.append(step)
        except PipelineError as exc:
            problems.append(f"{exc} The previous value is kept.")
            out.append(step)
    return out, problems


# -- callbacks -------------------------------------------------------------------------------------


def _clear_step_keys() -> None:
    state.drop_widgets(_STEP_KEY)


def _store(steps: list[dict], **changes) -> None:
    """Replace the config's steps (and any other fields) from a callback."""
    cfg = state.current(NS, WIDGETS)
    _clear_step_keys()
    cfg = replace(cfg, steps=compact_steps({"steps": steps}), **changes)
    state.set_config(cfg, NS, WIDGETS)


def edit_steps(op: str, i: int = 0) -> None:
    """Callback for the add / remove / move buttons."""
    cfg: StudioConfig = state.saved_config(NS)
    steps, _ = current_steps(normalize_spec({"steps": cfg.steps})["steps"])
    if op == "add":
        steps.append(make_step(state.value(NS, "add_choice")))
    elif op.startswith("add:"):
        steps.append(make_step(op[4:]))
    elif is_row_edit(op):
        steps = edit_rows(steps, op, i)
    _store(steps)


def _load_preset() -> None:
    """Callback of the preset menu: its steps, and the photo size it is meant for."""
    name = state.value(NS, "preset")
    preset = PIPELINES.get(name)
    _store(PIPELINES.get(name).spec()["steps"], preset=name, max_side=preset.max_side or StudioConfig.max_side)


def load_json_upload() -> None:
    """Callback of the JSON uploader: use the uploaded pipeline, or keep a sentence saying why not."""
    up = state.value(NS, "json_upload")
    state.take(NS, "json_error")
    if up is None:
        return
    try:
        spec = normalize_spec(json_loads(up.getvalue().decode("utf-8")))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        state.remember(NS, "json_error", f"{up.name} is not a JSON file ({exc}). Upload a pipeline saved from here.")
        return
    except PipelineError as exc:
        state.remember(NS, "json_error", f"{up.name} is not a usable pipeline: {exc}")
        return
    _store(spec["steps"])


def reset() -> None:
    """Callback: back to the article's training pipeline and the defaults."""
    _clear_step_keys()
    state.set_config(StudioConfig(steps=preset_steps(DEFAULT_PRESET)), NS, WIDGETS)


# -- drawing ---------------------------------------------------------------------------------------


def _param_widget(i: int, p: Param, init: dict[str, object]) -> None:
    """The widget(s) of parameter ``p`` of step ``i``, drawn at the saved values in ``init``."""
    off = False
    if p.optional:
        key = _k(i, p.name + "_on")
        st.checkbox(f"use {p.name}", value=bool(init[key]), key=key, help=p.help)
        off = not st.session_state[key]
    key = _k(i, p.name)
    if p.kind == "size":
        c1, c2 = st.columns(2)
        c1.number_input(
            f"{p.name} (height)", int(p.lo), int(p.hi), value=int(init[key + "_h"]), key=key + "_h", help=p.help
        )
        c2.number_input(
            "width (0: one number)",
            0,
            int(p.hi),
            value=int(init[key + "_w"]),
            key=key + "_w",
            help="0 passes a single number: a square for crops, the shorter side for Resize.",
        )
    elif p.kind == "pair":
        c1, c2 = st.columns(2)
        c1.number_input(
            f"{p.name} x",
            float(p.lo),
            float(p.hi),
            value=float(init[key + "_x"]),
            step=float(p.step),
            key=key + "_x",
            disabled=off,
            help=p.help,
        )
        c2.number_input(
            f"{p.name} y",
            float(p.lo),
            float(p.hi),
            value=float(init[key + "_y"]),
            step=float(p.step),
            key=key + "_y",
            disabled=off,
        )
    elif p.kind == "range":
        lo, hi = init[key]
        st.slider(
            p.name,
            float(p.lo),
            float(p.hi),
            value=(float(lo), float(hi)),
            step=float(p.step),
            key=key,
            disabled=off,
            help=p.help,
        )
    elif p.kind == "floats":
        st.text_input(p.name, value=str(init[key]), key=key, help=p.help + " Comma-separated.")
    elif p.kind == "bool":
        st.checkbox(p.name, value=bool(init[key]), key=key, help=p.help)
    elif p.kind == "choice":
        st.selectbox(p.name, p.choices, index=list(p.choices).index(init[key]), key=key, help=p.help)
    elif p.kind == "int":
        st.number_input(p.name, int(p.lo), int(p.hi), value=int(init[key]), step=int(p.step or 1), key=key, help=p.help)
    else:
        # Probabilities and short ranges read best as a slider; wide ranges want typed numbers.
        widget = st.slider if p.name == "p" or (p.hi - p.lo) <= 10 else st.number_input
        widget(
            p.name,
            float(p.lo),
            float(p.hi),
            value=float(init[key]),
            step=float(p.step),
            key=key,
            disabled=off,
            help=p.help,
        )


def step_rows(steps: list[dict], problem_steps: dict[int, str]) -> None:
    """One card per step: on/off, its name and code, a popover with its parameters, move and remove buttons."""
    for i, step in enumerate(steps):
        init = _initial(i, step)
        info = TRANSFORMS.get(step["name"])
        with st.container(border=True, key=f"{NS}_row_{i}", gap="small"):
            with st.container(horizontal=True, vertical_alignment="center", gap="small"):
                st.checkbox(step["name"], value=bool(init[_k(i, "on")]), key=_k(i, "on"), width="stretch")
                mark = {"error": ":material/error:", "warning": ":material/warning:"}.get(problem_steps.get(i, ""))
                if mark:
                    st.markdown(f":{'red' if problem_steps[i] == 'error' else 'orange'}[{mark}]", width="content")
                with st.popover(
                    "",
                    icon=":material/tune:",
                    disabled=not info.params,
                    key=f"{NS}_pop_{i}",
                    help="Parameters",
                    type="tertiary",
                ):
                    st.markdown(f"**{step['name']}**: {info.summary}")
                    for p in info.params:
                        _param_widget(i, p, init)
                row_buttons(
                    [st, st, st],  # in the row's horizontal container
                    key=lambda op, i=i: f"{NS}_{op}_{i}",
                    on_click=edit_steps,
                    args=lambda op, i=i: (op, i),
                    first=i == 0,
                    last=i == len(steps) - 1,
                    helps={"remove": "Remove this step"},
                    remove_icon=":material/close:",
                    type="tertiary",
                )
            code = step_source(step)
            st.caption(f"{i + 1} · `{code}`" if step["enabled"] else f"{i + 1} · ~~`{code}`~~ (off)")
    if not steps:
        st.info("No steps: the model would receive the photo as it is. Add one below or pick a preset.")


def add_step_row(n_steps: int) -> None:
    """The "add a step" menu, grouped as Geometry / Colour / Auto-augment / Tensor / Batch."""
    options = [name for names in groups().values() for name in names]
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    c1.selectbox(
        "Add a step",
        options,
        key=f"{NS}_add_choice",
        format_func=lambda n: f"{TRANSFORMS.get(n).group} · {n}",
        help="Appended at the end; move it with ↑ ↓.",
    )
    c2.button(
        "Add",
        icon=":material/add:",
        key=f"{NS}_add",
        on_click=edit_steps,
        args=("add",),
        disabled=n_steps >= MAX_STEPS,
        width="stretch",
    )


def preset_row():
    """Preset menu (loads on change) and a reset button."""
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    c1.selectbox(
        "Preset",
        options(StudioConfig, "preset"),
        key=state.key(NS, "preset"),
        on_change=_load_preset,
        format_func=lambda n: PIPELINES.get(n).title,
        help="Loading a preset replaces the steps below.",
    )
    c2.button(
        "Reset", key=f"{NS}_reset", on_click=reset, width="stretch", help="The article's training pipeline, seed 0"
    )
    return c1  # the preset's caption goes under it once the steps are read (pages/augment.py: preset_caption)


def preset_caption(place, steps: list[dict]) -> None:
    """Under the preset menu: its description, or that the steps were edited away from it."""
    place.caption(preset_caption_text(state.value(NS, "preset"), steps))
