"""The Training page's setup logic, without streamlit: safe links, the dataset overview, pre-flight checks.

The page keeps its setup in one ``TrainConfig`` mirrored into the URL. A link is untrusted:
``clamp_config`` keeps only values the page itself could have produced (the ranges and choices
``TrainConfig``'s settings declare, model and pipeline presets, files in this server's uploads
folder) and says what it dropped.
``overview`` loads the dataset once for the page (sizes, classes, a few samples per class);
``preflight`` says, before launching, what the model will receive, its size and cost, and
every reason the run could not work -- the same checks the run itself would fail on.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from playground.common.settings import fit
from playground.runs import store as runs
from playground.training.loop import TrainConfig

SMALL_INPUT_PIXELS = 64 * 64  # above this a CPU run gets the "large inputs are slow" warning


def max_run_bytes() -> int:
    """The training memory one run may take on this server (weights, gradients, optimizer state, activations).

    ``PLAYGROUND_MAX_RUN_GIB`` sets it (default 8 GiB); the device's own memory also bounds it.
    """
    try:
        gib_limit = float(os.environ.get("PLAYGROUND_MAX_RUN_GIB", "8"))
    except ValueError:
        gib_limit = 8.0
    return int((gib_limit if gib_limit > 0 else 8.0) * 2**30)


uploads_dir = runs.uploads_dir  # where the page keeps uploads (the run store's layout)


def _uploaded(value, uploads: Path) -> bool:
    try:
        path = Path(str(value)).resolve()
        return path.parent == uploads.resolve() and path.is_file()
    except (OSError, ValueError):
        return False


def clamp_config(cfg: TrainConfig, uploads: Path) -> tuple[TrainConfig, list[str]]:
    """``cfg`` with every value the page could not have produced reset to its default, and why.

    Ranges and choices come from ``TrainConfig``'s field settings (``settings.fit``); what is left
    here depends on this server: files must be uploads in its ``uploads`` folder.
    """
    from playground.augment.pipelines import PIPELINES
    from playground.models.zoo import MODELS

    cfg, problems = fit(cfg)
    default, changes = TrainConfig(), {}

    def reset(name: str, why: str) -> None:
        changes[name] = getattr(default, name)
        problems.append(
            f"The link's {name} = {str(getattr(cfg, name))[:60]!r} {why}; using {getattr(default, name)!r}."
        )

    if cfg.data_path and not _uploaded(cfg.data_path, uploads):
        reset("data_path", "is not an upload on this server")
    if not (isinstance(cfg.model, str) and (cfg.model in MODELS or _uploaded(cfg.model, uploads))):
        reset("model", "is not a model preset or an uploaded spec")
    for name in ("augment", "val_augment"):
        value = getattr(cfg, name)
        if not (isinstance(value, str) and (value in PIPELINES or _uploaded(value, uploads))):
            reset(name, "is not a pipeline preset or an uploaded pipeline")
    return replace(cfg, **changes), problems


@dataclass
class Overview:
    """What the page shows about the chosen data before anything trains."""

    describe: dict  # ImageDataset.describe(): classes, sizes, counts, mean/std, source, notes
    samples: list[tuple[str, "object"]]  # (class name, uint8 numpy (k, C, H, W))

    @property
    def shape(self) -> tuple[int, int, int]:
        return (int(self.describe["in_channels"]), *(int(v) for v in self.describe["image_size"]))

    @property
    def num_classes(self) -> int:
        return len(self.describe["classes"])


def overview(cfg: TrainConfig, per_class: int = 4) -> Overview:
    """Load the config's data (seeded, as the run will) and keep a few samples per class.

    Raises DataError (a ValueError) with the dataset's own sentence (offline without files, a bad zip).
    """
    from playground.training.loop import load_data

    data = load_data(cfg)
    return Overview(data.describe(), [(name, x.numpy()) for name, x in data.preview(per_class)])


@dataclass
class Preflight:
    """The verdict before launching."""

    input_shape: tuple[int, int, int] | None = None  # what the model receives (after the pipelines)
    params: int | None = None
    macs: int | None = None  # per image
    errors: list[str] = field(default_factory=list)  # the run could not work: Launch stays off
    warnings: list[str] = field(default_factory=list)  # it works, but you should know

    @property
    def ok(self) -> bool:
        return not self.errors


def preflight(cfg: TrainConfig, ov: Overview | None) -> Preflight:
    """Check the whole setup on the data's real shape, without building the model or training.

    ``ov`` None: the data could not be loaded, so nothing can launch (an error, not a silent pass).
    """
    import torch

    from playground.common.device import pick_device
    from playground.models.summary import summarize
    from playground.training.inputs import model_input_shape, resolve_pipeline
    from playground.training.models import check_model

    out = Preflight()
    try:
        cfg.validate()
        check_model(cfg.model)
        device = pick_device(cfg.device)
    except ValueError as exc:
        out.errors.append(str(exc))
        return out
    if ov is None:  # no data to train on: a refused zip, an offline dataset that is not on disk, no upload yet
        out.errors.append(
            "Upload a zip of class folders first (Data tab)."
            if cfg.dataset == "images" and not cfg.data_path
            else "The data could not be loaded (the Data tab says why): fix that before launching."
        )
        return out
    cpu = torch.device("cpu")
    try:  # the shape probe runs on the CPU: the same shapes as on any device
        train_pipe = resolve_pipeline(cfg.augment, cpu, num_classes=ov.num_classes, image_shape=ov.shape)
        val_pipe = resolve_pipeline(cfg.val_augment, cpu, image_shape=ov.shape)
        out.input_shape = model_input_shape(train_pipe, val_pipe, ov.shape, cpu)
    except ValueError as exc:
        out.errors.append(str(exc))
        return out
    s = summarize(cfg.model, input_shape=out.input_shape, num_classes=ov.num_classes, on_error="report")
    if s.error is not None:
        out.errors.append(f"The model does not fit {out.input_shape[2]}x{out.input_shape[1]} inputs: {s.error}")
        return out
    out.params, out.macs = s.total_params, s.total_macs
    budget = _memory_budget(cfg, s, device)
    if budget:
        out.errors.append(budget)
        return out
    c, h, w = out.input_shape
    if device.type == "cpu" and h * w > SMALL_INPUT_PIXELS:
        factor = h * w / (ov.shape[1] * ov.shape[2])
        out.warnings.append(
            f"The pipeline makes {w}x{h} inputs ({factor:.0f} times the pixels of the {ov.shape[2]}x{ov.shape[1]} "
            f"images), about {out.macs / 1e9:.2f} GMACs per image: large inputs are slow on a CPU. Expect minutes per "
            "epoch; for quick runs use pipelines that keep the images' own size (none, or cifar for 32x32)."
        )
    if (train_pipe.per_sample is not None) and device.type == "cpu":
        out.warnings.append(
            "This training pipeline has steps without a batched form (e.g. RandomResizedCrop, "
            "rotations, auto-augment policies), so images are augmented one by one: slower."
        )
    n_train = ov.describe["train_size"]
    if cfg.batch_size > n_train:
        out.warnings.append(
            f"The batch size ({cfg.batch_size}) is larger than the {n_train} training images: every epoch is one step."
        )
    steps = max(1, math.ceil(n_train / cfg.batch_size)) * cfg.epochs
    if steps < 20:
        out.warnings.append(f"Only {steps} steps in all: raise the epochs or lower the batch size to see curves.")
    return out


def _memory_budget(cfg: TrainConfig, s, device) -> str | None:
    """A sentence when the run's training memory (the summary's float32 estimate) passes what one run may take."""
    from playground.models.summary import OPTIMIZER_STATES, available_memory, gib

    momentum = cfg.optimizer == "sgd" and float(getattr(cfg, "momentum", 0) or 0) > 0
    opt = "sgd_momentum" if momentum else (cfg.optimizer if cfg.optimizer in OPTIMIZER_STATES else "adam")
    m = s.memory(batch_size=int(cfg.batch_size), optimizer=opt)
    limit, where = max_run_bytes(), "this server's limit for one run"
    if device.type == "cuda":
        dev_bytes, label = available_memory()
        if dev_bytes and 0.9 * dev_bytes < limit:
            limit, where = int(0.9 * dev_bytes), f"what {label} can hold"
    if m.total <= limit:
        return None
    return (
        f"This run needs about {gib(m.total)} for training (weights {gib(m.weights)}, gradients {gib(m.gradients)}, "
        f"optimizer state {gib(m.optimizer_state)}, activations for a batch of {cfg.batch_size} "
        f"{gib(m.activations)}), over {where} ({gib(limit)}): lower the batch size, the image size or the "
        "model's width or depth."
    )


def widget_fields() -> set[str]:
    """The TrainConfig fields the page edits with widgets (the rest travel in the config only)."""
    hidden = {"data_path", "channels_last", "amp", "normalize", "log_every"}
    return {f.name for f in fields(TrainConfig)} - hidden
