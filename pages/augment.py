"""Augmentation Studio: build a torchvision v2 pipeline, preview it on your own photos, export it."""

from dataclasses import replace

import streamlit as st

from playground.augment.validate import validate
from playground.labs.augment import StudioConfig, compact_steps, studio_spec
from ui import state
from ui.augment import editor, views
from ui.router import ensure_routed
from ui.text import plain

ensure_routed()  # a server's first visit may run this file without app.py (see ui/router.py)

NS, WIDGETS = editor.NS, editor.WIDGETS

st.title("Augmentation Studio")
st.caption(
    "Data augmentation shows the network a slightly different version of every image each epoch: crops, flips, "
    "rotations, colour changes. Build a pipeline of real torchvision v2 transforms, see what it does to your photos, "
    "and export it as code or JSON. The address bar always holds this setup: copy it to share."
)

cfg = state.restore(StudioConfig, NS, WIDGETS)  # a stale or hand-edited link is pulled into range, with sentences
spec, problems = studio_spec(cfg)
for p in problems:
    st.warning(plain(p))

editor_col, preview_col = st.columns([5, 7], gap="large")
with editor_col:
    st.subheader("Pipeline")
    preset_place = editor.preset_row()
    steps, read_problems = editor.current_steps(spec["steps"])
    spec = {"steps": steps}
    editor.preset_caption(preset_place, steps)
    # The image size the checks assume is only known once the photo is decoded (below); first draw the rows.
    rows = st.container()
    editor.add_step_row(len(steps))
with preview_col:
    st.subheader("Preview")
    photo, photos = views.photo_sources(cfg)
cfg = replace(state.read(cfg, NS, WIDGETS), steps=compact_steps(spec))
state.publish(cfg, NS)

image = photo.tensor
found = validate(spec, image_size=tuple(image.shape[-2:]), channels=int(image.shape[0]))
with rows:
    editor.step_rows(
        steps, {p.step: p.level for p in sorted(found, key=lambda p: p.level == "error") if p.step is not None}
    )
    for p in read_problems:
        st.error(plain(p))
    for p in found:
        (st.error if p.level == "error" else st.warning)(
            p.message, icon=":material/error:" if p.level == "error" else None
        )

with preview_col:
    views.grid_controls()
    if any(p.level == "error" for p in found):
        st.info("Fix the pipeline (see the message on the left) to see the samples.", icon=":material/build:")
        st.stop()
    result = views.grid(cfg, spec, photo)
if result is None:
    st.stop()

step_tab, input_tab, mix_tab, export_tab = st.tabs(
    ["Step through", "What the model receives", "MixUp / CutMix batch", "Export"], key=f"{NS}_tabs"
)
with step_tab:
    views.step_through(cfg, spec, photo)
with input_tab:
    views.model_input(result)
with mix_tab:
    views.mix(cfg, spec, photos, editor.edit_steps)
with export_tab:
    views.export(cfg, spec, n_classes=len(photos))
