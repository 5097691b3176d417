"""The Transfer Learning page's views: the counts, launching runs, and the runs compared live."""

from __future__ import annotations

import json
from dataclasses import asdict, replace

import streamlit as st

from playground.labs import transfer as tl
from playground.models import transfer
from playground.runs import store as run_store
from playground.runs.store import uploads_dir
from playground.viz import transfer as viz
from ui import state
from ui.text import plain
from ui.transfer.editor import NS, Source
from ui.widgets import bounds, options

DATASET_LABELS = {
    "shapes": "Shapes (generated, 10 classes)",
    "digits": "Handwritten digits (bundled, 10 classes)",
    "images": "Your images (a zip of class folders)",
}


@st.cache_data(show_spinner=False, max_entries=64)
def describe(cfg_json: str, run_dir: str) -> dict:
    """``transfer_lab.lab_describe`` for a config given as JSON (cached: the same setup is counted once)."""
    return tl.lab_describe(tl.TransferLabConfig(**json.loads(cfg_json)), run_dir or None)


def counts(info: dict) -> None:
    """Trainable, frozen and total parameters, and the article's own print line."""
    c = st.columns(4)
    c[0].metric("Trainable", f"{info['trainable']:,}")
    c[1].metric("Frozen", f"{info['frozen']:,}")
    c[2].metric("Total", f"{info['total']:,}")
    c[3].metric("Share that trains", f"{info['trainable'] / max(info['total'], 1):.1%}")
    st.code(transfer.article_line(info["trainable"], info["total"]), language=None, wrap_lines=True)
    st.caption(
        "The article's `print`, computed from the model you set up (on PyTorch's meta device: shapes without "
        "memory, so it follows every change at once). ResNet-50, everything frozen, the article's head and 5 "
        "classes give exactly the article's numbers."
    )


@st.cache_data(show_spinner=False, max_entries=8)
def _zip_classes(path: str, image_size: int) -> tuple[list[str], int]:
    from playground.data.upload import read_image_folder

    raw = read_image_folder(path, image_size)
    return raw.class_names, int(raw.x.shape[1])


def _dataset(cfg: tl.TransferLabConfig) -> tuple[int | None, str, int, list[str]]:
    """``(classes, data_path, channels, problems)`` of the chosen dataset (drawing the zip uploader if needed)."""
    if cfg.dataset in ("shapes", "digits"):
        return 10, "", 3 if cfg.dataset == "shapes" else 1, []
    from playground.data.upload import save_upload

    up = st.file_uploader("Your images: a zip with one folder of images per class", type=["zip"], key=f"{NS}_zip")
    if up is None:
        return None, "", 3, ["Upload a zip of class folders to train on your own images."]
    try:
        path = save_upload(up.getvalue(), uploads_dir(), up.name)
        classes, channels = _zip_classes(str(path), cfg.image_size)
    except ValueError as exc:
        return None, "", 3, [str(exc)]
    return len(classes), str(path), channels, []


def launch(cfg: tl.TransferLabConfig, source: Source, info: dict | None) -> None:
    """Training settings and the launch button: a fine-tuning run and, to compare, the same network from scratch."""
    c = st.columns([3, 2, 2], gap="medium")
    lab = tl.TransferLabConfig
    c[0].radio("Dataset", options(lab, "dataset"), key=state.key(NS, "dataset"), format_func=DATASET_LABELS.get)
    c[1].select_slider("Image size (px)", options(lab, "image_size"), key=state.key(NS, "image_size"))
    c[1].number_input("Epochs", key=state.key(NS, "epochs"), **bounds(lab, "epochs"))
    c[2].number_input(
        "Shapes to generate" if cfg.dataset != "digits" else "Digits to train on (at most)",
        key=state.key(NS, "dataset_size"),
        disabled=cfg.dataset == "images",
        **bounds(lab, "dataset_size"),
    )
    c[2].select_slider(
        "Head learning rate (AdamW)", options(lab, "lr"), key=state.key(NS, "lr"), format_func=lambda v: f"{v:g}"
    )
    c = st.columns([2, 2, 3], vertical_alignment="bottom")
    c[0].selectbox("Batch size", options(lab, "batch_size"), key=state.key(NS, "batch_size"))
    c[1].number_input("Seed", key=state.key(NS, "seed"), **bounds(lab, "seed"))
    c[2].toggle(
        "Also train the same network from scratch",
        key=state.key(NS, "compare"),
        help="Random weights, nothing frozen, every stage at the head's learning rate: what the pre-trained "
        "weights are worth, measured.",
    )
    classes, data_path, channels, problems = _dataset(cfg)
    if info is None:
        problems.append("Fix the head first (see the message above).")
    elif classes and classes != cfg.num_classes:
        try:  # the head is rebuilt for the dataset's classes: it must still fit
            describe(json.dumps(asdict(replace(cfg, num_classes=classes)), sort_keys=True), source.run_dir)
        except ValueError as exc:
            problems.append(f"With this dataset's {classes} classes: {exc}")
    if not source.ok:
        problems.append("Choose weights a run can start from (see Backbone and weights above).")
    try:
        wanted = tl.backbone_channels(cfg, source.run_dir)
    except (OSError, ValueError):
        wanted = channels
    if channels != wanted:
        st.caption(
            f"These images have {channels} channel{'s' if channels > 1 else ''} and the backbone takes "
            f"{wanted}: both runs convert them with torchvision's Grayscale(num_output_channels={wanted})."
        )
    if cfg.weights == "bundled":
        st.caption(
            "The bundled ResNet-8 is small (under 100,000 parameters with the head): on a CPU both runs take seconds. The default "
            "experiment fine-tunes it on 500 digits, every stage at the head's rate, so the two runs differ only in "
            "their starting weights."
        )
    st.caption(
        "Training runs on this machine's CPU when there is no GPU: ResNet-50 fine-tunes at roughly 20-60 "
        "images/s at 32 px, so the defaults are small (32 px, 1,000 shapes, 2 epochs, a few minutes for both "
        "runs). Feature extraction is much faster: the frozen backbone needs no backward pass. Runs queue one "
        "at a time and keep going if you leave the page."
    )
    note = tl.random_frozen_note(cfg, info)
    if note:
        st.warning(note, icon=":material/casino:")
    for p in problems:
        st.warning(plain(p), icon=":material/info:")
    if st.button(
        "Launch" + (" both runs" if cfg.compare else " the run"),
        type="primary",
        disabled=bool(problems),
        key=f"{NS}_launch",
        icon=":material/rocket_launch:",
    ):
        weights_file = ""
        if source.upload is not None:
            saved = tl.save_weights_upload(source.upload, uploads_dir(), source.upload_name)
            weights_file = str(saved)
        n_stages = len(info["stages"]) - 1
        try:
            configs = tl.run_configs(
                cfg,
                num_classes=classes,
                n_stages=n_stages,
                weights_file=weights_file,
                from_run=source.run_dir,
                data_path=data_path,
                data_channels=channels,
            )
        except ValueError as exc:
            st.error(plain(exc))
            return
        launched = [run_store.launch(c).name for c in configs]
        state.remember(NS, "launched", launched)
        state.set_value(NS, "compare_runs", launched)  # the comparison below, drawn after this, shows them
        st.success(
            f"Launched {', '.join(launched)}. Their curves appear below as they train.", icon=":material/rocket_launch:"
        )


def _series(infos: list) -> list[dict]:
    out = []
    for r in infos:
        m = r.config.get("model") or {}
        what = tl.backbone_name(m) if tl.is_transfer_run(r) else str(m)
        out.append(tl.run_series(r.path, f"{tl.run_role(r)} · {what} · {r.id[-4:]}"))
    return out


def _gap(picked: list, series: list[dict]) -> str | None:
    """The gap sentence for the first pre-trained run and the first from-scratch run among those compared."""
    roles = [tl.run_role(r) for r in picked]
    pre = next((s for s, role in zip(series, roles) if role != "from scratch"), None)
    scratch = next((s for s, role in zip(series, roles) if role == "from scratch"), None)
    if pre is None or scratch is None:
        return None
    return tl.gap_sentence(pre, scratch)


def compare() -> None:
    """The transfer runs of the store: pick some and watch their curves overlaid (live while any trains)."""
    launched = set(state.recall(NS, "launched", []))
    infos = [r for r in run_store.list_runs() if tl.is_transfer_run(r) or r.id in launched]
    if not infos:
        st.info("No transfer-learning run yet: launch one above.", icon=":material/monitoring:")
        return
    ids = [r.id for r in infos]
    chosen = state.value(NS, "compare_runs")
    if chosen is None or not set(chosen) <= set(ids):
        state.set_value(NS, "compare_runs", [i for i in (chosen or ids[:2]) if i in ids] or ids[:2])
    labels = {r.id: f"{r.id} · {tl.run_role(r)}" for r in infos}  # the status lines below stay live
    st.multiselect("Runs to compare", ids, key=f"{NS}_compare_runs", format_func=labels.get, max_selections=6)
    active = any(r.active for r in infos if r.id in state.value(NS, "compare_runs"))

    @st.fragment(run_every="1s" if active else None)
    def live() -> None:
        picked = [run_store.run_info(r.path) for r in infos if r.id in state.value(NS, "compare_runs")]
        for r in picked:
            p = r.progress
            line = f"**{tl.run_role(r)}** `{r.id}`: {r.status}"
            if p.get("epoch"):
                line += f", epoch {p['epoch']}/{p.get('epochs', '?')}"
            if p.get("val_accuracy") is not None:
                line += f", validation accuracy {p['val_accuracy']:.1%}"
            st.markdown(line + (f" — {r.reason}" if r.reason else ""))
        series = _series(picked)
        for s in series:
            trainable = s["start"].get("trainable_params", s["start"].get("trainable"))
            if trainable is not None and s["start"].get("params"):
                st.caption(f"{s['name']}: {transfer.article_line(trainable, s['start']['params'])}")
        gap = _gap(picked, series)
        if gap:
            st.success(gap, icon=":material/trending_up:")
        st.plotly_chart(viz.compare_curves(series), width="stretch", key=f"{NS}_compare_chart")
        if active and not any(r.active for r in picked):
            st.rerun()  # everything finished: one full rerun stops the polling

    live()
