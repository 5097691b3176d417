"""Optimisers (with per-group learning rates) and learning-rate schedules for the training loop.

Checkpoints are in ``playground.training.checkpoints``; models come from ``playground.training.models``
(the zoo and transfer learning), inputs and pipelines from ``playground.training.inputs``.
"""

from __future__ import annotations

import math

import torch

SCHEDULES = ("constant", "step", "cosine", "onecycle")


def lr_factor(schedule: str, step: int, total: int) -> float:
    """Learning-rate multiplier at ``step`` of ``total``: the four schedules the page offers.

    ``step``: x0.1 at 50% and again at 75% of training. ``cosine``: from 1 down to 0.
    ``onecycle``: linear warm-up from 1/25 over the first 30%, then cosine down to 1/25,000.
    """
    t = min(max(step / max(total, 1), 0.0), 1.0)
    if schedule == "constant":
        return 1.0
    if schedule == "step":
        return 0.1 ** ((t >= 0.5) + (t >= 0.75))
    if schedule == "cosine":
        return 0.5 * (1 + math.cos(math.pi * t))
    if schedule == "onecycle":
        if t < 0.3:
            return 1 / 25 + (1 - 1 / 25) * t / 0.3
        return 1 / 25_000 + (1 - 1 / 25_000) * 0.5 * (1 + math.cos(math.pi * (t - 0.3) / 0.7))
    raise ValueError(f"Unknown schedule {schedule!r}. Choose one of: {', '.join(SCHEDULES)}.")


OPTIMIZERS = ("sgd", "adam", "adamw")


def make_optimizer(config, params) -> torch.optim.Optimizer:
    """SGD (momentum, Nesterov), Adam or AdamW with the config's learning rate and weight decay.

    ``params``: parameters, or param groups (dicts with their own ``lr``, as
    ``TransferModel.param_groups`` gives) -- the backbone then learns at its own, lower rate.
    """
    if config.optimizer == "sgd":
        nesterov = bool(config.nesterov and config.momentum > 0)  # torch refuses Nesterov without momentum
        return torch.optim.SGD(
            params, lr=config.lr, momentum=config.momentum, nesterov=nesterov, weight_decay=config.weight_decay
        )
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
