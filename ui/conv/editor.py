"""Widgets for the explorer's input shape and its chain of conv/pool layers.

Each layer's widgets are keyed ``conv_l{index}_{field}``. Structural edits
(add, remove, move, presets) happen in callbacks, which run before the script:
they rewrite the layer list and drop every ``conv_l*`` key, so the widgets are
re-primed from the new list on the next run.
"""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from playground.common.lists import edit_rows, is_row_edit
from playground.labs.conv import MAX_LAYERS, ExplorerConfig, article_example
from playground.models.arithmetic import PADDING_MODES, ConvSpec, LayerReport, PoolSpec, spec_to_dict
from ui import state
from ui.widgets import bounds, row_buttons

NS = "conv"
WIDGETS = {
    "batch",
    "channels",
    "height",
    "width",
    "window_layer",
    "window_height",
    "window_width",
    "image",
    "kernel",
    "kernel_seed",
    "max_shift",
}
PAD_KINDS = ("numbers", "same", "valid")


def _k(i: int, name: str) -> str:
    return f"{NS}_l{i}_{name}"


def _prime_layer(i: int, d: dict) -> None:
    """Put layer ``i``'s values into its widget keys (only those not already there)."""
    ss = st.session_state
    pad = d.get("padding", [0, 0])
    values = {
        "kernel_h": d["kernel"][0],
        "kernel_w": d["kernel"][1],
        "stride_h": d["stride"][0],
        "stride_w": d["stride"][1],
        "dilation_h": d["dilation"][0],
        "dilation_w": d["dilation"][1],
    }
    if d["kind"] == "conv":
        values.update(
            out_channels=d["out_channels"],
            groups=d["groups"],
            bias=d["bias"],
            padding_mode=d["padding_mode"],
            pad_kind=pad if isinstance(pad, str) else "numbers",
            pad_h=0 if isinstance(pad, str) else pad[0],
            pad_w=0 if isinstance(pad, str) else pad[1],
        )
    else:
        values.update(pool=d["pool"], ceil_mode=d["ceil_mode"], pad_h=pad[0], pad_w=pad[1])
    for name, v in values.items():
        ss.setdefault(_k(i, name), v)


def _layer_from_widgets(i: int, kind: str) -> dict:
    g = st.session_state

    def pair(n: str) -> list[int]:
        return [int(g[_k(i, n + "_h")]), int(g[_k(i, n + "_w")])]

    if kind == "conv":
        pad_kind = g[_k(i, "pad_kind")]
        spec = ConvSpec(
            g[_k(i, "out_channels")],
            pair("kernel"),
            pair("stride"),
            pad_kind if pad_kind != "numbers" else pair("pad"),
            pair("dilation"),
            g[_k(i, "groups")],
            g[_k(i, "bias")],
            g[_k(i, "padding_mode")],
        )
    else:
        spec = PoolSpec(
            g[_k(i, "pool")], pair("kernel"), pair("stride"), pair("pad"), pair("dilation"), g[_k(i, "ceil_mode")]
        )
    return spec_to_dict(spec)


def current_layers(cfg: ExplorerConfig) -> list[dict]:
    """The layer list as the widgets currently show it."""
    out = []
    for i, d in enumerate(cfg.layers):
        try:
            out.append(_layer_from_widgets(i, d["kind"]))
        except KeyError:  # widgets not drawn yet
            out.append(d)
    return out


def _clear_layer_keys() -> None:
    state.drop_widgets(f"{NS}_l")


def _set_layers(layers: list[dict]) -> None:
    cfg = state.current(NS, WIDGETS)
    _clear_layer_keys()
    state.save_config(replace(cfg, layers=layers), NS)


def _edit(op: str, i: int = 0) -> None:
    """Callback for add/remove/move buttons."""
    layers = current_layers(state.saved_config(NS))
    if op == "add_conv":
        prev_out = next((d["out_channels"] for d in reversed(layers) if d["kind"] == "conv"), 16)
        layers.append(spec_to_dict(ConvSpec(prev_out * 2 if layers else 16, 3, 1, 1)))
    elif op == "add_pool":
        layers.append(spec_to_dict(PoolSpec("max", 2)))
    elif is_row_edit(op):
        layers = edit_rows(layers, op, i)
    _set_layers(layers)


def load_config(cfg: ExplorerConfig) -> None:
    """Callback: replace the whole setup (article examples, reset)."""
    _clear_layer_keys()
    state.set_config(cfg, NS, WIDGETS)


def preset_buttons() -> None:
    """One-click setups from the article."""
    c1, c2, c3 = st.columns(3)
    c1.button(
        "Article example: stride 1",
        on_click=load_config,
        args=(article_example(1),),
        key="conv_article_s1",
        help="Conv2d(3, 16, kernel_size=3, stride=1, padding=1) on a [4, 3, 32, 32] batch",
    )
    c2.button(
        "Article example: stride 2",
        on_click=load_config,
        args=(article_example(2),),
        key="conv_article_s2",
        help="Conv2d(3, 16, kernel_size=3, stride=2, padding=1) on a [4, 3, 32, 32] batch",
    )
    c3.button("Reset to defaults", on_click=load_config, args=(ExplorerConfig(),), key="conv_reset")


def input_controls() -> None:
    """Batch, channels, height and width of the input tensor."""
    st.markdown("**Input tensor** `[N, C, H, W]`")
    c = st.columns(4)
    c[0].number_input("Batch N", key=state.key(NS, "batch"), **bounds(ExplorerConfig, "batch"))
    c[1].number_input("Channels C", key=state.key(NS, "channels"), **bounds(ExplorerConfig, "channels"))
    c[2].number_input("Height H", key=state.key(NS, "height"), **bounds(ExplorerConfig, "height"))
    c[3].number_input("Width W", key=state.key(NS, "width"), **bounds(ExplorerConfig, "width"))


def _pair_inputs(col_h, col_w, i: int, name: str, label: str, lo: int, hi: int, disabled: bool = False) -> None:
    col_h.number_input(f"{label} h", lo, hi, key=_k(i, f"{name}_h"), disabled=disabled)
    col_w.number_input(f"{label} w", lo, hi, key=_k(i, f"{name}_w"), disabled=disabled)


def _conv_widgets(i: int) -> None:
    c = st.columns(4)
    c[0].number_input("Out channels", 1, 4096, key=_k(i, "out_channels"))
    _pair_inputs(c[1], c[2], i, "kernel", "Kernel", 1, 64)
    c[3].number_input(
        "Groups",
        1,
        4096,
        key=_k(i, "groups"),
        help="Split the channels into groups; groups = channels is a depthwise conv",
    )
    c = st.columns(4)
    _pair_inputs(c[0], c[1], i, "stride", "Stride", 1, 16)
    _pair_inputs(c[2], c[3], i, "dilation", "Dilation", 1, 16)
    c = st.columns([1.4, 1, 1, 1.4])  # the two menus get room for "numbers" and "replicate"
    c[0].selectbox(
        "Padding",
        PAD_KINDS,
        key=_k(i, "pad_kind"),
        help="Numbers, 'same' (keep the size; stride 1 only) or 'valid' (no padding)",
    )
    numbers = st.session_state[_k(i, "pad_kind")] == "numbers"
    # Negative padding crops, as nn.Conv2d does with reflect/replicate/circular (zeros refuses it, with a sentence).
    _pair_inputs(c[1], c[2], i, "pad", "Pad", -64, 64, disabled=not numbers)
    c[3].selectbox("Padding mode", PADDING_MODES, key=_k(i, "padding_mode"))
    st.checkbox("Bias", key=_k(i, "bias"))


def _pool_widgets(i: int) -> None:
    c = st.columns(4)
    c[0].selectbox("Pooling", ("max", "avg"), key=_k(i, "pool"))
    _pair_inputs(c[1], c[2], i, "kernel", "Kernel", 1, 64)
    is_max = st.session_state[_k(i, "pool")] == "max"
    c = st.columns(4)
    _pair_inputs(c[0], c[1], i, "stride", "Stride", 1, 64)
    _pair_inputs(c[2], c[3], i, "pad", "Pad", 0, 32)
    c = st.columns([1, 1, 2], vertical_alignment="bottom")  # the checkbox's label gets room to be read whole
    _pair_inputs(c[0], c[1], i, "dilation", "Dilation", 1, 16, disabled=not is_max)
    c[2].checkbox(
        "ceil_mode", key=_k(i, "ceil_mode"), help="Round the output size up instead of down (see the formula)"
    )


def chain_editor(cfg: ExplorerConfig, reports: list[LayerReport] | None = None) -> list[dict]:
    """Draw every layer's widgets; return the layer list they describe."""
    for i, d in enumerate(cfg.layers):
        _prime_layer(i, d)
        with st.container(border=True):
            head = st.columns([5, 1, 1, 1], vertical_alignment="center")
            head[0].markdown(f"**Layer {i + 1} · {'Conv2d' if d['kind'] == 'conv' else 'Pooling'}**")
            row_buttons(
                head[1:],
                key=lambda op, i=i: f"{NS}_{op}_{i}",
                on_click=_edit,
                args=lambda op, i=i: (op, i),
                first=i == 0,
                last=i == len(cfg.layers) - 1,
                helps={"up": "Move this layer up", "down": "Move this layer down", "remove": f"Remove layer {i + 1}"},
            )
            (_conv_widgets if d["kind"] == "conv" else _pool_widgets)(i)
    full = len(cfg.layers) >= MAX_LAYERS
    c1, c2 = st.columns(2)
    c1.button(
        "Add Conv2d",
        icon=":material/add:",
        key=f"{NS}_add_conv",
        on_click=_edit,
        args=("add_conv",),
        disabled=full,
        width="stretch",
    )
    c2.button(
        "Add pooling",
        icon=":material/add:",
        key=f"{NS}_add_pool",
        on_click=_edit,
        args=("add_pool",),
        disabled=full,
        width="stretch",
    )
    return current_layers(cfg)
