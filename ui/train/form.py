"""The Training page's setup: data, model, pipelines and hyperparameters, then Launch.

Every widget is keyed ``train_<TrainConfig field>`` (``ui.state``), so the setup is one
``TrainConfig`` mirrored into the URL, and reads its range and options from that field's
setting. Uploads (a zip of class folders, a model spec, a pipeline) are stored by content in
the run store's uploads folder from the uploader's callback, which then points the config at
the stored file -- a run process reads it from there.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import streamlit as st

from playground.augment.pipelines import PIPELINES, load_pipeline
from playground.common.device import pick_device
from playground.common.settings import setting_of
from playground.data.datasets import DATASETS
from playground.data.upload import save_upload
from playground.labs.augment_experiment import PAIR_IMAGES, PAIR_MIN_EPOCHS, augmentation_pair, can_pair
from playground.labs.train import Overview, Preflight, clamp_config, overview, widget_fields
from playground.models.zoo import MODELS, model_spec, preset_info
from playground.runs import store as runs
from playground.runs.store import uploads_dir
from playground.training.loop import TrainConfig
from playground.training.models import save_upload_file
from playground.viz import train as vz
from ui import state
from ui.text import plain
from ui.train import NS
from ui.widgets import bounds, flash, options

WIDGETS = widget_fields()
OWN_SPLIT = {"cifar10", "mnist", "fashion-mnist"}  # official test sets: no validation fraction to choose


def restore() -> TrainConfig:
    """The page's config, primed into its widgets; a link's unusable values are dropped with a sentence."""
    cfg = state.restore(TrainConfig, NS, WIDGETS)
    cfg = state.clamp_once(cfg, NS, WIDGETS, lambda c: clamp_config(c, uploads_dir()))  # presets, uploads here
    return state.read(cfg, NS, WIDGETS)


def _say(level: str, text: str) -> None:
    flash(NS, level, text)


def _set_field(name: str, value) -> None:
    """From a callback: change one config field and its widget."""
    cfg = state.saved_config(NS) or TrainConfig()
    state.save_config(TrainConfig.from_dict({**cfg.to_dict(), name: value}), NS)
    if name in WIDGETS:
        state.set_value(NS, name, value)


# -- uploads (callbacks) ----------------------------------------------------------------------------


def _on_zip() -> None:
    up = state.value(NS, "zip_upload")
    if up is None:
        return
    try:
        path = save_upload(up.getvalue(), uploads_dir(), up.name)
    except ValueError as exc:
        _say("error", str(exc))
        return
    state.stash(NS, "names", dict)[str(path)] = up.name  # messages name the user's file, not the stored hash
    _set_field("data_path", str(path))


def _on_spec(field: str, upload: str) -> None:
    up = state.value(NS, upload)
    if up is None:
        return
    data = up.getvalue()
    try:
        text = data.decode("utf-8")
        (model_spec if field == "model" else load_pipeline)(json.loads(text) if field == "model" else text)
    except (UnicodeDecodeError, ValueError) as exc:
        what = "model spec" if field == "model" else "pipeline"
        _say("error", f"{up.name} is not a usable {what}: {str(exc).splitlines()[0]}")
        return
    path = save_upload_file(data, uploads_dir(), ".json")
    state.stash(NS, "names", dict)[str(path)] = up.name  # the menus show the file's own name
    _set_field(field, str(path))


def _label(value: str) -> str:
    names = state.recall(NS, "names", {})
    if value in names or "/" in value:
        return f"Uploaded: {names.get(value, value.rsplit('/', 1)[-1])}"
    if value in MODELS:
        return preset_info(value)["title"]
    if value in PIPELINES:
        return "None: the images as they are" if value == "none" else f"{PIPELINES.get(value).title} ({value})"
    return value


def _options(names: list[str], current) -> list[str]:
    return names + ([current] if isinstance(current, str) and current not in names else [])


# -- tabs ---------------------------------------------------------------------------------------------


@st.cache_data(show_spinner="Loading the data…", max_entries=8)
def _overview(dataset: str, size: int, image_size: int, val_fraction: float, seed: int, path: str) -> Overview:
    cfg = TrainConfig(
        dataset=dataset,
        dataset_size=size,
        image_size=image_size,
        val_fraction=val_fraction,
        data_seed=seed,
        data_path=path,
    )
    return overview(cfg)


def data_tab(cfg: TrainConfig) -> Overview | None:
    """Dataset, size, split and seed, then what it holds: sizes, source and samples per class."""
    k = functools.partial(state.key, NS)
    st.selectbox(
        "Dataset", options(TrainConfig, "dataset"), key=k("dataset"), format_func=lambda n: DATASETS.get(n).title
    )
    st.caption(DATASETS.get(cfg.dataset).description)
    if cfg.dataset == "images":
        st.file_uploader(
            "A zip with one folder of images per class",
            type=["zip"],
            key=f"{NS}_zip_upload",
            on_change=_on_zip,
            help="E.g. cats/001.jpg, dogs/001.jpg. Nothing is extracted to disk.",
        )
        if not cfg.data_path:
            st.info("Upload a zip of class folders to train on your own images.", icon=":material/folder_zip:")
            return None
    c = st.columns(3)
    c[0].number_input(
        "Images (0 = all)" if cfg.dataset != "shapes" else "Shapes to generate (0 = 12,000)",
        key=k("dataset_size"),
        **bounds(TrainConfig, "dataset_size"),
    )
    c[1].number_input("Resize to (0 = own size)", key=k("image_size"), **bounds(TrainConfig, "image_size"))
    c[2].number_input(
        "Data seed",
        key=k("data_seed"),
        **bounds(TrainConfig, "data_seed"),
        help="Generation and the train/validation split. The same seed, the same split.",
    )
    if cfg.dataset not in OWN_SPLIT:
        st.slider("Validation share", key=k("val_fraction"), **bounds(TrainConfig, "val_fraction"))
    try:
        ov = _overview(cfg.dataset, cfg.dataset_size, cfg.image_size, cfg.val_fraction, cfg.data_seed, cfg.data_path)
    except ValueError as exc:
        message = str(exc)
        if cfg.data_path:  # the stored copy is named by its hash: say the name the user uploaded
            own = state.stash(NS, "names", dict).get(cfg.data_path, "your zip")
            message = message.replace(Path(cfg.data_path).name, own)
        st.error(plain(message), icon=":material/cloud_off:")
        return None
    d = ov.describe
    h, w = d["image_size"]
    st.markdown(
        f"**{d['train_size']:,}** training and **{d['val_size']:,}** validation images, "
        f"{len(d['classes'])} classes, {w}x{h} {'grey' if d['in_channels'] == 1 else 'RGB'}."
    )
    st.caption(d["source"] + (" " + " ".join(d["notes"]) if d["notes"] else ""))
    # One row of fixed-size tiles that wraps with the page: columns would stack on a phone, each tile a full
    # screen wide, and push Launch thousands of pixels down.
    st.image(
        [vz.mosaic(images[:4], columns=2, min_side=48) for _, images in ov.samples],
        caption=[f"{name} ({d['train_counts'][i]})" for i, (name, _) in enumerate(ov.samples)],
        width=SAMPLE_TILE,
    )
    return ov


SAMPLE_TILE = 96  # px: ten classes fit one row on a laptop, three a row on a phone


def model_tab(cfg: TrainConfig, check: Preflight) -> None:
    """Any zoo preset or an uploaded spec; its size and cost on the inputs it will receive."""
    k = state.key(NS, "model")
    st.selectbox("Model", _options(MODELS.names(), cfg.model), key=k, format_func=_label)
    st.file_uploader(
        "…or upload a model spec (JSON saved by the Architecture Lab)",
        type=["json"],
        key=f"{NS}_model_upload",
        on_change=_on_spec,
        args=("model", "model_upload"),
    )
    if cfg.model in MODELS:
        st.caption(preset_info(cfg.model)["blurb"])
    if check.params is not None:
        c, h, w = check.input_shape
        m = st.columns(3)
        m[0].metric("Parameters", f"{check.params:,}")
        m[1].metric("MACs / image", _si(check.macs), help="Multiply-accumulates per image; FLOPs = 2 x MACs.")
        m[2].metric("Input", f"{c}×{h}×{w}", help="What the model receives after the pipelines.")


def _si(n: int) -> str:
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return str(n)


def pipelines_tab(cfg: TrainConfig, check: Preflight) -> None:
    """Training and validation pipelines: presets (the Augmentation Studio's) or uploaded JSON; then the
    one-click experiment that trains with and without the training pipeline."""
    for name, label in (("augment", "Training pipeline"), ("val_augment", "Validation pipeline")):
        value = getattr(cfg, name)
        st.selectbox(label, _options(PIPELINES.names(), value), key=state.key(NS, name), format_func=_label)
        try:
            steps = [s["name"] for s in load_pipeline(value)["steps"] if s["enabled"]]
            st.caption(
                "Scaled to 0..1 and normalised by the trainer." if steps in ([], ["ToTensor"]) else " → ".join(steps)
            )
        except ValueError as exc:
            st.error(plain(exc))
        st.file_uploader(
            f"…or upload a {label.lower()} (JSON from the Augmentation Studio)",
            type=["json"],
            key=f"{NS}_{name}_upload",
            on_change=_on_spec,
            args=(name, f"{name}_upload"),
        )
    st.caption(
        "MixUp/CutMix in the training pipeline train on soft labels. Pipelines that end in Normalize switch "
        "off the trainer's own normalisation (the training set's mean and std), so nothing is applied twice."
    )
    _pair_button(cfg, check)


def _pair_button(cfg: TrainConfig, check: Preflight) -> None:
    st.markdown("**Does augmentation help?**")
    st.caption(
        f"Two runs of this setup on a small training set (at most {PAIR_IMAGES:,} images, at least "
        f"{PAIR_MIN_EPOCHS} epochs, where a network learns its images by heart): one with the training pipeline, "
        "one without. Their curves are overlaid under All runs, with the train-validation gap of each."
    )
    why_not = can_pair(cfg)
    if why_not and check.ok:
        st.caption(why_not)
    st.button(
        "Does it help? Launch with and without this pipeline",
        icon=":material/compare:",
        key=f"{NS}_launch_pair",
        disabled=not check.ok or why_not is not None,
        on_click=_launch_pair,
        width="stretch",
    )


def training_tab(cfg: TrainConfig) -> None:
    """Optimizer, learning rate and schedule, regularisation, batch, epochs, seed, device."""
    k = functools.partial(state.key, NS)
    a, b = st.columns(2)
    a.selectbox(
        "Optimizer",
        options(TrainConfig, "optimizer"),
        key=k("optimizer"),
        format_func={"sgd": "SGD", "adam": "Adam", "adamw": "AdamW"}.get,
    )
    b.number_input(
        "Learning rate (peak)",
        format="%g",
        key=k("lr"),
        help="SGD with one-cycle: 0.05-0.5. Adam/AdamW: about 1e-3.",
        **bounds(TrainConfig, "lr"),
    )
    a, b = st.columns(2)
    a.selectbox(
        "Schedule",
        options(TrainConfig, "schedule"),
        key=k("schedule"),
        help="step: x0.1 at 50% and 75%; cosine: down to 0; one-cycle: warm up for 30%, then down.",
    )
    b.number_input("Weight decay", format="%g", key=k("weight_decay"), **bounds(TrainConfig, "weight_decay"))
    if cfg.optimizer == "sgd":
        a, b = st.columns(2, vertical_alignment="bottom")
        a.number_input("Momentum", key=k("momentum"), **bounds(TrainConfig, "momentum"))
        b.toggle("Nesterov", key=k("nesterov"))
    a, b = st.columns(2)
    a.number_input("Label smoothing", key=k("label_smoothing"), **bounds(TrainConfig, "label_smoothing"))
    b.number_input("Batch size", key=k("batch_size"), **bounds(TrainConfig, "batch_size"))
    a, b = st.columns(2)
    a.number_input("Epochs", key=k("epochs"), **bounds(TrainConfig, "epochs"))
    b.number_input("Seed", key=k("seed"), help="Initial weights and batch order.", **bounds(TrainConfig, "seed"))
    devices = [d for d in options(TrainConfig, "device") if d in ("auto", "cpu") or _available(d)]
    st.selectbox(
        "Device",
        _options(devices, cfg.device),
        key=k("device"),
        help="auto: CUDA, then Apple MPS, then the CPU. One run per device at a time; the rest wait.",
    )
    _lr_finder(cfg)
    a, b = st.columns(2)
    a.toggle("torch.compile", key=k("compile"), help=setting_of(TrainConfig, "compile").help)
    b.toggle("Deterministic", key=k("deterministic"), help=setting_of(TrainConfig, "deterministic").help)


def _use_rate(value: float) -> None:
    _set_field("lr", float(f"{value:.2g}"))


def _lr_finder(cfg: TrainConfig) -> None:
    """fastai's lr_find on this setup: a short sweep, its curve, and a button that takes the suggestion."""
    from playground.training.lr_find import lr_find

    with st.expander("Find a learning rate", icon=":material/query_stats:"):
        st.caption(
            "A fresh copy of this model trains for 60 steps while the rate grows from 1e-7 to 10; the suggestion is "
            "where the loss falls fastest. It runs here, in a few seconds for the bundled data."
        )
        if st.button("Run the sweep", key=f"{NS}_lr_find"):
            try:
                with st.spinner("Sweeping the learning rate…"):
                    found = lr_find(cfg, steps=60)
            except ValueError as exc:
                st.error(str(exc))
                return
            state.remember(NS, "lr_found", (cfg.optimizer, found.to_dict()))
        kept = state.recall(NS, "lr_found")
        if not kept:
            return
        optimizer, found = kept
        st.plotly_chart(
            vz.lr_find_figure(found["lrs"], found["losses"], found["raw"], found["suggestion"]),
            width="stretch",
            key=f"{NS}_lr_find_chart",
        )
        if found["suggestion"] is None:
            st.warning("The loss never fell in the sweep: no rate to suggest. Check the model and the data.")
            return
        st.markdown(f"Suggested for {optimizer}: **{found['suggestion']:.2g}** (the steepest descent).")
        st.button(
            f"Use {found['suggestion']:.2g}",
            key=f"{NS}_use_lr",
            on_click=_use_rate,
            args=(found["suggestion"],),
        )


def _available(device: str) -> bool:
    try:
        pick_device(device)
        return True
    except ValueError:
        return False


def launch_button(cfg: TrainConfig, check: Preflight) -> None:
    """Launch: a new run process with this config; the page then watches it."""
    for text in check.errors:
        st.error(plain(text), icon=":material/block:")
    for text in check.warnings:
        st.warning(plain(text), icon=":material/speed:")
    st.button(
        "Launch run",
        type="primary",
        icon=":material/rocket_launch:",
        key=f"{NS}_launch",
        disabled=not check.ok,
        on_click=_launch,
        width="stretch",
    )


def _launch() -> None:
    # Read the setup now, not when the button was drawn: a value typed just before the click arrives with it.
    cfg = state.current(NS, WIDGETS, TrainConfig)
    try:
        run = runs.launch(cfg)
    except (ValueError, OSError) as exc:
        _say("error", f"The run could not start: {exc}")
        return
    state.set_value(NS, "run", run.name)  # the page watches it next
    state.set_value(NS, "compare", [])


def _launch_pair() -> None:
    cfg = state.current(NS, WIDGETS, TrainConfig)
    if can_pair(cfg):
        _say("error", can_pair(cfg))
        return
    launched = []
    try:
        for run_cfg in augmentation_pair(cfg):  # one device, one run at a time: the second queues behind the first
            launched.append(runs.launch(run_cfg).name)
    except (ValueError, OSError) as exc:
        _say("error", f"The runs could not start: {exc}")
        if not launched:
            return
    state.set_value(NS, "run", launched[0])
    state.set_value(NS, "compare", launched)  # All runs overlays them as they train
    _say(
        "info",
        "Two runs launched: with the pipeline (watched now) and without it (queued behind it). "
        "All runs below overlays them and compares their gaps.",
    )
