"""A learning-rate finder, after fastai's ``lr_find`` (Leslie Smith's range test).

A fresh copy of the run's model (the same seed, data, pipelines and optimiser as a run of that
config) trains for a short sweep while the learning rate grows exponentially from ``start_lr`` to
``end_lr``; the loss of every step is smoothed (an exponential moving average, debiased) and the
sweep stops early once the smoothed loss passes ``diverge`` times its minimum. The suggestion is the
rate where the smoothed loss falls fastest (the steepest negative slope against log lr), searched
before the minimum: fastai's "steep" point. The curve is what to look at; the suggestion is a start.
Nothing is written anywhere: the model is thrown away.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F

from playground.common.device import pick_device
from playground.data.datasets import ImageDataset
from playground.training.loop import TrainConfig, _autocast, load_data, prepare
from playground.training.optim import make_optimizer

MAX_STEPS = 500  # a sweep is a look, not a run


@dataclass
class LRFind:
    """The sweep: the rate and the (smoothed and raw) loss of every step, and the suggested rate."""

    lrs: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)  # smoothed
    raw: list[float] = field(default_factory=list)
    suggestion: float | None = None
    min_loss_lr: float | None = None  # where the smoothed loss was lowest
    stopped_early: bool = False  # the loss blew up before end_lr

    def to_dict(self) -> dict:
        return asdict(self)


def suggest(lrs: list[float], losses: list[float]) -> float | None:
    """The rate of the steepest descent of ``losses`` against log lr, before their minimum (None if too few)."""
    if len(lrs) < 5:
        return None
    stop = min(range(len(losses)), key=losses.__getitem__) + 1  # up to and including the minimum
    if stop < 3:
        return None
    logs = [math.log10(v) for v in lrs[:stop]]
    slopes = [(losses[i + 1] - losses[i - 1]) / (logs[i + 1] - logs[i - 1]) for i in range(1, stop - 1)]
    if not slopes:
        return None
    i = min(range(len(slopes)), key=slopes.__getitem__)
    return float(lrs[i + 1])


def lr_find(
    config: TrainConfig,
    *,
    data: ImageDataset | None = None,
    device: torch.device | None = None,
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    steps: int = 100,
    smoothing: float = 0.98,
    diverge: float = 4.0,
) -> LRFind:
    """Sweep the learning rate from ``start_lr`` to ``end_lr`` over at most ``steps`` steps (see the module)."""
    config.validate()
    if not 0 < start_lr < end_lr:
        raise ValueError(f"The sweep must go up from a positive rate: start {start_lr:g}, end {end_lr:g}.")
    if not 5 <= steps <= MAX_STEPS:
        raise ValueError(f"A sweep takes 5 to {MAX_STEPS} steps, not {steps}.")
    device = device or pick_device(config.device)
    data = data or load_data(config)
    setup = prepare(config, data, device)
    net = setup.net.to(device)
    if config.channels_last:
        net = net.to(memory_format=torch.channels_last)
    if hasattr(net, "param_groups"):  # transfer learning: keep the head/backbone ratio while sweeping
        groups = net.param_groups(1.0, getattr(net, "backbone_lr_scale", 1.0))
    else:
        groups = [{"params": [p for p in net.parameters() if p.requires_grad], "lr": 1.0}]
    groups = [g for g in groups if g["params"]]
    if not groups:
        raise ValueError("Every parameter of this model is frozen, so there is no learning rate to find.")
    scale = [g["lr"] for g in groups]
    opt = make_optimizer(config, groups)
    train_x, train_y = data.train_x.to(device), data.train_y.to(device)
    gen = torch.Generator().manual_seed(config.seed)
    n, bs = len(train_y), min(config.batch_size, len(train_y))
    out, avg, best = LRFind(), 0.0, math.inf
    net.train()
    for i in range(steps):
        lr = start_lr * (end_lr / start_lr) ** (i / (steps - 1))
        for g, s in zip(opt.param_groups, scale):
            g["lr"] = lr * s
        idx = torch.randint(0, n, (bs,), generator=gen).to(device)
        xb, target = setup.train_inputs(train_x[idx]), train_y[idx]
        if setup.mix is not None:
            xb, target = setup.mix(xb, target)
        with _autocast(device, config.amp):
            logits = net(xb)
        loss = F.cross_entropy(logits.float(), target, label_smoothing=config.label_smoothing)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        value = float(loss.detach())  # one host sync per step: a sweep is short and needs every value
        if not math.isfinite(value):
            out.stopped_early = True
            break
        avg = smoothing * avg + (1 - smoothing) * value
        smooth = avg / (1 - smoothing ** (i + 1))  # debiased: the early average is not pulled to 0
        out.lrs.append(lr)
        out.losses.append(smooth)
        out.raw.append(value)
        best = min(best, smooth)
        if i > 5 and smooth > diverge * best:
            out.stopped_early = True
            break
    if out.losses:
        out.min_loss_lr = out.lrs[min(range(len(out.losses)), key=out.losses.__getitem__)]
    out.suggestion = suggest(out.lrs, out.losses)
    return out
