"""Convolution & Pooling Explorer: shapes, costs, receptive fields, sliding windows, real photos."""

from dataclasses import replace

import streamlit as st

from playground.labs.conv import ExplorerConfig, layer_specs
from playground.models.arithmetic import analyse_chain, spec_to_dict
from ui import state
from ui.conv import editor as conv_editor
from ui.conv import views as conv_views
from ui.router import ensure_routed
from ui.text import plain

ensure_routed()  # a server's first visit may run this file without app.py (see ui/router.py)

NS, WIDGETS = conv_editor.NS, conv_editor.WIDGETS

st.title("Convolution & Pooling Explorer")
st.caption(
    "A filter (kernel) slides across the input; stride sets its step, padding adds a border, dilation spreads its taps. "
    "Change any number and every shape, formula and count below follows. The address bar always holds this setup: copy it to share."
)

cfg = state.restore(ExplorerConfig, NS, WIDGETS)
specs, problems = layer_specs(cfg)
for p in problems:
    st.warning(plain(p))
cfg = replace(cfg, layers=[spec_to_dict(s) for s in specs])

conv_editor.preset_buttons()
editor, results = st.columns([1, 1], gap="large")
with editor:
    conv_editor.input_controls()
    st.markdown("**Layers**")
    layers = conv_editor.chain_editor(cfg)
cfg = replace(state.read(cfg, NS, WIDGETS), layers=layers)
specs, _ = layer_specs(cfg)
try:
    reports = analyse_chain(cfg.input_shape, specs)
except ValueError as exc:  # an impossible input shape
    results.error(str(exc))
    st.stop()
state.publish(cfg, NS)

with results:
    with st.expander("Two 3x3 convs or one 5x5? (the VGG argument)"):
        conv_views.vgg_comparison()
conv_views.layer_table(cfg, reports)  # the page's width: all seven columns visible without scrolling

window_tab, image_tab = st.tabs(["Sliding window", "On an image"])
with window_tab:
    conv_views.sliding_window_tab(cfg, specs)
with image_tab:
    cells = conv_views.image_tab(cfg, specs)
if cells != cfg.kernel_cells:  # hand-typed kernel cells go into the link too
    state.publish(replace(cfg, kernel_cells=cells), NS)
