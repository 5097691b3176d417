"""Architecture Lab: start from a preset or nothing, edit layers and blocks, read the exact table, export."""

import streamlit as st

from playground.labs.architecture import ArchConfig, config_from_query, config_query, config_spec
from ui import state
from ui.architecture import editor as arch_editor
from ui.architecture import views as arch_views
from ui.router import ensure_routed
from ui.text import plain
from ui.widgets import show_flash

ensure_routed()  # a server's first visit may run this file without app.py (see ui/router.py)

NS, WIDGETS = arch_editor.NS, arch_editor.WIDGETS

st.title("Architecture Lab")
st.caption(
    "Every model here, from LeNet-5 to ResNet-152, is a list of layers you can change. The table follows every "
    "edit at once: shapes, parameters, MACs, memory and receptive field, computed from the layers without running "
    "them. The address bar always holds this model: copy it to share."
)

state.restore_from(NS, config_from_query)  # first visit: the link is relative to its preset's defaults
cfg = state.restore(ArchConfig, NS, WIDGETS)
show_flash(NS)
arch_editor.model_picker(cfg)
cfg = state.read(cfg, NS, WIDGETS)
spec, problems = config_spec(cfg)
for p in problems:
    st.warning(plain(p))
summary = arch_views.summarize_spec(spec, int(cfg.batch_size))

editor, results = st.columns([2, 3], gap="large")
with editor:
    st.subheader("Layers")
    arch_editor.layer_editor(spec)
with results:
    st.subheader("Totals")
    arch_views.totals(summary)
    st.subheader("Training memory")
    arch_views.memory(summary)

st.subheader("Layer by layer")
arch_views.broken(summary)
arch_views.table(summary, cfg)
st.subheader("Pictures")
arch_views.plots(summary, spec)
st.subheader("Export and share")
cfg = state.read(cfg, NS, WIDGETS)
arch_views.export(summary, spec, cfg)
state.publish(cfg, NS, config_query(cfg))
