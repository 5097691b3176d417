"""Optimisers and learning-rate schedules, each a registry of named builders.

``make_optimizer(config, params)`` builds the optimiser ``config.optimizer`` names, and
``lr_factor(schedule, step, total)`` is the multiplier a ``LambdaLR`` applies at ``step``. An unknown
name raises ``ValueError`` listing the choices. ``OPTIMIZERS`` and ``SCHEDULES`` are the names, in
menu order, for forms and the CLI.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import torch

from playground.common.registry import Registry

# --------------------------------------------------------------------------- optimisers

# name -> builder(config, params): ``config`` has ``lr``, ``weight_decay``, ``momentum`` and ``nesterov``
# (a TrainConfig); ``params`` are parameters or param groups.
OPTIMIZER_REGISTRY: Registry[Callable[[Any, Any], torch.optim.Optimizer]] = Registry("optimizer")


@OPTIMIZER_REGISTRY.register("sgd")
def sgd(config, params) -> torch.optim.SGD:
    """SGD with the config's momentum and, when there is momentum, Nesterov's variant if asked."""
    nesterov = bool(config.nesterov and config.momentum > 0)  # torch refuses Nesterov without momentum
    return torch.optim.SGD(
        params, lr=config.lr, momentum=config.momentum, nesterov=nesterov, weight_decay=config.weight_decay
    )


@OPTIMIZER_REGISTRY.register("adam")
def adam(config, params) -> torch.optim.Adam:
    """Adam; weight decay is the L2 term added to the gradient."""
    return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)


@OPTIMIZER_REGISTRY.register("adamw")
def adamw(config, params) -> torch.optim.AdamW:
    """AdamW: Adam with decoupled weight decay."""
    return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)


OPTIMIZERS = tuple(OPTIMIZER_REGISTRY.names())


def make_optimizer(config, params) -> torch.optim.Optimizer:
    """The optimiser ``config.optimizer`` names, with the config's learning rate and weight decay.

    ``params``: parameters, or param groups (dicts with their own ``lr``, as
    ``TransferModel.param_groups`` gives) -- the backbone then learns at its own, lower rate.
    """
    return OPTIMIZER_REGISTRY.get(config.optimizer)(config, params)


# --------------------------------------------------------------------------- schedules

# name -> factor(step, total): the learning-rate multiplier at ``step`` of ``total``.
SCHEDULE_REGISTRY: Registry[Callable[[int, int], float]] = Registry("schedule")


def _progress(step: int, total: int) -> float:
    """How far through training ``step`` is, from 0 to 1 (clamped, so a step past the end is the end)."""
    return min(max(step / max(total, 1), 0.0), 1.0)


@SCHEDULE_REGISTRY.register("constant")
def constant(step: int, total: int) -> float:
    """The same learning rate throughout."""
    return 1.0


@SCHEDULE_REGISTRY.register("step")
def step_decay(step: int, total: int) -> float:
    """x0.1 at 50% and again at 75% of training."""
    t = _progress(step, total)
    return 0.1 ** ((t >= 0.5) + (t >= 0.75))


@SCHEDULE_REGISTRY.register("cosine")
def cosine(step: int, total: int) -> float:
    """Half a cosine from 1 down to 0."""
    return 0.5 * (1 + math.cos(math.pi * _progress(step, total)))


@SCHEDULE_REGISTRY.register("onecycle")
def onecycle(step: int, total: int) -> float:
    """Linear warm-up from 1/25 over the first 30%, then cosine down to 1/25,000."""
    t = _progress(step, total)
    if t < 0.3:
        return 1 / 25 + (1 - 1 / 25) * t / 0.3
    return 1 / 25_000 + (1 - 1 / 25_000) * 0.5 * (1 + math.cos(math.pi * (t - 0.3) / 0.7))


SCHEDULES = tuple(SCHEDULE_REGISTRY.names())


def lr_factor(schedule: str, step: int, total: int) -> float:
    """Learning-rate multiplier at ``step`` of ``total`` under the schedule named ``schedule``."""
    return SCHEDULE_REGISTRY.get(schedule)(step, total)
