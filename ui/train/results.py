"""After training: confusion matrix, per-class accuracy, the mistakes, predictions on your image,
and the weights -- to download, or to load from a file into the run's model."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from playground.common.images import ImageError, load_image
from playground.labs.transfer import is_transfer_run
from playground.runs import store as runs
from playground.runs.history import confused_pairs
from playground.runs.results import (
    LoadedRun,
    export_run,
    load_run_model,
    load_weights_file,
    predict,
    run_evaluation,
    run_mistakes,
)
from playground.training.evaluation import Evaluation
from playground.viz import train as vz
from ui import handoff
from ui.exports import model_files
from ui.text import plain
from ui.train import NS, learn
from ui.widgets import IMAGE_TYPES, WEIGHT_TYPES


@st.cache_data(show_spinner="Collecting the mistakes…", max_entries=8)
def _gallery(run_dir: str, stamp: float, limit: int = 24) -> list[tuple]:
    """``(display image, caption)`` of the most confident mistakes (``stamp``: the evaluation's mtime)."""
    return [(vz.to_display(image, 72), caption) for image, caption in run_mistakes(run_dir, limit)]


def show(info: runs.RunInfo) -> None:
    """The results of a run that saved weights (completed, or stopped after an epoch), then its "Watch it learn"
    snapshots; problems become sentences."""
    try:
        _show(info)
    except (ValueError, OSError, KeyError) as exc:  # a damaged run folder: say so, keep the page working
        st.error(
            f"The results of run {info.id} could not be read ({plain(exc)}). Its folder may be damaged or "
            "still being written; delete the run if it stays like this."
        )
    try:
        learn.show(info)
    except (ValueError, OSError, KeyError) as exc:
        st.error(f"The snapshots of run {info.id} could not be read ({plain(exc)}).")


def _show(info: runs.RunInfo) -> None:
    run = info.path
    evaluation = runs.evaluation_file(run)
    if not runs.has_weights(run) or info.active:
        return
    st.subheader("Results")
    _handoffs(info)
    tabs = st.tabs(["Confusion matrix", "Per class", "Mistakes", "Try an image", "Weights & config"], key=f"{NS}_tabs")
    ev = run_evaluation(run) if evaluation.is_file() else None
    with tabs[0]:
        if ev is None:
            st.info("This run stopped before its first evaluation; load weights below to evaluate them.")
        else:
            left, right = st.columns([3, 1])
            left.plotly_chart(vz.confusion_figure(ev.confusion, ev.class_names), width="stretch", key=f"{NS}_cm")
            right.metric("Validation accuracy", f"{ev.accuracy:.1%}", help=f"{ev.val_size:,} validation images")
            right.caption("Rows are the true class, columns what the model said: the diagonal is right.")
            pairs = confused_pairs(ev.confusion, ev.class_names)
            if pairs:
                right.markdown("**Most confused**\n" + "\n".join(f"- {t} taken for {p}: {n}×" for t, p, n in pairs))
    with tabs[1]:
        if ev is not None:
            counts = [sum(row) for row in ev.confusion]
            st.plotly_chart(
                vz.per_class_figure(ev.per_class_accuracy, ev.class_names, counts),
                width="stretch",
                key=f"{NS}_per_class",
            )
            worst = min((a, n) for a, n in zip(ev.per_class_accuracy, ev.class_names) if a is not None)
            st.caption(f"Hardest class: {worst[1]} ({worst[0]:.0%} right).")
    with tabs[2]:
        if ev is not None:
            _mistakes(run, ev, runs.modified(evaluation))
    loaded = None
    with tabs[4]:
        loaded = _weights(info)
    with tabs[3]:
        _try_image(run, loaded)


def _mistakes(run: Path, ev: Evaluation, stamp: float) -> None:
    if not ev.misclassified:
        st.success("No mistakes on the validation set.")
        return
    try:
        items = _gallery(str(run), stamp)
    except (ValueError, OSError) as exc:
        st.error(plain(f"The validation images could not be loaded again: {exc}"))
        return
    wrong = ev.val_size - round(ev.accuracy * ev.val_size)
    st.caption(f"The {len(items)} most confident of the {wrong} mistakes: true → predicted (confidence).")
    cols = st.columns(8)
    for i, (image, caption) in enumerate(items):
        cols[i % 8].image(image, caption=caption, width="stretch")


def _try_image(run: Path, loaded: LoadedRun | None) -> None:
    up = st.file_uploader(
        "A picture to classify",
        type=IMAGE_TYPES,
        key=f"{NS}_predict_upload",
        help="Centre-cropped and resized to the training images' size, grey or RGB as they were.",
    )
    if up is None:
        st.caption("Upload a picture: the model gives its five most probable classes.")
        return
    try:
        image = load_image(up.getvalue(), up.name).image
        model = loaded or load_run_model(run)
        preds = predict(model, image, k=5)
    except (ImageError, ValueError) as exc:
        st.error(plain(exc))
        return
    left, right = st.columns([1, 2])
    left.image(image, caption=up.name, width="stretch")
    right.markdown(f"**{preds[0][0]}** ({preds[0][1]:.0%})" + (" with uploaded weights" if loaded else ""))
    right.plotly_chart(vz.topk_figure(preds), width="stretch", key=f"{NS}_topk")


def _handoffs(info: runs.RunInfo) -> None:
    """Take this run's model to the pages that use one: Inside (always), Transfer (a model trained here)."""
    left, right, _ = st.columns([1, 1, 2])
    if left.button("Open in Inside", key=f"{NS}_open_inside", icon=":material/visibility:", width="stretch"):
        handoff.open_inside(info.id)
    if not is_transfer_run(info) and right.button(
        "Fine-tune this",
        key=f"{NS}_fine_tune",
        icon=":material/tune:",
        width="stretch",
        help="Open Transfer learning with this run's model as the backbone (its classifier replaced by a new head)",
    ):
        handoff.fine_tune(info.id)


def _weights(info: runs.RunInfo) -> LoadedRun | None:
    """Download buttons; an uploaded state_dict is loaded (weights_only) into this run's model and scored."""
    run = info.path
    c = st.columns(2)
    c[0].download_button(
        "Download weights (state_dict)",
        runs.weights_file(run).read_bytes(),
        file_name=f"{info.id}.pt",
        mime="application/octet-stream",
        key=f"{NS}_dl_weights",
        icon=":material/download:",
        width="stretch",
    )
    c[1].download_button(
        "Download config (JSON)",
        runs.config_file(run).read_text(),
        file_name=f"{info.id}.json",
        mime="application/json",
        key=f"{NS}_dl_config",
        icon=":material/download:",
        width="stretch",
    )
    st.code("model.load_state_dict(torch.load(path, weights_only=True))", language="python")
    model_files(NS, info.id, lambda fmt, opset: export_run(run, fmt, opset=opset).data)
    up = st.file_uploader(
        "Load saved weights into this run's model (.pt / .pth / .safetensors)",
        type=WEIGHT_TYPES,
        key=f"{NS}_weights_upload",
        help="Read with torch.load(..., weights_only=True) or safetensors: a file cannot run code here.",
    )
    if up is None:
        return None
    try:
        loaded = load_weights_file(run, up.getvalue(), up.name)
        ev = run_evaluation(run, loaded=loaded)
    except (ValueError, OSError) as exc:
        st.error(plain(exc))
        return None
    st.success(
        f"{plain(up.name)} loaded: {ev.accuracy:.1%} of the {ev.val_size:,} validation images right. "
        "'Try an image' now uses these weights."
    )
    return loaded
