"""The training loop: one config object in, metric events out.

``train(config, ...)`` trains a model on an ``ImageDataset`` and reports through
an ``emit(event_dict)`` callback -- it never prints and never touches streamlit;
``playground.runs`` turns the events into a run folder and the CLI into lines.

Fast on whatever device is there: the device is chosen once
(``pick_device``) and passed in; the whole dataset is moved to it once as uint8;
a batch is one index into that tensor, augmented in one call when a batch
augmenter is given (per sample on the CPU otherwise), converted to float,
normalised and laid out channels_last; on CUDA the forward pass runs under bf16
autocast. No per-step host sync: losses accumulate on the device and are read
every ``log_every`` steps.

Event types (every event has ``type`` and ``time``, seconds since the run began):
``start`` (sizes, device, ``params`` and ``trainable_params``, ``input_shape`` the model receives,
``param_groups`` with their peak learning rates, steps, classes), ``step`` (``step``, ``epoch``,
``loss`` averaged since the previous step event, ``lr`` of the first group: the head's for a
transfer model), ``epoch`` (``epoch``,
``train_loss``, ``train_accuracy``, ``val_loss``, ``val_accuracy``, ``lr``,
``images_per_second``, ``epoch_seconds``) and ``end`` (``status``, ``reason``).

Under ``torchrun`` the same loop runs data-parallel (``distributed.py``): every
rank draws the same global batch and takes its own shard of it, and the loss is
scaled so the averaged gradient equals the one-process gradient of the global batch.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from playground.common import settings
from playground.common.device import DEVICE_CHOICES, pick_device
from playground.common.settings import setting
from playground.data.datasets import ImageDataset, load_dataset
from playground.training import distributed as dist_util
from playground.training import snapshots as snapshots_mod
from playground.training.checkpoints import save_checkpoint
from playground.training.distributed import DistContext
from playground.training.inputs import (
    Inputs,
    Pipeline,
    first_conv_channels,
    make_inputs,
    model_input_shape,
    resolve_pipeline,
)
from playground.training.models import resolve_model
from playground.training.optim import OPTIMIZERS, SCHEDULES, lr_factor, make_optimizer
from playground.training.snapshots import EARLY_STEPS, SnapshotRecorder

DEFAULT_MAX_EPOCHS = 100
Emit = Callable[[dict], None]


def max_epochs() -> int:
    """The server's cap on epochs per run (``$PLAYGROUND_MAX_EPOCHS``, default 100)."""
    try:
        return max(1, int(os.environ.get("PLAYGROUND_MAX_EPOCHS", DEFAULT_MAX_EPOCHS)))
    except ValueError:
        return DEFAULT_MAX_EPOCHS


@dataclass
class TrainConfig:
    """Everything a run needs; every field has a default, so it round-trips through URLs and JSON.

    The defaults are the tuned preset: the article's SimpleCNN on ``shapes`` reaches 90%
    validation accuracy within a minute on a 2-core CPU (bench/bench_train.py measures it).
    Each field's ``setting`` says what a run accepts (``validate``), what the Training page offers
    (``page_*``: its widgets' ranges; a link is pulled back to the default outside them) and which
    fields are ``python -m playground train`` flags.
    """

    model: Any = setting(  # a zoo preset, a model spec (dict, JSON, file) or a transfer dict (train_models)
        "simplecnn",
        flag=True,
        help="a model preset (simplecnn, lenet5, resnet20, ...) or a JSON file: a model spec saved by the "
        'Architecture Lab, or a transfer-learning setup {"kind": "transfer", ...}',
    )
    dataset: str = setting(  # a name in DATASETS, or (from the CLI) a folder/zip of class folders
        "shapes",
        page_choices=lambda: _dataset_names(),
        reset=True,
        flag=True,
        help="shapes, digits, cifar10, mnist, fashion-mnist, or a folder/.zip of class folders",
    )
    dataset_size: int = setting(  # 0 = the dataset's default
        0,
        lo=0,
        page_hi=60_000,
        step=500,
        reset=True,
        flag=True,
        label="the dataset size",
        help="samples to generate (shapes) or cap on training images",
    )
    image_size: int = setting(  # 0 = the dataset's own size
        0,
        lo=0,
        page_hi=128,
        step=8,
        reset=True,
        flag=True,
        label="the image size",
        help="resize images to this square side",
    )
    data_path: str = setting("", help="folder or zip for the 'images' dataset")
    val_fraction: float = setting(  # for datasets without an official test split
        0.2,
        lo=0.0,
        lo_open=True,
        hi=1.0,
        hi_open=True,
        page_lo=0.05,
        page_hi=0.5,
        step=0.05,
        reset=True,
        label="the validation fraction",
    )
    data_seed: int = setting(  # separate from ``seed`` so runs on the same data can differ
        0,
        page_lo=0,
        page_hi=2**31 - 1,
        reset=True,
        flag=True,
        help="seed of dataset generation and the train/val split",
    )
    augment: Any = setting(
        "none",
        flag=True,
        help="training augmentation: a pipeline preset (none, cifar, article-train, ...) or a JSON file saved by "
        "the Augmentation Studio",
    )
    val_augment: Any = setting("none", flag=True, help="validation pipeline: a preset or JSON file")
    optimizer: str = setting("sgd", choices=OPTIMIZERS, reset=True, flag=True, help="the optimizer")
    # 0.8, not 0.4: SimpleCNN on shapes under the one-cycle schedule reached 90% validation accuracy an
    # epoch sooner (epoch 4 of 5, 91.1% vs 89.7%, seed 0) and ended higher on both seeds tried (93.9% vs 92.5%,
    # 91.7% vs 86.4% on seed 1); lower rates, Adam(W), larger batches or fewer epochs were slower to 90%
    # (bench/bench_time_to_accuracy.py measures it against the previous default).
    lr: float = setting(
        0.8,
        lo=0.0,
        lo_open=True,
        hi=1e6,
        page_lo=1e-6,
        page_hi=10.0,
        step=0.01,
        reset=True,
        flag=True,
        explain="The learning rate must be a positive number, not {value}.",
        help="learning rate (peak rate for one-cycle)",
    )
    momentum: float = setting(
        0.9, lo=0.0, hi=1.0, hi_open=True, page_hi=0.99, step=0.05, reset=True, flag=True, help="SGD momentum"
    )
    nesterov: bool = setting(True, help="Nesterov momentum (SGD)")
    weight_decay: float = setting(5e-4, lo=0.0, hi=1.0, step=1e-4, reset=True, flag=True, help="weight decay")
    schedule: str = setting("onecycle", choices=SCHEDULES, reset=True, flag=True, help="learning-rate schedule")
    label_smoothing: float = setting(
        0.1, lo=0.0, hi=1.0, hi_open=True, page_hi=0.5, step=0.05, reset=True, flag=True, help="label smoothing"
    )
    batch_size: int = setting(
        128, lo=1, hi=8192, step=32, reset=True, flag=True, label="the batch size", help="images per step"
    )
    epochs: int = setting(
        5,
        lo=1,
        hi=max_epochs,
        reset=True,
        flag=True,
        explain="Epochs must be between 1 and {hi} on this server, not {value}.",
        help="passes over the training set",
    )
    seed: int = setting(
        0, page_lo=0, page_hi=2**31 - 1, reset=True, flag=True, help="seed of the initial weights and the batch order"
    )
    device: str = setting(
        "auto", choices=DEVICE_CHOICES, reset=True, flag=True, help="auto: CUDA, then Apple MPS, then the CPU"
    )
    channels_last: bool = setting(True)
    amp: bool = setting(True, help="bf16 autocast on CUDA (ignored elsewhere)")
    normalize: bool = setting(True, help="standardise inputs with the training set's per-channel mean/std")
    log_every: int = setting(0, lo=0, help="steps between step events; 0 picks about 400 events per run")
    compile: bool = setting(
        False,
        flag=True,
        help="torch.compile the model: a one-off compile (tens of seconds) for faster steps; off by default, since "
        "the short runs here rarely earn the compile back (bench/bench_compile.py)",
    )
    deterministic: bool = setting(
        False,
        flag=True,
        help="deterministic kernels (torch.use_deterministic_algorithms, cuDNN deterministic): the same seed gives "
        "the same run on a GPU too, a little slower",
    )

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        """Build from a dict, ignoring unknown keys (configs from older versions still load)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    def validate(self) -> None:
        """Raise ValueError with a sentence for the first bad field (checked before anything runs)."""
        settings.validate(self)


def _dataset_names() -> list[str]:
    from playground.data.datasets import DATASETS

    return DATASETS.names()


def load_data(config: TrainConfig) -> ImageDataset:
    """The dataset a config asks for (seeded by ``data_seed``)."""
    return load_dataset(
        config.dataset,
        size=config.dataset_size or None,
        image_size=config.image_size or None,
        val_fraction=config.val_fraction,
        seed=config.data_seed,
        path=config.data_path or None,
    )


DIVERGE_FACTOR = 10  # a loss this many times its start (or chance's, ln(classes)) has run away


def diverged(loss: float, start: float) -> bool:
    """Has the loss run away: NaN, infinite, or above DIVERGE_FACTOR x ``start`` (the larger of chance and the first)?

    A loss that explodes need not reach NaN: SGD at lr 10 settles at a validation loss of 327 with 8%
    accuracy, Adam at lr 1e6 at a training loss of 3e10. A healthy run's loss falls below its start.
    """
    return not math.isfinite(loss) or loss > DIVERGE_FACTOR * start


def divergence_reason(loss: float, step: int, lr: float, start: float | None = None) -> str:
    """The sentence a diverged run ends with (``start``: the loss it grew from, for a finite one)."""
    if math.isfinite(loss) and start:
        what = f"{loss:.3g}, {loss / start:,.0f} times its starting {start:.3g},"
        verb = "grew to"
    else:
        what, verb = ("NaN" if math.isnan(loss) else "infinite"), "became"
    return (
        f"The loss {verb} {what} at step {step} (learning rate {lr:.3g}): training diverged, so it was stopped. "
        "Try a learning rate 3-10 times lower, a warm-up schedule such as one-cycle, or gradient-friendly "
        "settings (batch normalisation, a smaller batch)."
    )


@dataclass
class TrainResult:
    """How a run ended and what it learned."""

    status: str  # "completed" | "stopped" | "diverged"
    reason: str  # a sentence for people ("" when completed)
    epochs: int  # epochs completed
    history: list[dict] = field(default_factory=list)  # the epoch events
    # Training throughput. ``images_per_second`` is the steady rate: the epochs after the first, whose
    # warm-up (allocator, first-call kernel choices, caches) makes it slower; with one epoch it is that
    # epoch's rate. ``images_per_second_mean`` averages every epoch, the first included.
    images_per_second: float = 0.0
    images_per_second_mean: float = 0.0
    seconds: float = 0.0
    model: nn.Module | None = None
    val_inputs: Inputs | None = None  # what the model expects at validation: for evaluating it afterwards

    def final(self, key: str) -> float | None:
        return self.history[-1][key] if self.history else None


def _autocast(device: torch.device, enabled: bool):
    """bf16 autocast on CUDA; a no-op context elsewhere (CPU bf16 is slower on most CPUs)."""
    return torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=enabled and device.type == "cuda")


@torch.no_grad()
def evaluate_loss(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    inputs: Inputs,
    *,
    batch_size: int = 1024,
    amp: bool = True,
    dist: DistContext | None = None,
    confusion: torch.Tensor | None = None,
) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``model`` on uint8 ``x`` / labels ``y`` (already on the device).

    Under data parallelism each rank scores its shard and the sums are added up. ``confusion``, a
    ``(K, K)`` int64 tensor on the device, gets the counts added (rows true, columns predicted).
    """
    dist = dist or DistContext()
    model.eval()
    device = x.device
    idx = torch.arange(dist.rank, len(y), dist.world_size, device=device)
    stats = torch.zeros(
        3, dtype=torch.float32 if device.type == "mps" else torch.float64, device=device
    )  # loss, correct, n
    for i in range(0, len(idx), batch_size):
        sel = idx[i : i + batch_size]
        with _autocast(device, amp):
            logits = model(inputs(x[sel]))
        stats[0] += F.cross_entropy(logits.float(), y[sel], reduction="sum")
        stats[1] += (logits.argmax(1) == y[sel]).sum()
        stats[2] += len(sel)
        if confusion is not None:
            k = confusion.shape[0]
            confusion += torch.bincount(y[sel] * k + logits.argmax(1), minlength=k * k).view(k, k)
    dist_util.all_sum(stats, dist)
    if confusion is not None:
        dist_util.all_sum(confusion, dist)
    n = max(float(stats[2]), 1.0)
    return float(stats[0]) / n, float(stats[1]) / n


def _build_model(config: TrainConfig, model, num_classes: int, shape: tuple[int, int, int]) -> nn.Module:
    if model is None:
        return resolve_model(config.model, num_classes=num_classes, in_channels=shape[0], input_size=shape[1:])
    return model if isinstance(model, nn.Module) else model()


@dataclass
class RunSetup:
    """The model and what feeds it, before the first step (``prepare``)."""

    net: nn.Module
    train_inputs: Inputs
    val_inputs: Inputs
    mix: Callable | None  # MixUp/CutMix: (images, labels) -> (images, soft labels)
    input_shape: tuple[int, int, int]  # (C, H, W) the model receives


def prepare(
    config: TrainConfig,
    data: ImageDataset,
    device: torch.device,
    model=None,
    *,
    train_transform: Callable | None = None,
    train_batch: Callable | None = None,
    val_transform: Callable | None = None,
    val_batch: Callable | None = None,
) -> RunSetup:
    """Resolve the pipelines, build the model for the shape they produce, and the two ``Inputs``.

    Explicit transforms (``train_transform``/``train_batch`` ...) replace the config's pipelines.
    The model is built after ``torch.manual_seed(config.seed)``: the same seed, the same weights.
    """
    image_shape = (data.in_channels, *data.image_size)
    if train_transform is not None or train_batch is not None:
        train_pipe = Pipeline(per_sample=train_transform, batch=train_batch)
    else:
        train_pipe = resolve_pipeline(config.augment, device, num_classes=data.num_classes, image_shape=image_shape)
    if val_transform is not None or val_batch is not None:
        val_pipe = Pipeline(per_sample=val_transform, batch=val_batch)
    else:
        val_pipe = resolve_pipeline(config.val_augment, device, image_shape=image_shape)
    shape = model_input_shape(train_pipe, val_pipe, image_shape, device)
    torch.manual_seed(config.seed)  # same initial weights on every rank and in every rerun
    net = _build_model(config, model, data.num_classes, shape)
    channels = first_conv_channels(net, shape[0])
    mean, std = data.channel_stats()
    common = dict(
        normalize=config.normalize, channels_last=config.channels_last, model_channels=channels, data_channels=shape[0]
    )
    return RunSetup(
        net,
        make_inputs(train_pipe, mean, std, device, **common),
        make_inputs(val_pipe, mean, std, device, **common),
        train_pipe.mix,
        shape,
    )


def train(
    config: TrainConfig,
    *,
    data: ImageDataset | None = None,
    model: nn.Module | Callable[[], nn.Module] | None = None,
    device: torch.device | None = None,
    emit: Emit | None = None,
    should_stop: Callable[[], bool] | None = None,
    checkpoint_path: str | Path | None = None,
    train_transform: Callable | None = None,
    train_batch: Callable | None = None,
    val_transform: Callable | None = None,
    val_batch: Callable | None = None,
    dist: DistContext | None = None,
    snapshot_dir: str | Path | None = None,
) -> TrainResult:
    """Train and validate; report through ``emit``; return how it ended.

    ``data``/``model`` default to what the config names (``model`` may be a module or a zero-argument
    factory). ``device`` defaults to ``pick_device(config.device)``. ``should_stop`` is polled every
    step (at every step event under data parallelism) and ends the run as "stopped". The model's
    ``state_dict`` is written atomically to ``checkpoint_path`` after every epoch and when the run ends.
    Augmentation: ``train_batch``/``val_batch`` (uint8 batch on the device -> batch) or
    ``train_transform``/``val_transform`` (one uint8 ``(C, H, W)`` CPU image -> tensor); when none
    is given the config's pipelines are resolved (``prepare``). MixUp/CutMix in the training
    pipeline train on soft labels. A model with ``param_groups`` (transfer learning) gets one
    learning rate per group; frozen parameters never reach the optimizer. A NaN/infinite loss ends
    the run as "diverged". ``config.compile`` runs the steps through ``torch.compile``;
    ``config.deterministic`` turns on deterministic kernels for the run (and back off after it).
    ``snapshot_dir``: record snapshots of the model there as it learns (``snapshots.py``; rank 0 only),
    each announced by a ``snapshot`` event.
    """
    config.validate()
    with _determinism(config.deterministic):
        return _train(
            config,
            data=data,
            model=model,
            device=device,
            emit=emit,
            should_stop=should_stop,
            checkpoint_path=checkpoint_path,
            train_transform=train_transform,
            train_batch=train_batch,
            val_transform=val_transform,
            val_batch=val_batch,
            dist=dist,
            snapshot_dir=snapshot_dir,
        )


@contextlib.contextmanager
def _determinism(on: bool):
    """Deterministic kernels for the run when asked, and the process's own settings back afterwards."""
    if not on:
        yield
        return
    before = (torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.deterministic)
    bench = torch.backends.cudnn.benchmark
    # cuBLAS needs a fixed workspace for deterministic matmuls; read when CUDA first initialises cuBLAS.
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True, warn_only=True)  # an op without a deterministic kernel warns, runs
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before[0])
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = before[1], bench


def _train(
    config: TrainConfig,
    *,
    data,
    model,
    device,
    emit,
    should_stop,
    checkpoint_path,
    train_transform,
    train_batch,
    val_transform,
    val_batch,
    dist,
    snapshot_dir,
) -> TrainResult:
    t0 = time.perf_counter()
    emit = emit or (lambda event: None)
    should_stop = should_stop or (lambda: False)
    dist = dist or DistContext()
    device = dist_util.setup(dist, device or pick_device(config.device))
    emit_main = emit if dist.is_main else (lambda event: None)
    data = data or load_data(config)
    setup = prepare(
        config,
        data,
        device,
        model,
        train_transform=train_transform,
        train_batch=train_batch,
        val_transform=val_transform,
        val_batch=val_batch,
    )
    net = setup.net.to(device)
    if config.channels_last:
        net = net.to(memory_format=torch.channels_last)
    n_params = sum(p.numel() for p in net.parameters())
    n_trainable = sum(p.numel() for p in net.parameters() if p.requires_grad)
    if hasattr(net, "param_groups"):  # transfer learning: the head at lr, the backbone at lr x scale
        groups = net.param_groups(config.lr, getattr(net, "backbone_lr_scale", 1.0))
    else:
        groups = [{"params": [p for p in net.parameters() if p.requires_grad], "lr": config.lr, "name": "all"}]
    groups = [g for g in groups if g["params"]]
    if not groups:
        raise ValueError(
            "Every parameter of this model is frozen, so there is nothing to train: unfreeze a stage or give it a head."
        )
    net = dist_util.wrap(net, dist, device)
    if device.type == "cuda" and not config.deterministic:
        torch.backends.cudnn.benchmark = True
    # The steps run ``forward``: the compiled module when asked (it shares ``net``'s parameters, so the
    # optimiser, checkpoints and the returned model stay the plain module).
    forward = torch.compile(net) if config.compile else net
    train_inputs, val_inputs, mix = setup.train_inputs, setup.val_inputs, setup.mix
    train_x, train_y = data.train_x.to(device), data.train_y.to(device)  # resident on the device, uint8
    val_x, val_y = data.val_x.to(device), data.val_y.to(device)

    n, bs, world = len(train_y), config.batch_size, dist.world_size
    steps_per_epoch = math.ceil(n / bs)
    if n % bs and n % bs < max(2, world) and steps_per_epoch > 1:
        steps_per_epoch -= 1  # a final batch of 1 breaks BatchNorm (and leaves ranks without a shard)
    total = steps_per_epoch * config.epochs
    log_every = config.log_every or max(1, total // 400)
    group_info = [
        {"name": g.get("name", f"group{i}"), "lr": g["lr"], "params": sum(p.numel() for p in g["params"])}
        for i, g in enumerate(groups)
    ]  # peak rates, before the schedule scales them
    opt = make_optimizer(config, groups)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(config.schedule, s, total))  # every group
    emit_main(
        {
            "type": "start",
            "time": round(time.perf_counter() - t0, 3),
            "wall": time.time(),
            "device": str(device),
            "params": n_params,
            "trainable_params": n_trainable,
            "input_shape": list(setup.input_shape),
            "param_groups": group_info,
            "train_size": n,
            "val_size": len(val_y),
            "classes": data.class_names,
            "steps_per_epoch": steps_per_epoch,
            "total_steps": total,
            "epochs": config.epochs,
            "batch_size": bs,
            "world_size": world,
            "dataset": data.describe(),
        }
    )

    acc_dtype = torch.float32 if device.type == "mps" else torch.float64  # MPS has no float64
    result = TrainResult("completed", "", 0)
    gen = torch.Generator().manual_seed(config.seed)
    step, stop_requested = 0, False
    seen_total, seconds_total = 0.0, 0.0  # for the run's mean throughput
    start_loss = math.log(max(data.num_classes, 2))  # chance: cross-entropy of a uniform guess; raised by the first
    seen_steady, seconds_steady = 0.0, 0.0  # the same after the first epoch: the steady rate

    recorder = None
    if snapshot_dir is not None and dist.is_main:
        recorder = SnapshotRecorder(
            snapshot_dir, val_x=val_x, val_y=val_y, val_inputs=val_inputs, class_names=data.class_names
        )
    # The validation confusion matrix of a snapshot after an epoch: counted during the epoch's own evaluation in
    # one process. Under data parallelism rank 0 counts it alone (an extra collective on one rank would hang).
    count_cm = recorder is not None and not dist.active
    epoch_cm = None

    snap_spent = [0.0]  # seconds spent recording snapshots

    def snapshot(at_step: int, at_epoch: float, confusion: torch.Tensor | None = None, *, keep: bool = False) -> None:
        # The plain module, never the DDP wrapper: its extra forward/backward must not start a collective.
        if recorder is None or recorder.full:
            return
        # A time share, not a count: a snapshot costs a 9-second run (1,600 shapes) what it costs a
        # long one: 4.6% of such a run with every one taken. Past SNAPSHOT_SHARE of the time trained so far,
        # one is left out; the first (the untrained net) and the last epoch's are always taken.
        started = time.perf_counter()
        if not keep and snap_spent[0] > snapshots_mod.SNAPSHOT_SHARE * (started - t0 - snap_spent[0]):
            recorder.thinned += 1
            return
        entry = recorder.record(dist_util.unwrap(net), step=at_step, epoch=at_epoch, confusion=confusion)
        if entry is not None:  # timed too: the run process draws the snapshot's TensorBoard images on this event
            emit_main({"type": "snapshot", "time": round(time.perf_counter() - t0, 3), **entry})
        snap_spent[0] += time.perf_counter() - started

    snapshot(0, 0.0, keep=True)

    def finish(status: str, reason: str) -> TrainResult:
        result.status, result.reason = status, reason
        result.seconds = time.perf_counter() - t0
        result.model = dist_util.unwrap(net).eval()
        result.val_inputs = val_inputs
        if checkpoint_path and dist.is_main and status != "diverged":
            save_checkpoint(result.model.state_dict(), checkpoint_path)
        emit_main({"type": "end", "time": round(result.seconds, 3), "status": status, "reason": reason})
        return result

    for epoch in range(1, config.epochs + 1):
        net.train()
        perm = torch.randperm(n, generator=gen).to(device)
        epoch_stats = torch.zeros(3, dtype=acc_dtype, device=device)  # loss sum, correct, count
        window = torch.zeros(2, dtype=acc_dtype, device=device)  # loss sum, count since the last step event
        t_epoch = time.perf_counter()
        for b in range(steps_per_epoch):
            idx = perm[b * bs : (b + 1) * bs]  # the global batch: the same on every rank
            shard = idx[dist.rank :: world]  # (B / world,) this rank's share
            xb, yb = train_inputs(train_x[shard]), train_y[shard]
            target = yb
            if mix is not None:  # MixUp/CutMix: mixed images, soft labels (b, classes)
                xb, target = mix(xb, yb)
                yb = target.argmax(1)  # the dominant label, for the running accuracy
            with _autocast(device, config.amp):
                logits = forward(xb)  # (b, classes)
            loss_sum = F.cross_entropy(logits.float(), target, reduction="sum", label_smoothing=config.label_smoothing)
            # DDP averages gradients over ranks, so scale by world/global-batch: the mean gradient equals
            # the one-process gradient of the whole global batch, whatever the shard sizes.
            opt.zero_grad(set_to_none=True)
            (loss_sum * (world / len(idx))).backward()
            lr_now = opt.param_groups[0]["lr"]  # the rate this step used (the scheduler moves it on below)
            opt.step()
            sched.step()
            step += 1
            if recorder is not None and step in EARLY_STEPS and b != steps_per_epoch - 1:  # else at the epoch's end
                snapshot(step, epoch - 1 + (b + 1) / steps_per_epoch)
            with torch.no_grad():
                epoch_stats[0] += loss_sum.detach()
                epoch_stats[1] += (logits.argmax(1) == yb).sum()
                epoch_stats[2] += len(shard)
                window[0] += loss_sum.detach()
                window[1] += len(shard)
            if not dist.active:
                stop_requested = stop_requested or should_stop()
            if step % log_every == 0 or b == steps_per_epoch - 1:
                flags = torch.tensor([window[0].item(), window[1].item(), float(should_stop())], dtype=torch.float64)
                flags = dist_util.all_sum(flags.to(device) if device.type == "cuda" else flags, dist).cpu()
                loss = float(flags[0] / max(float(flags[1]), 1.0))
                window.zero_()
                if diverged(loss, start_loss):
                    return finish("diverged", divergence_reason(loss, step, lr_now, start_loss))
                if step <= log_every:
                    start_loss = max(start_loss, loss)  # the first window (within 10x chance): where this run starts
                emit_main(
                    {
                        "type": "step",
                        "time": round(time.perf_counter() - t0, 3),
                        "step": step,
                        "epoch": round(epoch - 1 + (b + 1) / steps_per_epoch, 4),
                        "loss": loss,
                        "lr": lr_now,
                    }
                )
                stop_requested = stop_requested or bool(flags[2] > 0)
            if stop_requested:
                return finish(
                    "stopped",
                    f"Stopped on request during epoch {epoch} after {step} steps "
                    f"({epoch - 1} full epoch{'s' if epoch != 2 else ''} done).",
                )
        if device.type == "cuda":
            torch.cuda.synchronize(device)  # kernels run ahead of Python: wait before reading the clock
        train_seconds = time.perf_counter() - t_epoch
        dist_util.all_sum(epoch_stats, dist)
        train_loss = float(epoch_stats[0] / epoch_stats[2])
        if diverged(train_loss, start_loss):
            return finish("diverged", divergence_reason(train_loss, step, lr_now, start_loss))
        if count_cm:
            epoch_cm = torch.zeros(data.num_classes, data.num_classes, dtype=torch.int64, device=device)
        val_loss, val_acc = evaluate_loss(
            forward, val_x, val_y, val_inputs, amp=config.amp, dist=dist, confusion=epoch_cm
        )
        ips = float(epoch_stats[2]) / max(train_seconds, 1e-9)
        event = {
            "type": "epoch",
            "time": round(time.perf_counter() - t0, 3),
            "epoch": epoch,
            "step": step,
            "train_loss": train_loss,
            "train_accuracy": float(epoch_stats[1] / epoch_stats[2]),
            "val_loss": val_loss,
            "val_accuracy": val_acc,
            "lr": lr_now,
            "images_per_second": round(ips, 1),
            "epoch_seconds": round(train_seconds, 3),
        }
        result.history.append(event)
        result.epochs = epoch
        seen_total, seconds_total = seen_total + float(epoch_stats[2]), seconds_total + train_seconds
        result.images_per_second_mean = seen_total / max(seconds_total, 1e-9)
        if epoch > 1:
            seen_steady, seconds_steady = seen_steady + float(epoch_stats[2]), seconds_steady + train_seconds
        result.images_per_second = (
            seen_steady / max(seconds_steady, 1e-9) if seen_steady else result.images_per_second_mean
        )
        if checkpoint_path and dist.is_main:
            # Before the event: an epoch event means its weights are on disk, so whoever reads the
            # event (the page, a test that kills the run right then) can load them.
            save_checkpoint(dist_util.unwrap(net).state_dict(), checkpoint_path)
        emit_main(event)
        if recorder is not None and not recorder.full:
            full = epoch_cm if count_cm else recorder.confusion(dist_util.unwrap(net), limit=None)
            snapshot(step, float(epoch), full, keep=epoch == config.epochs)
        if diverged(val_loss, start_loss):
            return finish("diverged", divergence_reason(val_loss, step, lr_now, start_loss))
    return finish("completed", "")
