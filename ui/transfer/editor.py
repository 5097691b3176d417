"""The Transfer Learning page's controls: backbone and weights, freezing, per-stage toggles, the head designer.

Every structural change goes through a callback (callbacks run before the script, so widget keys
may still be written). The per-stage toggles are keyed ``transfer_stage_{name}`` and primed from the
config; changing the backbone or the freezing mode drops them (and the overrides) so they follow.
The head's rows are keyed by a version number that every add/remove/move bumps.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import streamlit as st

from playground.labs import transfer as tl
from playground.models import transfer
from playground.models.bundled import BUNDLED, DEFAULT_BUNDLED, is_bundled
from playground.models.transfer import HEAD_LAYERS
from ui import state
from ui.text import plain
from ui.widgets import WEIGHT_TYPES, flash, options, row_buttons

NS = "transfer"
WIDGETS = {
    "backbone",
    "weights",
    "run",
    "num_classes",
    "mode",
    "unfrozen_stages",
    "backbone_lr_scale",
    "dataset",
    "image_size",
    "dataset_size",
    "epochs",
    "lr",
    "batch_size",
    "compare",
    "seed",
}
STAGE_PREFIX = f"{NS}_stage_"
WEIGHT_LABELS = {
    "imagenet": "ImageNet (torchvision)",
    "bundled": "Pre-trained here (bundled)",
    "upload": "A weights file",
    "run": "A model trained here",
    "random": "Random initialisation",
}
MODE_LABELS = {
    "feature_extraction": "Feature extraction (backbone frozen)",
    "fine_tuning": "Fine-tuning (last stages train)",
}


@dataclass
class Source:
    """Where the backbone's weights come from, as far as the page could check them."""

    ok: bool  # a run can start from these weights
    run_dir: str = ""  # weights == "run": the run whose model is the backbone
    upload: bytes | None = None  # weights == "upload": the file's bytes (checked)
    upload_name: str = ""


def _cfg() -> tl.TransferLabConfig:
    return state.current(NS, WIDGETS)


def _store(cfg: tl.TransferLabConfig) -> None:
    state.set_config(cfg, NS, WIDGETS)


def reset_stages() -> None:
    """Callback: the backbone or the freezing mode changed, so the per-stage toggles start from it again."""
    state.drop_widgets(STAGE_PREFIX)
    state.save_config(replace(state.saved_config(NS), stage_overrides={}), NS)


def _weights_changed() -> None:
    """Callback: a new weights source; bundled weights go with a bundled backbone, ImageNet's with torchvision's."""
    cfg = _cfg()
    if cfg.weights == "bundled" and not is_bundled(cfg.backbone):
        _store(replace(cfg, backbone=DEFAULT_BUNDLED))
    elif cfg.weights != "bundled" and is_bundled(cfg.backbone):
        _store(replace(cfg, backbone="resnet50"))
    reset_stages()


def _use_bundled() -> None:
    _store(replace(_cfg(), weights="bundled", backbone=DEFAULT_BUNDLED))
    reset_stages()


def _use_random() -> None:
    _store(replace(_cfg(), weights="random"))
    reset_stages()


def _try_download() -> None:
    name = _cfg().backbone
    try:
        transfer.imagenet_state_dict(name, allow_download=True, timeout=10)
        flash(NS, "success", f"Downloaded torchvision's ImageNet weights for {name} into the torch cache.")
    except transfer.WeightsUnavailable as exc:
        flash(NS, "error", str(exc))


def backbone_and_weights(cfg: tl.TransferLabConfig, runs: list) -> Source:
    """Draw the backbone and weights pickers; return what the weights are and whether a run can use them."""
    st.radio(
        "Weights",
        list(WEIGHT_LABELS),
        key=state.key(NS, "weights"),
        format_func=WEIGHT_LABELS.get,
        horizontal=True,
        on_change=_weights_changed,
    )
    if cfg.weights == "run":
        if not runs:
            st.info(
                "No model has been trained here yet. Train one on the Training page (the bundled shapes or digits "
                "take seconds), or pick another source.",
                icon=":material/model_training:",
            )
            st.button("Use random initialisation", key=f"{NS}_to_random", on_click=_use_random)
            return Source(False)
        labels = {r.id: tl_label(r) for r in runs}
        st.selectbox(
            "Trained model (its classifier is replaced by the head below)",
            list(labels),
            key=state.key(NS, "run"),
            format_func=labels.get,
            on_change=reset_stages,
        )
        run = next(r for r in runs if r.id == state.value(NS, "run"))
        return Source(True, run_dir=str(run.path))
    if cfg.weights == "bundled":
        st.selectbox(
            "Backbone",
            BUNDLED.names(),
            key=state.key(NS, "backbone"),
            on_change=reset_stages,
            help="Small networks pre-trained here on generated images and shipped with the app (assets/).",
        )
        st.success(plain(tl.bundled_line(cfg.backbone)), icon=":material/check_circle:")
        return Source(True)
    names = options(tl.TransferLabConfig, "backbone")
    st.selectbox(
        "Backbone",
        [n for n in names if not is_bundled(n)] if cfg.weights == "imagenet" else names,
        key=state.key(NS, "backbone"),
        on_change=reset_stages,
        help="torchvision's ImageNet CNNs. The article uses ResNet-50.",
    )
    if cfg.weights == "imagenet":
        found, message = tl.imagenet_status(cfg.backbone)
        if found:
            st.success(message, icon=":material/check_circle:")
            return Source(True)
        st.warning(message, icon=":material/cloud_off:")
        c = st.columns(3)
        c[0].button("Try downloading now", key=f"{NS}_download", on_click=_try_download, icon=":material/download:")
        c[1].button(
            "Use the bundled backbone", key=f"{NS}_to_bundled", on_click=_use_bundled, icon=":material/inventory_2:"
        )
        c[2].button("Use random initialisation", key=f"{NS}_to_random", on_click=_use_random, icon=":material/casino:")
        return Source(False)
    if cfg.weights == "upload":
        up = st.file_uploader(
            f"Weights file for {cfg.backbone} (a state_dict saved with torch.save)",
            type=WEIGHT_TYPES,
            key=f"{NS}_weights_file",
        )
        if up is None:
            st.info(
                "Upload a state_dict for this backbone, e.g. torchvision's ImageNet file copied from a machine "
                "that has it. It is read with torch.load(weights_only=True): no code in it runs.",
                icon=":material/upload_file:",
            )
            return Source(False)
        data = up.getvalue()
        try:
            n = tl.check_uploaded_weights(cfg, transfer.read_weights_file(data, up.name))
        except ValueError as exc:
            st.error(plain(exc), icon=":material/error:")
            return Source(False)
        st.success(
            f"{plain(up.name)}: all {n} tensors fit {cfg.backbone}'s backbone; its classifier is replaced by the head.",
            icon=":material/check_circle:",
        )
        return Source(True, upload=data, upload_name=up.name)
    st.info(
        "Random initialisation: nothing is pre-trained. Frozen stages stay random filters that never learn; "
        "with every stage training, this is training from scratch.",
        icon=":material/casino:",
    )
    return Source(True)


def tl_label(run) -> str:
    from playground.labs.inside import run_label

    return run_label(run)


def freezing(cfg: tl.TransferLabConfig, n_stages: int) -> None:
    """Feature extraction or fine-tuning; how many stages unfreeze and how slowly they learn."""
    st.radio(
        "Strategy", list(MODE_LABELS), key=state.key(NS, "mode"), format_func=MODE_LABELS.get, on_change=reset_stages
    )
    if cfg.mode == "fine_tuning":
        k = state.key(NS, "unfrozen_stages")
        if st.session_state.get(k, 0) > n_stages:  # more than this backbone has (the bundled default on a run's model)
            st.session_state[k] = n_stages
        c = st.columns(2)
        c[0].slider(
            "Unfreeze the last N stages", 0, n_stages, key=state.key(NS, "unfrozen_stages"), on_change=reset_stages
        )
        c[1].select_slider(
            "Backbone learning rate (x the head's)",
            options(tl.TransferLabConfig, "backbone_lr_scale"),
            key=state.key(NS, "backbone_lr_scale"),
            help="The article: re-train the upper layers with a very low learning rate, so the "
            "pre-trained features are adjusted, not destroyed.",
        )


def _toggle(name: str) -> None:
    cfg = _cfg()
    on = st.session_state[STAGE_PREFIX + name]
    stage_list = [(n, []) for n in state.recall(NS, "stage_names", [])]
    base = transfer.trainable_stage_names(replace(cfg.transfer_config(), stage_overrides={}), stage_list)
    overrides = dict(cfg.stage_overrides)
    if on == (name in base):
        overrides.pop(name, None)
    else:
        overrides[name] = on
    trains = [n for n, _ in stage_list if overrides.get(n, n in base)]
    saved = state.saved_config(NS)
    # The strategy names what the toggles do: a backbone stage that trains is fine-tuning, none is feature extraction.
    if trains and cfg.mode == "feature_extraction":
        _store(replace(saved, mode="fine_tuning", unfrozen_stages=0, stage_overrides={n: True for n in trains}))
    elif not trains and cfg.mode == "fine_tuning":
        _store(replace(saved, mode="feature_extraction", stage_overrides={}))
    else:
        state.save_config(replace(saved, stage_overrides=overrides), NS)


def stage_toggles(info: dict) -> None:
    """One checkbox per stage, in forward order: ticked = it trains."""
    rows = [r for r in info["stages"] if r[0] != "head (new)"]
    state.remember(NS, "stage_names", [r[0] for r in rows])
    for name, params, on in rows:
        k = STAGE_PREFIX + name
        if k not in st.session_state:
            st.session_state[k] = on
        st.checkbox(f"{name} · {params:,} parameters", key=k, on_change=_toggle, args=(name,))
    head = info["stages"][-1]
    st.checkbox(
        f"head (new) · {head[1]:,} parameters",
        value=True,
        disabled=True,
        key=f"{NS}_head_on",
        help="The new head always trains.",
    )


# --------------------------------------------------------------------------- head designer


def _bump_head() -> None:
    # The head's rows are keyed by a version: a new one after a structural edit re-primes every row.
    state.remember(NS, "head_version", state.recall(NS, "head_version", 0) + 1)


def _head_edit(op: str, index: int, value=None) -> None:
    cfg = state.saved_config(NS)
    state.save_config(replace(cfg, head=tl.edit_head(cfg.head, op, index, value)), NS)
    if op != "set":
        _bump_head()


def _head_set(index: int, key: str) -> None:
    _head_edit("set", index, st.session_state[key])


def _head_classes(index: int, key: str) -> None:
    # Ticked: this Linear outputs one score per class; unticked: a hidden layer of 128.
    _head_edit("set", index, "classes" if st.session_state[key] else 128)
    _bump_head()


def _head_reset() -> None:
    state.save_config(replace(state.saved_config(NS), head=transfer.article_head()), NS)
    _bump_head()


def head_designer(cfg: tl.TransferLabConfig) -> None:
    """The head's layers, each editable, movable and removable; add a layer; back to the article's head."""
    ver = state.recall(NS, "head_version", 0)
    n = len(cfg.head)
    for i, layer in enumerate(cfg.head):
        kind = layer.get("type")
        c = st.columns([2.4, 1.6, 1.6, 0.6, 0.6, 0.6], vertical_alignment="center")
        c[0].markdown(f"`{i}` **{tl.head_layer_label(layer)}**")
        k = f"{NS}_h{ver}_{i}"
        if kind == "dropout":
            c[1].number_input(
                "p",
                0.0,
                0.95,
                float(layer.get("p", 0.5)),
                0.05,
                key=k,
                label_visibility="collapsed",
                on_change=_head_set,
                args=(i, k),
            )
        if kind == "linear":
            to_classes = layer.get("out") == "classes"
            c[1].number_input(
                "outputs",
                1,
                8192,
                cfg.num_classes if to_classes else int(layer.get("out", 128)),
                key=k,
                label_visibility="collapsed",
                disabled=to_classes,
                on_change=_head_set,
                args=(i, k),
            )
            c[2].checkbox(
                "classes", value=to_classes, key=f"{k}_classes", on_change=_head_classes, args=(i, f"{k}_classes")
            )
        row_buttons(
            c[3:],
            key=lambda op, k=k: f"{k}_{'rm' if op == 'remove' else op}",
            on_click=_head_edit,
            args=lambda op, i=i: (op, i),
            first=i == 0,
            last=i == n - 1,
            can_remove=n > 1,
            remove_icon=":material/close:",
        )
    c = st.columns([2, 2, 3], vertical_alignment="bottom")
    kind = c[0].selectbox("New layer", HEAD_LAYERS, key=f"{NS}_add_kind")
    c[1].button(
        "Add",
        help="Inserted before the last layer",
        key=f"{NS}_add",
        on_click=_head_edit,
        args=("add", max(n - 1, 0), kind),
        icon=":material/add:",
    )
    c[2].button(
        "Back to the article's head", key=f"{NS}_head_reset", on_click=_head_reset, icon=":material/restart_alt:"
    )
