"""Widgets and views of the "Inside a trained network" page.

Models are cached per process (``st.cache_resource``: loading a model per rerun would be the slow
part) and analysed under one lock, since Grad-CAM writes gradients into the shared model.
Pictures are decoded once per file (``st.cache_data``).
"""

from __future__ import annotations

import hashlib
from typing import Any

import streamlit as st

from playground.common.images import ImageError, load_image, load_sample
from playground.labs import inside
from playground.labs.inside import InsideConfig, Probe
from playground.models.probe import ModelTooLarge, check_size
from playground.models.transfer import read_weights_file
from playground.runs import store as run_store
from playground.viz import inside as viz
from ui import state
from ui.text import plain
from ui.widgets import IMAGE_TYPES, WEIGHT_TYPES, bounds, options

NS = "inside"
WIDGETS = {"source", "run", "preset", "image_size", "normalise", "picture", "index", "sample", "layer", "other", "k"}
SOURCES = {"run": "A run trained in this app", "zoo": "A zoo model + weights file"}
PICTURE_LABELS = {"validation": "Validation image", "sample": "Bundled photo", "upload": "Your picture"}
NORM_LABELS = {"imagenet": "ImageNet mean/std", "half": "(x - 0.5) / 0.5", "none": "none (0..1)"}
# Model inputs are uint8 tensors (1, C, H, W) from ``Probe.to_input``: typed Any here, since ui/ imports no torch.
ModelInput = Any


def _reset_views() -> None:
    # Another model: its layers and classes differ, so start from its first layer and its runner-up.
    state.set_value(NS, "layer", 0)
    state.set_value(NS, "other", -1)


@st.cache_resource(show_spinner="Loading the model ...", max_entries=4)
def _run_probe(run_dir: str, mtime: float) -> Probe:
    return inside.from_run(run_dir)


@st.cache_resource(show_spinner="Loading the model ...", max_entries=2)
def _zoo_probe(preset: str, digest: str, size: int, normalise: str, _data: bytes) -> Probe:
    return inside.from_zoo(preset, read_weights_file(_data, "the weights file"), size or None, normalise)


@st.cache_data(show_spinner=False, max_entries=8)
def _validation_images(run_dir: str, mtime: float) -> list[tuple[ModelInput, str]]:
    return inside.validation_images(run_dir)


@st.cache_data(show_spinner=False, max_entries=16)
def _decode(data: bytes, name: str):
    return load_image(data, name=name, max_side=1024).image


def _checked(p: Probe) -> Probe:
    # Checked on every run, not only when the model is first loaded: the limits belong to this server, now.
    check_size(p.model, (1, p.in_channels, *p.image_size))
    return p


def model_source(cfg: InsideConfig, runs: list) -> tuple[Probe | None, str]:
    """Draw the model pickers; return the model to inspect (None, with the reason shown) and its cache key."""
    st.radio(
        "Model",
        options(InsideConfig, "source"),
        key=state.key(NS, "source"),
        format_func=SOURCES.get,
        horizontal=True,
        on_change=_reset_views,
    )
    if cfg.source == "run":
        if not runs:
            st.info(
                "No run has saved weights yet. Train one on the Training page (a few seconds on the bundled "
                "digits), "
                "or use a zoo model with a weights file.",
                icon=":material/model_training:",
            )
            return None, ""
        ids = [r.id for r in runs]
        if state.value(NS, "run") not in ids:
            state.set_value(NS, "run", ids[0])  # before the menu is drawn
        labels = {r.id: inside.run_label(r) for r in runs}
        st.selectbox("Run", ids, key=state.key(NS, "run"), format_func=labels.get, on_change=_reset_views)
        run = next(r for r in runs if r.id == state.value(NS, "run"))
        mtime = run_store.modified(run_store.weights_file(run.path))
        try:
            return _checked(_run_probe(str(run.path), mtime)), f"run:{run.path}:{mtime}"
        except ValueError as exc:  # ModelTooLarge, weights that no longer fit, ...
            st.error(plain(exc), icon=":material/block:")
            return None, ""
    c = st.columns([2, 1, 1])
    c[0].selectbox("Zoo model", options(InsideConfig, "preset"), key=state.key(NS, "preset"), on_change=_reset_views)
    c[1].number_input(
        "Input side (0 = the model's own)", key=state.key(NS, "image_size"), **bounds(InsideConfig, "image_size")
    )
    c[2].selectbox(
        "Normalisation", options(InsideConfig, "normalise"), key=state.key(NS, "normalise"), format_func=NORM_LABELS.get
    )
    up = st.file_uploader(
        "Weights file (a state_dict saved with torch.save(model.state_dict(), path))",
        type=WEIGHT_TYPES,
        key=f"{NS}_weights",
        on_change=_reset_views,
    )
    if up is None:
        st.info(
            "Upload the model's weights. The classes and input channels are read off the file; torchvision's own "
            "ResNet, VGG and AlexNet files fit the presets of the same name exactly (ImageNet class names "
            "included).",
            icon=":material/upload_file:",
        )
        return None, ""
    data = up.getvalue()
    digest = hashlib.sha256(data).hexdigest()[:16]
    try:
        return _checked(_zoo_probe(cfg.preset, digest, int(cfg.image_size), cfg.normalise, data)), f"zoo:{digest}:{cfg}"
    except (ValueError, ModelTooLarge) as exc:
        st.error(plain(exc), icon=":material/block:")
        return None, ""


def picture(cfg: InsideConfig, p: Probe, run) -> tuple[ModelInput | None, str]:
    """Draw the picture pickers; return the model input as uint8 ``(1, C, H, W)`` and a caption."""
    offered = [o for o in options(InsideConfig, "picture") if run is not None or o != "validation"]
    if state.value(NS, "picture") not in offered:
        state.set_value(NS, "picture", offered[0])  # before the radio is drawn
    st.radio("Picture", offered, key=state.key(NS, "picture"), format_func=PICTURE_LABELS.get, horizontal=True)
    choice = state.value(NS, "picture")
    if choice == "validation":
        images = _validation_images(str(run.path), run_store.modified(run_store.config_file(run.path)))
        st.select_slider(
            "Validation image",
            list(range(len(images))),
            key=state.key(NS, "index"),
            format_func=lambda i: f"#{i + 1} ({images[i][1]})",
        )
        img, label = images[min(cfg.index, len(images) - 1)]
        return p.to_input(img), f"validation image #{cfg.index + 1}, true class {label}"
    if choice == "sample":
        st.selectbox("Bundled photo", options(InsideConfig, "sample"), key=state.key(NS, "sample"))
        return p.to_input(load_sample(cfg.sample, max_side=1024).image), cfg.sample
    up = st.file_uploader("Your picture", type=IMAGE_TYPES, key=f"{NS}_upload")
    if up is None:
        st.info("Upload a picture to see what the model makes of it.", icon=":material/image:")
        return None, ""
    try:
        return p.to_input(_decode(up.getvalue(), up.name)), up.name
    except ImageError as exc:
        st.error(plain(exc), icon=":material/broken_image:")
        return None, ""


def analyse(p: Probe, x: ModelInput, layer: str, other: int | None, k: int) -> inside.Analysis:
    """``inside.analyse``: no lock, Grad-CAM writes nothing into the shared model (``probe.grad_cam``)."""
    return inside.analyse(p, x, layer, [other] if other is not None else [], k=k)


def predictions(p: Probe, x: ModelInput, a: inside.Analysis, caption: str, other: int) -> None:
    """What the model sees, its top-k, and Grad-CAM for the top class and one more."""
    note = inside.cam_note(a.cam_shape, a.cam_layer)
    if note:
        st.warning(note, icon=":material/grid_on:")
    c = st.columns([1, 1, 1], gap="medium")
    c[0].image(
        viz.input_picture(x[0], 256),
        caption=f"What the model sees: {caption} "
        f"({p.image_size[0]}x{p.image_size[1]}, {p.in_channels} channel{'s' if p.in_channels > 1 else ''})",
    )
    top = a.top[0]
    c[1].image(
        viz.cam_overlay(x[0], a.cams[top.index], 256),
        caption=f"Grad-CAM for the prediction: {top.label} ({top.probability:.0%})",
    )
    names = p.class_names
    if other == -1:
        other = a.top[1].index if len(a.top) > 1 else top.index
    with c[2]:
        if other in a.cams:
            prob = next((q.probability for q in a.top if q.index == other), None)
            st.image(
                viz.cam_overlay(x[0], a.cams[other], 256),
                caption=f"Grad-CAM for {names[other]}"
                + (f" ({prob:.0%})" if prob is not None else " (not in the top k)"),
            )
        st.selectbox(
            "Grad-CAM for another class",
            [-1] + list(range(len(names))),
            key=state.key(NS, "other"),
            format_func=lambda i: "the runner-up" if i == -1 else names[i],
        )
    c = st.columns([3, 2], vertical_alignment="center")
    c[0].markdown(f"**Top {len(a.top)} predictions** (red: the class of the second Grad-CAM)")
    c[1].radio(
        "How many",
        options(InsideConfig, "k"),
        key=state.key(NS, "k"),
        horizontal=True,
        label_visibility="collapsed",
        format_func=lambda k: f"top {k}",
    )
    st.plotly_chart(viz.top_k_chart(a.top, {other}), width="stretch", key=f"{NS}_topk")
    st.caption(
        "Grad-CAM (Selvaraju et al. 2017): the last convolutional block's feature maps, each weighted by how "
        "much "
        "the class score rises when that map rises (its average gradient), summed, kept where positive and "
        "scaled up to the picture. Red: the evidence for that class."
    )


def filters(a: inside.Analysis) -> None:
    """The first convolution's filters as pictures."""
    if a.filters is None:
        st.info("This model has no convolution layer, so there are no filters to show.")
        return
    out, cin, kh, kw = a.filters.shape
    img = viz.filters_mosaic(a.filters)
    st.image(
        img,
        width="stretch",
        caption=f"{out} filters of {kh}x{kw} over {cin} input channel"
        f"{'s (shown as RGB)' if cin == 3 else 's (their mean, in grey)' if cin > 1 else ' (grey)'}; each scaled "
        "to its own range. Trained filters look like edge, colour and blob detectors; untrained ones like noise.",
    )


def feature_maps(a: inside.Analysis, shapes: list[tuple[str, str, tuple]]) -> None:
    """The layer slider and that layer's channels as a grid."""
    st.select_slider(
        "Layer",
        list(range(len(shapes))),
        key=state.key(NS, "layer"),
        format_func=lambda i: f"{i + 1}. {shapes[i][0]} ({shapes[i][1]})",
    )
    if a.maps is None:
        return
    c, h, w = a.maps.shape
    shown = min(c, 64)
    img = viz.feature_grid(a.maps)
    st.image(
        img,
        width="stretch",
        caption=f"{a.layer}: {c} channels of {h}x{w}"
        + (f", the first {shown} shown" if shown < c else "")
        + ". Each channel is scaled to its own range "
        "(yellow = strongest response). Early layers answer to edges and colours; deeper ones to larger parts "
        "at a coarser resolution.",
    )
