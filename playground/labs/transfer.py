"""The Transfer Learning page's config and the pieces it needs beyond ``playground.models.transfer``.

``TransferLabConfig`` is the page's one config object: the ``TransferConfig`` fields (backbone,
weights, head, freezing) plus what a launched run needs (dataset, image size, epochs, ...).
It round-trips through the URL. ``lab_describe`` counts parameters on the meta device, also for
a backbone trained earlier in the app. ``run_configs`` turns the setup into the ``TrainConfig``
of a fine-tuning run and of its from-scratch twin (same network and data, random weights,
nothing frozen), launched through the ordinary run machinery.

The run process builds the model from ``TrainConfig.model`` =
``{"kind": "transfer", **TransferConfig fields, "weights_file": ..., "from_run": ...}``.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch
import torch.nn as nn

from playground.common import settings
from playground.common.lists import edit_rows, is_row_edit
from playground.common.settings import setting
from playground.models import transfer
from playground.models.bundled import BUNDLED, DEFAULT_BUNDLED, is_bundled
from playground.models.transfer import MODES, TransferConfig, article_head

LAUNCH_DATASETS = ("shapes", "digits", "images")
IMAGE_SIZES = (32, 48, 64, 96, 128)
LR_SCALES = (0.01, 0.03, 0.1, 0.3, 1.0)
HEAD_LRS = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2)  # AdamW, the head's learning rate
BATCH_SIZES = (16, 32, 64, 128)


def _head_ok(head: list) -> bool:
    return all(isinstance(layer, dict) for layer in head)


def _overrides_ok(overrides: dict) -> bool:
    return all(isinstance(v, bool) for v in overrides.values())


def imagenet_here(name: str = "resnet50") -> bool:
    """Are torchvision's ImageNet weights for ``name`` in the torch cache (never downloads)?"""
    try:
        return os.path.exists(transfer.imagenet_weights_file(name))
    except (transfer.WeightsUnavailable, ValueError):
        return False


# Without ImageNet weights (offline), the page's experiment is the bundled backbone fine-tuned on the
# bundled digits (500 training images: a small target set) against the same ResNet-8 from scratch, every stage
# at the same rate, so only the starting weights differ: what pre-training buys, shown in seconds. Measured
# (seed 0): 34/64/75% against 9/24/51% over the 3 epochs (tests/unit/labs/test_bundled_backbone.py).
BUNDLED_EXPERIMENT = {
    "backbone": DEFAULT_BUNDLED,
    "weights": "bundled",
    "dataset": "digits",
    "mode": "fine_tuning",
    "unfrozen_stages": 4,
    "backbone_lr_scale": 1.0,
    "dataset_size": 500,
    "epochs": 3,
    "lr": 0.003,
    "batch_size": 32,
}
IMAGENET_EXPERIMENT = {
    "backbone": "resnet50",
    "weights": "imagenet",
    "dataset": "shapes",
    "mode": "feature_extraction",
    "unfrozen_stages": 1,
    "backbone_lr_scale": 0.1,
    "dataset_size": 1000,
    "epochs": 2,
    "lr": 0.001,
    "batch_size": 64,
}


def default_of_experiment(name: str):
    """A factory of field ``name``'s default: the ImageNet experiment when its weights are here, else the bundled one."""
    return lambda: (IMAGENET_EXPERIMENT if imagenet_here() else BUNDLED_EXPERIMENT)[name]


@dataclass
class TransferLabConfig:
    """Everything the Transfer Learning page shows; every field has a default, a URL form and what it may be."""

    # The defaults of the experiment's fields follow the machine: ResNet-50 with ImageNet weights where they
    # are in the torch cache, else the bundled pre-trained ResNet-8 (BUNDLED_EXPERIMENT).
    backbone: str = setting(factory=default_of_experiment("backbone"), choices=lambda: transfer.BACKBONES.names())
    weights: str = setting(factory=default_of_experiment("weights"), choices=transfer.WEIGHT_SOURCES)
    # weights == "run": the id of a run trained in the app (its model is the backbone); checked by clamp_config.
    run: str = setting("")
    num_classes: int = setting(5, lo=1, hi=1000, reset=True)  # the article's 5; a launched run uses its dataset's
    head: list = setting(factory=article_head, check=_head_ok)
    mode: str = setting(factory=default_of_experiment("mode"), choices=MODES)
    unfrozen_stages: int = setting(factory=default_of_experiment("unfrozen_stages"), lo=0, hi=20, reset=True)
    stage_overrides: dict = setting(factory=dict, check=_overrides_ok)
    backbone_lr_scale: float = setting(factory=default_of_experiment("backbone_lr_scale"), choices=LR_SCALES)
    # A launched run: small images, few epochs, a modest subset, because a CPU has to train it.
    # shapes | digits | images (an uploaded zip)
    dataset: str = setting(factory=default_of_experiment("dataset"), choices=LAUNCH_DATASETS)
    image_size: int = setting(32, choices=IMAGE_SIZES)
    dataset_size: int = setting(factory=default_of_experiment("dataset_size"), lo=100, hi=12_000, step=100)
    epochs: int = setting(factory=default_of_experiment("epochs"), lo=1, hi=20)
    # the head's; the backbone gets lr x backbone_lr_scale
    lr: float = setting(factory=default_of_experiment("lr"), choices=HEAD_LRS)
    batch_size: int = setting(factory=default_of_experiment("batch_size"), choices=BATCH_SIZES)
    compare: bool = setting(True, help="also train the same network from scratch")
    seed: int = setting(0, lo=0, hi=2**31 - 1)

    def transfer_config(self, num_classes: int | None = None) -> TransferConfig:
        """The ``TransferConfig`` this setup describes (``num_classes`` overrides the page's)."""
        names = {f.name for f in fields(TransferConfig)}
        values = {k: v for k, v in asdict(self).items() if k in names}
        values["num_classes"] = int(num_classes or self.num_classes)
        return TransferConfig(**values)


def clamp_config(cfg: TransferLabConfig, run_ids: list[str]) -> tuple[TransferLabConfig, list[str]]:
    """Pull a link's unusable values back to what the page offers, with a sentence for each.

    The settings do the ranges and choices; a run as the backbone must be one of this store's ``run_ids``.
    """
    from dataclasses import replace

    cfg, problems = settings.fit(cfg)
    if cfg.weights == "bundled" and not is_bundled(cfg.backbone):
        problems.append(f"{cfg.backbone} has no bundled weights; using the bundled {DEFAULT_BUNDLED}.")
        cfg = replace(cfg, backbone=DEFAULT_BUNDLED)
    elif cfg.weights == "imagenet" and is_bundled(cfg.backbone):
        problems.append(f"{cfg.backbone} has no ImageNet weights; using its bundled pre-trained ones.")
        cfg = replace(cfg, weights="bundled")
    if cfg.weights == "run" and cfg.run not in run_ids:
        if run_ids:
            problems.append(f"The link's run {cfg.run!r} is not in this app's run store; using {run_ids[0]!r}.")
            cfg = replace(cfg, run=run_ids[0])
        else:
            problems.append(f"The link's weights = {cfg.weights!r} is not available (no run here); using 'random'.")
            cfg = replace(cfg, weights="random", run="")
    return cfg, problems


# --------------------------------------------------------------------------- a run as backbone


def run_model_factory(run_dir: str | Path):
    """``(factory, info)`` for the model of a run trained in the app: a zero-argument builder of its
    architecture (no weights) and ``{"model", "dataset", "classes", "in_channels", "image_size"}``."""
    from playground.runs.store import config_file
    from playground.training.models import resolve_model

    run = Path(run_dir)
    config = json.loads(config_file(run).read_text())
    ds = json.loads((run / "dataset.json").read_text())
    model = config.get("model", "simplecnn")
    if isinstance(model, dict) and model.get("kind") == "transfer":
        raise ValueError(
            f"Run {run.name} is itself a transfer-learning run; pick a run that trained a model "
            "from the zoo or the Architecture Lab as the backbone."
        )

    def factory() -> nn.Module:
        return resolve_model(
            model, num_classes=len(ds["classes"]), in_channels=ds["in_channels"], input_size=tuple(ds["image_size"])
        )

    name = model if isinstance(model, str) else (model.get("name") or "custom model")
    return factory, {
        "model": name,
        "spec": model,
        "dataset": config.get("dataset"),
        "classes": ds["classes"],
        "in_channels": ds["in_channels"],
        "image_size": ds["image_size"],
    }


def lab_describe(cfg: TransferLabConfig, run_dir: str | Path | None = None, num_classes: int | None = None) -> dict:
    """``transfer.describe`` for this setup (meta device, instant); ``run_dir`` when the backbone is a run's model."""
    factory = run_model_factory(run_dir)[0] if cfg.weights == "run" and run_dir else None
    return transfer.describe(cfg.transfer_config(num_classes), net_factory=factory)


def check_uploaded_weights(cfg: TransferLabConfig, state_dict: dict, run_dir: str | Path | None = None) -> int:
    """Do uploaded weights fit the chosen backbone? Names and shapes compared on the meta device.

    Returns how many tensors will load; ValueError with a sentence naming the keys otherwise.
    """
    factory = run_model_factory(run_dir)[0] if cfg.weights == "run" and run_dir else None
    with torch.device("meta"):
        net = factory() if factory else torchvision_backbone(cfg.backbone)
    return transfer.check_backbone_weights(net, state_dict, transfer.head_path(net))


def torchvision_backbone(name: str) -> nn.Module:
    """torchvision's model ``name`` without weights (ValueError listing the choices if unknown)."""
    import torchvision

    transfer.BACKBONES.get(name)
    if is_bundled(name):
        return BUNDLED.get(name).build()
    return torchvision.models.get_model(name, weights=None)


def imagenet_status(name: str) -> tuple[bool, str]:
    """Are torchvision's ImageNet weights for ``name`` in the torch cache? ``(found, sentence)``. Never downloads."""
    if is_bundled(name):
        return False, f"{name} has no ImageNet weights: it is bundled with its own pre-trained weights."
    path = transfer.imagenet_weights_file(name)
    if os.path.exists(path):
        return True, f"torchvision's ImageNet weights for {name} are in the torch cache ({path})."
    try:
        transfer.imagenet_state_dict(name, allow_download=False)
    except transfer.WeightsUnavailable as exc:
        return False, str(exc)
    return True, ""


def bundled_metadata(name: str) -> dict:
    """The metadata pre-training wrote into a bundled backbone's safetensors file (source accuracy, seed, ...)."""
    from safetensors import safe_open

    with safe_open(str(BUNDLED.get(name).weights_path), framework="pt") as f:
        return dict(f.metadata() or {})


def bundled_line(name: str) -> str:
    """The bundled backbone in one sentence for the page: what it learned and how well."""
    entry = BUNDLED.get(name)
    try:
        meta = bundled_metadata(name)
        acc = f"{float(meta['source_accuracy']):.1%}"
    except (OSError, KeyError, ValueError):
        return f"{name}: its weights file {entry.weights_path.name} is missing; run scripts/pretrain_backbone.py."
    return (
        f"{name}: a CIFAR-style ResNet pre-trained here on {int(meta.get('n', 0)):,} generated images of "
        f"{entry.source_classes} classes (10 shapes x 4 textures), {acc} on its held-out set. "
        f"Bundled as assets/{entry.weights_path.name}; its model card beside it says how to reproduce it."
    )


def save_weights_upload(data: bytes, folder: str | Path, filename: str = "weights.pt") -> Path:
    """Keep an uploaded weights file by content under ``folder`` (the page's uploads folder); returns its path.

    The file is read first (``weights_only=True``): anything that is not a safe state_dict is refused.
    """
    from playground.training.models import save_upload_file

    transfer.read_weights_file(data, filename)
    return save_upload_file(data, folder, ".pt")


# --------------------------------------------------------------------------- runs


def model_dict(tc: TransferConfig, weights_file: str = "", from_run: str = "") -> dict:
    """``TrainConfig.model`` for a transfer run (the contract with the run process)."""
    d = {"kind": "transfer", **asdict(tc)}
    if weights_file:
        d["weights_file"] = str(weights_file)
    if from_run:
        d["from_run"] = str(from_run)
    return d


def random_frozen_note(cfg: TransferLabConfig, info: dict | None) -> str | None:
    """What a run with random weights and frozen stages can show, in plain words (None when it does not apply)."""
    if cfg.weights != "random" or not info:
        return None
    frozen = [name for name, _, on in info["stages"][:-1] if not on]
    if not frozen:
        return None
    return (
        f"Random weights with frozen stages ({', '.join(frozen)}): those stages stay the random filters they "
        "start as and never learn. The new head can use only what random features happen to keep, so this run "
        "measures random features against training from scratch; it is not transfer learning, since nothing was "
        "learned before. For the real experiment use the bundled pre-trained backbone, ImageNet weights (copy "
        "torchvision's file from a machine with internet and upload it under 'A weights file'), or a model "
        "trained here as the backbone."
    )


def scratch_config(tc: TransferConfig, n_stages: int) -> TransferConfig:
    """The same network trained from scratch: random weights, every stage training at the full rate."""
    from dataclasses import replace

    return replace(
        tc, weights="random", mode="fine_tuning", unfrozen_stages=n_stages, stage_overrides={}, backbone_lr_scale=1.0
    )


def channel_pipeline(data_channels: int, model_channels: int) -> dict | str:
    """The pipeline that feeds ``data_channels``-channel images to a backbone taking ``model_channels``:
    ``"none"`` when they agree, else torchvision's ``Grayscale`` with that many (equal) output channels
    (grey digits to an RGB ImageNet backbone, or colour shapes to a backbone trained here on digits)."""
    if data_channels == model_channels:
        return "none"
    if model_channels not in (1, 3):
        raise ValueError(f"The backbone takes {model_channels}-channel images; only 1 or 3 can be made from these.")
    return {"steps": [{"name": "Grayscale", "params": {"num_output_channels": int(model_channels)}}]}


def weights_pipeline(backbone: str, image_size: int, channels: dict | str = "none") -> dict:
    """The preprocessing of the backbone's ImageNet weights enum (``weights.transforms()``) as a pipeline
    spec, after ``channels`` (``channel_pipeline``'s steps): Resize of the shorter side, CenterCrop, and
    ImageNet's mean/std, so a pre-trained backbone sees inputs with the statistics it was trained on.

    At ``image_size`` 224 it is the enum's pipeline exactly (Resize 256, CenterCrop 224); at the
    smaller sizes a CPU can train, the crop is ``image_size`` and the resize keeps the enum's ratio
    (256/224), so the framing, interpolation and statistics stay the enum's.
    """
    pre = transfer.imagenet_preprocessing(backbone)
    resize = round(image_size * pre["resize"] / pre["crop"])
    head = [] if channels in ("none", None, "") else list(channels["steps"])
    steps = [
        *head,
        {"name": "Resize", "params": {"size": resize, "interpolation": pre["interpolation"], "antialias": True}},
        {"name": "CenterCrop", "params": {"size": int(image_size)}},
        {"name": "ToTensor", "params": {}},
        {"name": "Normalize", "params": {"mean": pre["mean"], "std": pre["std"]}},
    ]
    return {"steps": steps}


def backbone_channels(cfg: TransferLabConfig, run_dir: str | Path | None = None) -> int:
    """How many input channels the backbone takes: 3 for torchvision's, the run's own for a model trained here."""
    if cfg.weights == "run" and run_dir:
        return int(run_model_factory(run_dir)[1]["in_channels"])
    return 3


def run_configs(
    cfg: TransferLabConfig,
    *,
    num_classes: int,
    n_stages: int,
    weights_file: str = "",
    from_run: str = "",
    data_path: str = "",
    data_channels: int | None = None,
):
    """``[fine-tuning TrainConfig, from-scratch TrainConfig]`` (just the first when ``cfg.compare`` is off).

    Both share the data, image size, epochs, batch, learning rate and seed; AdamW with a cosine
    schedule, the same for both, keeps the comparison about the starting weights. From scratch is the
    same transfer model with random weights and nothing frozen -- except when the backbone is a run's
    model (``from_run``): the run process builds that architecture only with the run's weights, so its
    twin is that model trained from scratch with its own classifier. When the data's channels
    (``data_channels``) differ from the backbone's, both runs get ``channel_pipeline`` for training and
    validation. With ImageNet weights both get ``weights_pipeline``: the enum's resize, crop and mean/std.
    """
    from playground.training.loop import TrainConfig

    tc = cfg.transfer_config(num_classes)
    model_channels = backbone_channels(cfg, from_run)
    pipeline = channel_pipeline(data_channels or model_channels, model_channels)
    if tc.weights == "imagenet":  # both runs see what the weights were trained on (the twin too: a fair race)
        pipeline = weights_pipeline(tc.backbone, cfg.image_size, pipeline)
    # generated shapes: how many; digits: a cap on the training images (a small target set); a zip: all
    size = cfg.dataset_size if cfg.dataset in ("shapes", "digits") else 0
    common = dict(
        dataset=cfg.dataset,
        data_path=data_path,
        dataset_size=size,
        image_size=cfg.image_size,
        epochs=cfg.epochs,
        lr=cfg.lr,
        batch_size=cfg.batch_size,
        seed=cfg.seed,
        optimizer="adamw",
        schedule="cosine",
        weight_decay=1e-4,
        label_smoothing=0.0,
        augment=pipeline,
        val_augment=pipeline,
    )
    # "role" is for people (the runs table's label); the run process reads only TransferConfig's fields.
    role = "fine-tuned" if tc.mode == "fine_tuning" else "feature extraction"
    out = [TrainConfig(model={**model_dict(tc, weights_file, from_run), "role": role}, **common)]
    if cfg.compare and from_run:
        out.append(TrainConfig(model=run_model_factory(from_run)[1]["spec"], **common))
    elif cfg.compare:
        out.append(TrainConfig(model={**model_dict(scratch_config(tc, n_stages)), "role": "from scratch"}, **common))
    for c in out:
        c.validate()
    return out


def backbone_name(model: dict) -> str:
    """The backbone of a transfer model dict, in words: torchvision's name, or the trained run's model."""
    if model.get("weights") != "run" and not model.get("from_run"):
        return str(model.get("backbone", "?"))
    source = model.get("source") if isinstance(model.get("source"), dict) else {}
    inner = source.get("model")
    if inner is None and model.get("from_run"):
        try:
            inner = run_model_factory(model["from_run"])[1]["model"]
        except (OSError, ValueError, KeyError):
            inner = None
    if isinstance(inner, dict):
        inner = inner.get("name")
    return f"{inner or 'a model'} from a run"


def is_transfer_run(info) -> bool:
    """Was this run (a ``RunInfo``) launched from the Transfer page?"""
    model = (info.config or {}).get("model")
    return isinstance(model, dict) and model.get("kind") == "transfer"


def run_role(info) -> str:
    """ "from scratch", "feature extraction" or "fine-tuned": what a run (a ``RunInfo``) trained."""
    m = (info.config or {}).get("model") or {}
    if not (isinstance(m, dict) and m.get("kind") == "transfer"):
        return "from scratch"  # a zoo model's run: the twin of a transfer run from a model trained here
    return _role(json.dumps(m, sort_keys=True))


@functools.lru_cache(maxsize=256)
def _role(model_json: str) -> str:
    m = json.loads(model_json)
    names = {f.name for f in fields(TransferConfig)}
    try:
        tc = TransferConfig(**{k: v for k, v in m.items() if k in names})
        factory = run_model_factory(m["from_run"])[0] if m.get("from_run") else None
        info = transfer.describe(tc, net_factory=factory)
    except (ValueError, OSError, KeyError, TypeError):  # a run folder gone, an old config: go by the words
        return "feature extraction" if m.get("mode") == "feature_extraction" else "fine-tuned"
    if info["trainable"] == info["total"] and tc.weights == "random":
        return "from scratch"
    return "fine-tuned" if any(on for name, _, on in info["stages"][:-1]) else "feature extraction"


# --------------------------------------------------------------------------- the head designer


def default_head_layer(kind: str) -> dict:
    """A new head layer of type ``kind`` with sensible settings."""
    if kind == "dropout":
        return {"type": "dropout", "p": 0.2}
    if kind == "linear":
        return {"type": "linear", "out": 128}
    if kind not in transfer.HEAD_LAYERS:
        raise ValueError(f"Unknown head layer {kind!r}; use one of {', '.join(transfer.HEAD_LAYERS)}.")
    return {"type": kind}


def edit_head(head: list[dict], op: str, index: int, value=None) -> list[dict]:
    """A new head list after one edit: ``add`` (a layer of type ``value`` before ``index``), ``remove``,
    ``up``, ``down`` or ``set`` (``value`` = the layer's new setting: ``p`` or ``out``)."""
    out = [dict(layer) for layer in head]
    if op == "add":
        out.insert(max(0, min(index, len(out))), default_head_layer(value))
    elif is_row_edit(op):
        out = edit_rows(out, op, index)
    elif op == "set" and 0 <= index < len(out):
        kind = out[index]["type"]
        if kind == "dropout":
            out[index]["p"] = float(value)
        elif kind == "linear":
            out[index]["out"] = value if value == "classes" else int(value)
    return out


def head_layer_label(layer: dict) -> str:
    """A head layer in words, as PyTorch names it."""
    kind = layer.get("type")
    if kind == "dropout":
        return f"Dropout(p={layer.get('p', 0.5)})"
    if kind == "linear":
        return f"Linear(→ {layer.get('out', 'classes')})"
    return {"relu": "ReLU()", "gelu": "GELU()", "batchnorm": "BatchNorm1d()"}.get(kind, str(kind))


# --------------------------------------------------------------------------- comparing runs


def run_series(run_dir: str | Path, name: str) -> dict:
    """A run's curves for ``viz.transfer.compare_curves``: training loss per step, validation accuracy per epoch."""
    from playground.runs.store import read_events

    events, _ = read_events(run_dir)
    steps = [(e["epoch"], e["loss"]) for e in events if e.get("type") == "step" and e.get("loss") is not None]
    epochs = [
        (e["epoch"], e["val_accuracy"])
        for e in events
        if e.get("type") == "epoch" and e.get("val_accuracy") is not None
    ]
    start = next((e for e in events if e.get("type") == "start"), {})
    return {"name": name, "steps": steps, "epochs": epochs, "start": start}


# --------------------------------------------------------------------------- the gap


def final_accuracy(series: dict) -> tuple[int, float] | None:
    """``(epochs, validation accuracy)`` at a run's last finished epoch (None before its first)."""
    return series["epochs"][-1] if series.get("epochs") else None


def gap_sentence(pretrained: dict, scratch: dict) -> str | None:
    """How far the pre-trained run is ahead of the same network from scratch, from the runs' own curves.

    ``pretrained``/``scratch`` are ``run_series`` dicts. Compared at the same epoch (the last both
    finished), plus how soon the pre-trained run passed scratch's best: e.g. "Pre-trained: 91% after
    3 epochs; from scratch: 62% after 3 epochs -- 29 points ahead. The pre-trained run passed scratch's
    best (62%) after 1 epoch." None until both have finished an epoch.
    """
    a, b = dict(pretrained.get("epochs") or []), dict(scratch.get("epochs") or [])
    common = sorted(set(a) & set(b))
    if not common:
        return None
    e = common[-1]
    pa, pb = a[e], b[e]
    points = round(100 * pa) - round(100 * pb)
    unit = "epoch" if e == 1 else "epochs"
    ahead = f"{abs(points)} points {'ahead' if points >= 0 else 'behind'}" if points else "level"
    text = f"Pre-trained: {pa:.0%} after {e} {unit}; from scratch: {pb:.0%} after {e} {unit} — {ahead}."
    best = max(b.values())
    passed = next((k for k in sorted(a) if a[k] >= best), None)
    if points > 0 and passed is not None:
        text += (
            f" The pre-trained run reached scratch's best ({best:.0%}) after {passed} epoch{'s' if passed > 1 else ''}."
        )
    return text
