"""Inside a trained network: first-layer filters, feature maps, Grad-CAM and top-k predictions for a picture."""

import streamlit as st

from playground.labs import inside
from playground.labs.inside import InsideConfig, clamp_config, trained_runs
from ui import state
from ui.inside import views
from ui.router import ensure_routed

ensure_routed()  # a server's first visit may run this file without app.py (see ui/router.py)

NS, WIDGETS = views.NS, views.WIDGETS

st.title("Inside a trained network")
st.caption(
    "Open a model and a picture and look at what the network computes: the filters of its first layer, the feature "
    "maps every layer produces, where it looks when it decides (Grad-CAM) and what it predicts. Pictures are prepared "
    "exactly as the model's validation data was (size, channels, normalisation), so the predictions mean something."
)

runs = trained_runs()
cfg = state.restore(InsideConfig, NS, WIDGETS)
cfg = state.clamp_once(cfg, NS, WIDGETS, lambda c: clamp_config(c, [r.id for r in runs]))  # a link's run may be gone
cfg = state.read(cfg, NS, WIDGETS)  # this run's widget values (restore gives the last run's)

left, right = st.columns([1, 1], gap="large")
with left:
    st.subheader("Model")
    probe, _ = views.model_source(cfg, runs)
    if probe is not None:
        for note in probe.notes:
            st.caption(note)
chosen = state.value(NS, "run") if cfg.source == "run" else None
run = next((r for r in runs if r.id == chosen), None)
if probe is not None and inside.untrained_note(run):
    with left:
        st.warning(inside.untrained_note(run), icon=":material/hourglass_empty:")
if probe is None:
    state.publish(state.read(cfg, NS, WIDGETS), NS)
    st.stop()
with right:
    st.subheader("Picture")
    x, caption = views.picture(cfg, probe, run)
cfg = state.read(cfg, NS, WIDGETS)
state.publish(cfg, NS)
if x is None:
    st.stop()

shapes = probe.map_shapes()
if cfg.layer >= len(shapes):  # a model with fewer layers than the link's; the slider is drawn below
    state.set_value(NS, "layer", 0)
    cfg.layer = 0
layer = shapes[cfg.layer][0] if shapes else None
analysis = views.analyse(probe, x, layer, cfg.other if cfg.other < len(probe.class_names) else -1, cfg.k)

st.subheader("Prediction and Grad-CAM")
views.predictions(probe, x, analysis, caption, cfg.other)
filters_col, maps_col = st.columns([2, 3], gap="large")
with filters_col:
    st.subheader("First-layer filters")
    views.filters(analysis)
with maps_col:
    st.subheader("Feature maps, layer by layer")
    if shapes:
        views.feature_maps(analysis, shapes)
    else:
        st.info("This model has no layer with a spatial output to show.")
st.caption(f"Filters, feature maps, top {cfg.k} and both Grad-CAMs took {analysis.seconds * 1000:.0f} ms on the CPU.")
