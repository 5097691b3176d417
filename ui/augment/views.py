"""The studio's views: photo sources, the sample grid, step-through, model input, MixUp/CutMix, export.

Pure rendering over ``playground``: decoding is cached per file (decode once),
grids and step-throughs per (photo, pipeline, seed), so moving an unrelated
widget never recomputes them.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from playground.augment import preview as ap
from playground.augment.codegen import pipeline_source
from playground.augment.pipelines import to_json
from playground.augment.spec import PipelineError
from playground.common.images import SAMPLE_DIR, ImageError, LoadedImage, load_image, load_sample, sample_images
from playground.common.urlstate import to_query
from playground.labs.augment import StudioConfig, normalized_sentence
from playground.viz import augment as vz
from ui import handoff, state
from ui.augment.editor import NS, load_json_upload
from ui.text import plain
from ui.widgets import IMAGE_TYPES, bounds, options, share_link


@dataclass
class Photo:
    """One decoded photo the studio can augment."""

    name: str
    key: str  # identifies the decoded pixels (file hash + size limit) for the caches
    loaded: LoadedImage

    @property
    def tensor(self):
        return ap.image_tensor(self.loaded.image)  # uint8 (3, H, W)


@st.cache_data(show_spinner=False, max_entries=16)
def _decode(data: bytes, name: str, max_side: int) -> LoadedImage:
    return load_image(data, name=name, max_side=max_side)


@st.cache_data(show_spinner=False, max_entries=16)
def _sample(name: str, max_side: int) -> LoadedImage:
    return load_sample(name, max_side=max_side)


@st.cache_data(show_spinner=False, max_entries=16)
def _sample_digest(name: str) -> str:
    return hashlib.sha1((SAMPLE_DIR / name).read_bytes()).hexdigest()


def photo_sources(cfg: StudioConfig) -> tuple[Photo, list[Photo]]:
    """Draw the photo pickers; return the photo to augment and every usable photo (uploads first, then samples).

    A file that is not a usable image gets its sentence and is skipped; the app carries on.
    """
    uploads = (
        st.file_uploader(
            "Your photos (JPEG, PNG, WebP, BMP, GIF, TIFF)",
            type=IMAGE_TYPES,
            accept_multiple_files=True,
            key=f"{NS}_upload",
            help="Nothing leaves this app. Very large photos are downscaled once on arrival.",
        )
        or []
    )
    photos: list[Photo] = []
    seen: set[str] = set()
    for up in uploads:
        data = up.getvalue()
        digest = hashlib.sha1(data).hexdigest()
        if digest in seen:  # the same file uploaded twice
            continue
        seen.add(digest)
        try:
            loaded = _decode(data, up.name, cfg.max_side)
        except ImageError as exc:
            st.error(plain(exc), icon=":material/broken_image:")
            continue
        name = up.name if up.name not in [p.name for p in photos] else f"{up.name} ({len(photos) + 1})"
        photos.append(Photo(name, f"{digest}:{cfg.max_side}", loaded))
    st.selectbox(
        "Bundled sample",
        options(StudioConfig, "sample"),
        key=state.key(NS, "sample"),
        disabled=bool(photos),
        help="Used when no photo is uploaded.",
    )
    # A bundled photo the user also uploaded is one photo, not two classes with the same name; a bundled photo
    # whose name an upload already has is told apart.
    taken = {p.name for p in photos}
    samples = [
        Photo(n if n not in taken else f"{n} (bundled)", f"sample:{n}:{cfg.max_side}", _sample(n, cfg.max_side))
        for n in sample_images()
        if _sample_digest(n) not in seen
    ]
    if photos:
        names = [p.name for p in photos]
        chosen = st.selectbox("Photo to augment", names, key=f"{NS}_photo") if len(photos) > 1 else names[0]
        current = photos[names.index(chosen)] if chosen in names else photos[0]
    else:
        current = next(p for p in samples if p.name == cfg.sample)
    others = [p for p in photos + samples if p is not current]
    return current, [current] + others


@st.cache_data(show_spinner=False, max_entries=32)
def _grid(key: str, spec_json: str, n: int, seed: int, _image) -> ap.GridResult:
    return ap.render_grid(json.loads(spec_json), _image, n, seed)


@st.cache_data(show_spinner=False, max_entries=32)
def _steps(key: str, spec_json: str, seed: int, sample: int, _image) -> list[tuple[str, object, str]]:
    spec = json.loads(spec_json)
    out = []
    for v in ap.step_through(spec, _image, seed, sample):
        norm = ap.last_normalize(spec, v.index) if v.index is not None and v.tensor.is_floating_point() else None
        t = v.tensor
        rng = (
            f"{float(t.min()):.2f}..{float(t.max()):.2f}"
            if t.is_floating_point()
            else f"{int(t.min())}..{int(t.max())}"
        )
        caption = f"{list(t.shape)} {str(t.dtype).replace('torch.', '')} {rng}" + (
            " (shown denormalized)" if norm else ""
        )
        out.append((v.label, ap.thumbnail(ap.display_array(t, norm), 320), caption))
    return out


def _new_draw() -> None:
    state.set_value(NS, "seed", random.randrange(100_000))


def grid_controls() -> None:
    """Seed, new draw, grid size and the photo size limit."""
    c = st.columns([1.5, 1.5, 1.1, 1.4], vertical_alignment="bottom")
    c[0].number_input(
        "Seed",
        key=state.key(NS, "seed"),
        **bounds(StudioConfig, "seed"),
        help="Sample i is drawn right after torch.manual_seed(seed + i): same seed, same grid.",
    )
    c[1].button("New draw", key=f"{NS}_new_draw", on_click=_new_draw, icon=":material/casino:", width="stretch")
    c[2].selectbox("Samples", options(StudioConfig, "n"), key=state.key(NS, "n"))
    c[3].selectbox(
        "Photo size limit",
        options(StudioConfig, "max_side"),
        key=state.key(NS, "max_side"),
        format_func=lambda s: f"≤ {s} px",
        help="Photos larger than this are downscaled once on arrival; the pipeline then runs on that image.",
    )


def grid(cfg: StudioConfig, spec: dict, photo: Photo) -> ap.GridResult | None:
    """The original next to N independent draws; None (with the sentence shown) if the pipeline fails."""
    image = photo.tensor
    try:
        result = _grid(photo.key, json.dumps(spec), int(cfg.n), int(cfg.seed), image)
    except PipelineError as exc:
        st.error(plain(exc), icon=":material/error:")
        return None
    left, right = st.columns([1, 3], gap="medium")
    with left:
        w, h = photo.loaded.image.size
        st.image(
            ap.thumbnail(ap.display_array(image), 512), caption=f"Original · {photo.name} · {w}x{h}", width="stretch"
        )
        notes = list(photo.loaded.notes)
        if photo.loaded.original_size != (w, h) and not any("downscaled" in n for n in notes):
            notes.append(f"downscaled once from {photo.loaded.original_size[0]}x{photo.loaded.original_size[1]}")
        if notes:
            st.caption(
                "On arrival: " + "; ".join(notes) + ". From then on, the preview is exactly what the pipeline "
                "produces on this image."
            )
    with right:
        for i, thumb in enumerate(result.thumbs):
            if i % 4 == 0:
                cols = st.columns(4)
            cols[i % 4].image(thumb, caption=f"#{i + 1} · seed {cfg.seed + i}", width="stretch")
    if result.stats.normalized:
        st.caption(
            "Normalized samples are shown denormalized (x · std + mean) so they look like photos; "
            "the model receives the normalized values (see *What the model receives*)."
        )
    return result


def step_through(cfg: StudioConfig, spec: dict, photo: Photo) -> None:
    """The chosen grid sample, one step at a time."""
    c1, c2 = st.columns([1, 3], vertical_alignment="bottom")
    c1.number_input(
        "Follow grid sample #",
        bounds(StudioConfig, "inspect")["min_value"],
        int(cfg.n),  # the grid's own size, not the largest grid
        key=state.key(NS, "inspect"),
        help="The last picture equals that cell of the grid: same seed, same draws.",
    )
    c2.caption("The photo after each enabled step in turn, with the tensor's shape, dtype and value range.")
    try:
        views = _steps(photo.key, json.dumps(spec), int(cfg.seed), min(int(cfg.inspect), int(cfg.n)) - 1, photo.tensor)
    except PipelineError as exc:
        st.error(plain(exc))
        return
    for j, (label, arr, caption) in enumerate(views):
        if j % 4 == 0:
            cols = st.columns(4)
        with cols[j % 4]:
            st.markdown(f"**{label}**")
            st.image(arr, caption=caption, width="stretch")


def model_input(result: ap.GridResult) -> None:
    """Final size, dtype, value range and per-channel mean/std, with a histogram."""
    s = result.stats
    size = "x".join(str(v) for v in s.shape) if s.same_shape else "varies, e.g. " + "x".join(str(v) for v in s.shape)
    c = st.columns(4)
    c[0].metric("Tensor shape (C, H, W)", size)
    c[1].metric("dtype", s.dtype)
    c[2].metric("Value range", f"{s.vmin:.3g} … {s.vmax:.3g}")
    c[3].metric("Samples", len(result.thumbs))
    names = vz.CHANNEL_NAMES if len(s.mean) == 3 else [f"channel {i}" for i in range(len(s.mean))]
    st.dataframe(
        pd.DataFrame({"Channel": names, "Mean": s.mean, "Std": s.std}),
        hide_index=True,
        key=f"{NS}_stats",
        column_config={k: st.column_config.NumberColumn(format="%.4f") for k in ("Mean", "Std")},
    )
    if s.normalized:
        st.info(
            normalized_sentence(s.mean, s.std)
            + " The pictures above are shown denormalized, x · std + mean, so they look like photos."
        )
    elif s.dtype == "uint8":
        st.warning("The model would receive uint8 values 0..255. Add ToTensor (and usually Normalize) at the end.")
    st.plotly_chart(vz.channel_histograms(result.values, s.normalized), width="stretch", key=f"{NS}_hist")


def mix(cfg: StudioConfig, spec: dict, photos: list[Photo], add_step) -> None:
    """MixUp / CutMix on a batch: each photo is one class; every picture shows its mixed label."""
    if not ap.has_batch_step(spec):
        st.info("MixUp and CutMix mix whole batches, labels included. Add one to see a batch of your photos mixed.")
        c1, c2, _ = st.columns([1, 1, 3])
        c1.button("MixUp", icon=":material/add:", key=f"{NS}_add_mixup", on_click=add_step, args=("add:MixUp",))
        c2.button("CutMix", icon=":material/add:", key=f"{NS}_add_cutmix", on_click=add_step, args=("add:CutMix",))
        return
    classes = [p.name for p in photos]
    n = int(cfg.n)
    images = [photos[i % len(photos)].tensor for i in range(n)]
    labels = [i % len(photos) for i in range(n)]
    try:
        mixed, soft = ap.mix_batch(spec, images, labels, len(classes), int(cfg.seed))
    except PipelineError as exc:
        st.error(plain(exc))
        return
    st.caption(
        f"A batch of {n}: each photo is its own class ({len(classes)} classes). Sample i is augmented with "
        "seed + i, then the batch is mixed after torch.manual_seed(seed): MixUp blends each image with its "
        "neighbour using one weight per batch, CutMix pastes one box per batch. Under each picture: its soft "
        "label, the training target."
    )
    norm = ap.last_normalize(spec)
    for i in range(n):
        if i % 4 == 0:
            cols = st.columns(4)
        weights = sorted(((float(w), classes[c]) for c, w in enumerate(soft[i]) if w > 1e-4), reverse=True)
        label = " + ".join(f"{w:.2f} {name}" for w, name in weights[:3])
        cols[i % 4].image(ap.thumbnail(ap.display_array(mixed[i], norm), 256), caption=label, width="stretch")


def export(cfg: StudioConfig, spec: dict, n_classes: int) -> None:
    """Python code and JSON (download, upload) and the shareable link."""
    code = pipeline_source(spec, n=int(cfg.n), seed=int(cfg.seed), max_side=int(cfg.max_side), num_classes=n_classes)
    text = to_json(spec)
    c1, c2, c3 = st.columns(3)
    with c1:
        st.markdown("**Python** (torchvision v2): run with the same seed, it reproduces the grid exactly.")
        st.download_button(
            "Download augment_pipeline.py",
            code,
            file_name="augment_pipeline.py",
            mime="text/x-python",
            key=f"{NS}_dl_py",
            icon=":material/download:",
            on_click="ignore",
        )
    with c2:
        st.markdown("**JSON**: what training runs and `python -m playground augment` read.")
        st.download_button(
            "Download pipeline.json",
            text,
            file_name="pipeline.json",
            mime="application/json",
            key=f"{NS}_dl_json",
            icon=":material/download:",
            on_click="ignore",
        )
    with c3:
        if st.button(
            "Use for training",
            key=f"{NS}_use_for_training",
            type="primary",
            icon=":material/model_training:",
            help="Open the Training page with this pipeline as the training augmentation",
        ):
            handoff.train_with_pipeline(text)
        st.file_uploader("Load a pipeline JSON", type=["json"], key=f"{NS}_json_upload", on_change=load_json_upload)
        if state.recall(NS, "json_error"):
            st.error(plain(state.recall(NS, "json_error")))
    st.markdown(
        "**Share**: the address bar always holds this setup (pipeline, seed, photo size limit); uploaded "
        "photos stay here, so the link shows the bundled sample."
    )
    share_link(to_query(cfg), empty="(the defaults)")
    code_tab, json_tab = st.tabs(["augment_pipeline.py", "pipeline.json"], key=f"{NS}_export_tabs")
    code_tab.code(code, language="python")
    json_tab.code(text, language="json")
