"""Transfer learning: a pre-trained backbone, frozen stage by stage, a new head; fine-tune it and compare."""

import json
from dataclasses import asdict

import streamlit as st

from playground.labs.inside import trained_runs
from playground.labs.transfer import TransferLabConfig, clamp_config, is_transfer_run
from playground.viz import transfer as viz
from ui import state
from ui.router import ensure_routed
from ui.transfer import editor, views
from ui.widgets import bounds, show_flash

ensure_routed()  # a server's first visit may run this file without app.py (see ui/router.py)

NS, WIDGETS = editor.NS, editor.WIDGETS

st.title("Transfer learning")
st.caption(
    "Training a CNN from scratch takes a lot of data and compute. Transfer learning takes a network pre-trained on "
    "ImageNet and adapts it: **feature extraction** freezes the pre-trained weights and trains only a new classifier; "
    "**fine-tuning** also unfreezes the upper stages and re-trains them with a low learning rate. "
    "The address bar always holds this setup: copy it to share."
)

runs = [r for r in trained_runs() if not is_transfer_run(r)]
cfg = state.restore(TransferLabConfig, NS, WIDGETS)
cfg = state.clamp_once(cfg, NS, WIDGETS, lambda c: clamp_config(c, [r.id for r in runs]))  # a link's run may be gone
cfg = state.read(cfg, NS, WIDGETS)
show_flash(NS)

left, right = st.columns([1, 1], gap="large")
with left:
    st.subheader("Backbone and weights")
    source = editor.backbone_and_weights(cfg, runs)
cfg = state.read(cfg, NS, WIDGETS)
try:
    info = views.describe(json.dumps(asdict(cfg), sort_keys=True), source.run_dir)
except ValueError as exc:  # a head that does not fit, a run whose model cannot be rebuilt
    info, head_error = None, str(exc)
with right:
    st.subheader("Freezing")
    n_stages = len(info["stages"]) - 1 if info else 4
    editor.freezing(cfg, n_stages)
    if info:
        editor.stage_toggles(info)

st.subheader("Parameters")
if info:
    views.counts(info)
    st.plotly_chart(viz.stage_chart(info["stages"]), width="stretch", key=f"{NS}_stage_chart")
else:
    st.error(head_error, icon=":material/error:")

st.subheader("The new head")
head_col, code_col = st.columns([3, 2], gap="large")
with head_col:
    st.number_input(
        "Classes (the article's example has 5; a launched run uses its dataset's)",
        key=state.key(NS, "num_classes"),
        **bounds(TransferLabConfig, "num_classes"),
    )
    editor.head_designer(cfg)
if info:
    code_col.code(f"model.{info['head']} = {info['head_module']}", language="python", wrap_lines=True)

st.subheader("Train it, and compare with training from scratch")
views.launch(cfg, source, info)
cfg = state.read(cfg, NS, WIDGETS)
state.publish(cfg, NS)
views.compare()
