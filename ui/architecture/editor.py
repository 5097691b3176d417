"""The Architecture Lab's controls: the preset picker with its knobs, and the layer editor.

Every change goes through a callback (callbacks run before the script, so widget keys can
still be written): it computes the new ``ArchConfig`` with ``playground.labs.architecture`` and stores
it with ``ui.state.set_config``. The selected layer's settings are widgets keyed
``architecture_f_{path}_{setting}``; structural edits drop those keys so they are primed afresh.
"""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from playground.labs.architecture import (
    ArchConfig,
    config_spec,
    default_layer,
    display_value,
    edit,
    get_layer,
    outline,
    path_of,
    preset_config,
    set_setting,
    with_layers,
)
from playground.models.layers import Field
from playground.models.vocab import LAYER_TYPES, SpecError, compact, load_spec
from playground.models.zoo import MODELS, preset_info
from ui import state
from ui.widgets import bounds, flash, options, row_buttons

NS = "architecture"
WIDGETS = {
    "preset",
    "num_classes",
    "channels",
    "height",
    "width",
    "width_mult",
    "blocks",
    "batch_norm",
    "activation",
    "dropout",
    "selected",
    "table",
    "batch_size",
    "optimizer",
    "diagram",
}
FIELD_PREFIX = f"{NS}_f_"


def _cfg() -> ArchConfig:
    return state.current(NS, WIDGETS)


def _store(cfg: ArchConfig) -> None:
    state.drop_widgets(FIELD_PREFIX)
    state.set_config(cfg, NS, WIDGETS)


# --------------------------------------------------------------------------- callbacks


def _on_preset() -> None:
    _store(preset_config(state.value(NS, "preset"), _cfg()))


def _on_knob() -> None:
    state.drop_widgets(FIELD_PREFIX)  # the layers are rebuilt from the preset: re-prime the selected layer's widgets


def revert() -> None:
    """Callback: back to the preset with its current knobs (drops the layer edits)."""
    _store(replace(_cfg(), custom=False, layers=[], name="", selected="0"))


def _on_edit(op: str) -> None:
    cfg = _cfg()
    spec, _ = config_spec(cfg)
    path, new = path_of(cfg.selected), None
    if op == "add":
        new = default_layer(state.value(NS, "add_type", "conv"))
        where = state.value(NS, "add_where", "after")
        op = {"after": "insert_after", "end": "append", "inside": "append_inside"}[where]
        if op != "append" and get_layer(spec["layers"], path) is None:
            op = "append"
    elif get_layer(spec["layers"], path) is None:
        return
    layers, sel = edit(spec["layers"], op, path, new)
    _store(with_layers(cfg, spec, layers, sel))


def _on_field(path: tuple[int, ...], name: str, key: str) -> None:
    if key not in st.session_state:
        # Another callback of the same rerun replaced the model first (a field edited, then a preset picked
        # before the field lost focus: both fire together); the edit belonged to the model that is gone.
        return
    cfg = _cfg()
    spec, _ = config_spec(cfg)
    if get_layer(spec["layers"], path) is None:
        return
    try:
        layers = set_setting(spec["layers"], path, name, st.session_state[key])
    except SpecError as exc:
        flash(NS, "error", str(exc))
        return
    new = with_layers(cfg, spec, layers, path)
    state.save_config(new, NS)
    state.set_value(NS, "selected", new.selected)


def select(path: str) -> None:
    """Callback: edit the layer at ``path`` (the error's "edit this layer" button)."""
    state.set_value(NS, "selected", path)


def _on_upload() -> None:
    file = state.value(NS, "upload")
    if file is None:
        return
    try:
        spec = load_spec(file.getvalue())
    except SpecError as exc:
        flash(NS, "error", f"{file.name}: {exc}")
        return
    c, h, w = spec["input"]
    cfg = replace(
        preset_config("", _cfg()),
        name=spec["name"],
        layers=compact(spec)["layers"],
        channels=c,
        height=h,
        width=w,
        preset=spec.get("preset", "") if spec.get("preset") in MODELS else "",
    )
    cfg = replace(cfg, custom=True)
    _store(cfg)
    flash(NS, "success", f"Loaded {spec['name']} from {file.name}.")


# --------------------------------------------------------------------------- widgets


def model_picker(cfg: ArchConfig) -> None:
    """Preset (or nothing), its history, the knobs and the input size."""
    names = options(ArchConfig, "preset")
    top = st.columns([2, 3], gap="large")
    with top[0]:
        st.selectbox(
            "Start from",
            names,
            key=state.key(NS, "preset"),
            on_change=_on_preset,
            format_func=lambda n: MODELS.get(n).title if n else "Nothing: an empty model",
        )
        c = st.columns(3)
        for col, label, name in zip(c, ("Input channels", "Height", "Width"), ("channels", "height", "width")):
            col.number_input(label, key=state.key(NS, name), on_change=_on_knob, **bounds(ArchConfig, name))
    with top[1]:
        if cfg.preset:
            info = preset_info(cfg.preset)
            with st.container(border=True):
                st.markdown(f"**{info['title']}**")
                st.markdown(info["blurb"])
                if info["paper"]:
                    st.caption(info["paper"])
        else:
            st.info(
                "An empty model: add layers on the left and watch the table fill in. "
                "Try conv → batch norm → activation → max pooling, then a flatten and a linear layer."
            )
    if not cfg.preset:
        return
    knobs = preset_info(cfg.preset)["knobs"]
    edited = cfg.custom
    if edited:  # in sight, not inside the collapsed expander below
        c = st.columns([3, 1], vertical_alignment="center")
        c[0].caption("You edited the layers, so the knobs are off: they rebuild the preset from scratch.")
        c[1].button("Revert to the preset", key=f"{NS}_revert", on_click=revert, width="stretch")
    with st.expander("Variant knobs" + (" (edits made: revert to use them)" if edited else ""), expanded=not edited):
        c = st.columns(6)
        c[0].number_input(
            "Width multiplier",
            key=state.key(NS, "width_mult"),
            on_change=_on_knob,
            disabled=edited,
            help="Scales every layer's channels",
            **bounds(ArchConfig, "width_mult"),
        )
        c[1].text_input(
            "Blocks per stage",
            key=state.key(NS, "blocks"),
            on_change=_on_knob,
            disabled=edited or "blocks" not in knobs,
            placeholder=",".join(map(str, knobs.get("blocks", []))) or "n/a",
            help="Convs or residual blocks in each stage, e.g. 3,4,6,3",
        )
        c[2].number_input(
            "Classes",
            key=state.key(NS, "num_classes"),
            on_change=_on_knob,
            disabled=edited,
            **bounds(ArchConfig, "num_classes"),
        )
        c[3].selectbox(
            "Activation",
            options(ArchConfig, "activation"),
            key=state.key(NS, "activation"),
            on_change=_on_knob,
            disabled=edited,
        )
        c[4].number_input(
            "Dropout",
            key=state.key(NS, "dropout"),
            on_change=_on_knob,
            disabled=edited,
            **bounds(ArchConfig, "dropout"),
        )
        c[5].toggle("Batch norm", key=state.key(NS, "batch_norm"), on_change=_on_knob, disabled=edited)


def _field_widget(f, value, key: str, path: tuple[int, ...], container) -> None:
    st.session_state.setdefault(key, display_value(f, value))
    args = dict(key=key, on_change=_on_field, args=(path, f.name, key), help=f.help or None)
    label = f.name.replace("_", " ")
    if f.kind == "bool":
        container.toggle(label, **args)
    elif f.kind == "choice":
        container.selectbox(label, list(f.choices), **args)
    elif f.kind == "int":
        container.number_input(label, int(f.lo), int(f.hi), step=1, **args)
    elif f.kind == "float":
        container.number_input(label, float(f.lo), float(f.hi), step=0.05 if f.hi <= 1 else 1.0, format="%g", **args)
    else:
        container.text_input(label, placeholder="auto" if f.kind.startswith("auto") else None, **args)


def layer_editor(spec: dict) -> None:
    """Pick a layer, change its settings, move or remove it, add new ones."""
    entries = outline(spec["layers"])
    paths, labels = [p for p, _ in entries], dict(entries)
    skey = state.key(NS, "selected")
    layer = None
    if paths:
        if state.value(NS, "selected") not in paths:
            state.set_value(NS, "selected", paths[0])  # before the menu is drawn
        st.selectbox("Layer to edit", paths, key=skey, format_func=lambda p: labels.get(p, p))
        path = path_of(state.value(NS, "selected"))
        layer = get_layer(spec["layers"], path)
    if layer is not None:
        siblings = len(get_layer(spec["layers"], path[:-1])["layers"]) if len(path) > 1 else len(spec["layers"])
        row_buttons(
            st.columns(3),
            key=lambda op: f"{NS}_{op}",
            on_click=_on_edit,
            args=lambda op: (op,),
            first=path[-1] == 0,
            last=path[-1] >= siblings - 1,
            labels={"up": "Up", "down": "Down", "remove": "Remove"},
            width="stretch",
        )
        lt = LAYER_TYPES[layer["type"]]
        st.caption(f"**{lt.title}** (`{lt.torch}`): {lt.blurb}")
        pkey = "_".join(map(str, path))
        fields = list(lt.fields)
        cols = st.columns(3)
        st.session_state.setdefault(f"{FIELD_PREFIX}{pkey}_name", layer.get("name", ""))
        cols[0].text_input(
            "name",
            key=f"{FIELD_PREFIX}{pkey}_name",
            on_change=_on_field,
            args=(path, "name", f"{FIELD_PREFIX}{pkey}_name"),
            help="The module name: model.<name> in PyTorch (empty: its position)",
        )
        for i, f in enumerate(fields, 1):
            _field_widget(f, layer.get(f.name), f"{FIELD_PREFIX}{pkey}_{f.name}", path, cols[i % 3])
        frozen = Field("frozen", "bool", False, "Frozen: its weights are not trained (transfer learning)")
        _field_widget(
            frozen, bool(layer.get("frozen")), f"{FIELD_PREFIX}{pkey}_frozen", path, cols[(len(fields) + 1) % 3]
        )
    st.markdown("**Add a layer**")
    c = st.columns(2)
    c[0].selectbox("Type", list(LAYER_TYPES), key=f"{NS}_add_type", format_func=lambda t: LAYER_TYPES[t].title)
    where = ["after", "end"] + (["inside"] if layer is not None and layer["type"] == "sequential" else [])
    if state.value(NS, "add_where") not in where:
        state.set_value(NS, "add_where", "after" if layer is not None else "end")  # before the menu is drawn
    c[1].selectbox(
        "Where",
        where,
        key=f"{NS}_add_where",
        format_func={"after": "after the selected", "end": "at the end", "inside": "inside the group"}.get,
    )
    st.button(
        "Add layer",
        key=f"{NS}_add",
        on_click=_on_edit,
        args=("add",),
        width="stretch",
        type="primary",
        icon=":material/add:",
    )


def upload_widget() -> None:
    """A JSON spec from disk replaces the model."""
    st.file_uploader(
        "Open a JSON model spec",
        type=["json"],
        key=f"{NS}_upload",
        on_change=_on_upload,
        help="A file exported from this page (or written by hand in the same format)",
    )
