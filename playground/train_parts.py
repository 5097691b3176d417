"""Building blocks of a training run: model and pipeline resolution, schedules, optimizers,
input preparation and atomic checkpoints. ``playground.train`` re-exports all of it.

``resolve_model`` and ``resolve_augment`` are the only places that reach into the model zoo
(issue 3) and the augmentation modules (issue 4).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn as nn

SCHEDULES = ("constant", "step", "cosine", "onecycle")


# ---------------------------------------------------------------------------------------------
# Models and pipelines: the one place that reaches into the zoo and augmentation modules.


class SimpleCNN(nn.Module):
    """The article's SimpleCNN (three conv-BN-ReLU stages, global average pooling, one linear layer)."""

    def __init__(self, num_classes: int = 10, in_channels: int = 3):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 32, kernel_size=3, padding=1), nn.BatchNorm2d(32), nn.ReLU(inplace=True),
            nn.MaxPool2d(2, 2),  # 32x32 -> 16x16
            nn.Conv2d(32, 64, kernel_size=3, padding=1), nn.BatchNorm2d(64), nn.ReLU(inplace=True),
            nn.MaxPool2d(2, 2),  # 16x16 -> 8x8
            nn.Conv2d(64, 128, kernel_size=3, padding=1), nn.BatchNorm2d(128), nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d((1, 1)),  # 8x8 -> 1x1
        )
        self.classifier = nn.Linear(128, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)  # (B, 128, 1, 1)
        return self.classifier(x.view(x.size(0), -1))  # (B, num_classes)


def resolve_model(model: Any, *, num_classes: int, in_channels: int, input_size: tuple[int, int]) -> nn.Module:
    """Build the model a config names, fitted to the dataset's classes, channels and image size."""
    if isinstance(model, nn.Module):
        return model
    try:
        from playground.zoo import build_model
    except ImportError:
        # PHASE2: the model zoo (issue 3) is not merged yet; until it is, only the article's SimpleCNN
        # is known. Delete this fallback once playground.zoo exists.
        if model in ("simplecnn", "SimpleCNN"):
            return SimpleCNN(num_classes=num_classes, in_channels=in_channels)
        raise ValueError(f"Unknown model {model!r}. Choose one of: simplecnn.") from None
    return build_model(model, num_classes=num_classes, in_channels=in_channels, input_size=input_size)


def check_model(model: Any) -> None:
    """Raise ValueError listing the choices when ``model`` names no known model (cheap: builds nothing)."""
    if isinstance(model, nn.Module):
        return
    try:
        from playground.zoo import model_spec
    except ImportError:
        # PHASE2: without the zoo (issue 3) only the article's SimpleCNN is known.
        if model not in ("simplecnn", "SimpleCNN"):
            raise ValueError(f"Unknown model {model!r}. Choose one of: simplecnn.") from None
        return
    model_spec(model)


def resolve_augment(pipeline: Any, device: torch.device) -> tuple[Callable | None, Callable | None]:
    """``(per_sample, batch)`` callables for a pipeline; ``(None, None)`` for no augmentation.

    ``batch`` (preferred) maps a uint8 ``(B, C, H, W)`` batch on ``device`` to a float or uint8 batch;
    ``per_sample`` maps one uint8 ``(C, H, W)`` CPU tensor to a float ``(C, H, W)`` tensor.
    """
    if pipeline in (None, "", "none"):
        return None, None
    try:
        from playground.augment import build_transform, load_pipeline
        from playground.augment_batch import batch_augmenter
    except ImportError:
        # PHASE2: the augmentation modules (issue 4) are not merged yet; only "none" is known until then.
        raise ValueError(f"Unknown augmentation pipeline {pipeline!r}. Choose one of: none.") from None
    spec = load_pipeline(pipeline)
    batch = batch_augmenter(spec, device)
    return (None, batch) if batch is not None else (build_transform(spec), None)


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


def make_optimizer(config, params) -> torch.optim.Optimizer:
    """SGD (momentum, Nesterov), Adam or AdamW with the config's learning rate and weight decay."""
    if config.optimizer == "sgd":
        nesterov = bool(config.nesterov and config.momentum > 0)  # torch refuses Nesterov without momentum
        return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, nesterov=nesterov,
                               weight_decay=config.weight_decay)
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)


class Inputs:
    """uint8 batches -> model-ready float batches on the device: augment, scale, normalise, layout."""

    def __init__(self, mean: list[float], std: list[float], device: torch.device, *, normalize: bool,
                 channels_last: bool, per_sample: Callable | None = None, batch: Callable | None = None):
        self.mean = torch.tensor(mean, device=device).view(1, -1, 1, 1)  # (1, C, 1, 1)
        self.std = torch.tensor(std, device=device).view(1, -1, 1, 1)
        self.device, self.normalize, self.channels_last = device, normalize, channels_last
        self.per_sample, self.batch = per_sample, batch

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """uint8 ``(B, C, H, W)`` on the device -> float32 ``(B, C, H, W)``."""
        if self.batch is not None:
            x = self.batch(x)
        elif self.per_sample is not None:
            x = torch.stack([self.per_sample(img) for img in x.cpu()]).to(self.device)
        if x.dtype == torch.uint8:
            x = x.float().div_(255)  # 0..255 -> 0..1 (a pipeline may already have returned floats)
        if self.normalize:
            x = (x - self.mean) / self.std  # the caller turns this off when the pipeline normalises itself
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x


def save_checkpoint(state: dict, path: str | Path) -> None:
    """Write a state_dict atomically: a temporary file in the same folder, then ``os.replace``."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    cpu = {k: v.detach().to("cpu").contiguous() if torch.is_tensor(v) else v for k, v in state.items()}
    torch.save(cpu, tmp)
    os.replace(tmp, path)  # readers see the old file or the new one, never half of one


def load_checkpoint(path: str | Path) -> dict:
    """Read a state_dict saved by ``save_checkpoint`` (or uploaded): ``weights_only=True`` runs no code."""
    return torch.load(Path(path), map_location="cpu", weights_only=True)


def divergence_reason(loss: float, step: int, lr: float) -> str:
    """The sentence a diverged run ends with."""
    what = "NaN" if math.isnan(loss) else "infinite"
    return (f"The loss became {what} at step {step} (learning rate {lr:.3g}): training diverged, so it was stopped. "
            "Try a learning rate 3-10 times lower, a warm-up schedule such as one-cycle, or gradient-friendly "
            "settings (batch normalisation, a smaller batch).")
