"""Skip connections and vanishing gradients, measured.

Train a plain deep network and its residual twin (same layers, same initial
weights, same batches) for a short while and record, at chosen steps, the
gradient norm of every conv/linear layer. Without skip connections the
gradient reaching the first layers of a 32-layer network is many orders of
magnitude smaller than at the top; with them it flows back through the
identity paths (F(x) + x has derivative F'(x) + 1).

The networks are the CIFAR ResNets of He et al. (depth 6n + 2) and their plain
twins from the model zoo. Batch norm is off by default: that is the classic
setting in which gradients vanish; with batch norm on, a deep plain network
shows the opposite pathology (exploding early gradients), also worth seeing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

DEPTHS = tuple(6 * n + 2 for n in range(1, 10))  # 8, 14, ..., 56
# Digits by default: at depth 32 the residual net's loss falls from 2.3 to about 0.5 within 60 steps while the
# plain twin's stays at 2.3 (ln 10, chance), so the loss curves tell the same story as the gradient norms. On
# shapes neither network learns much in so few steps, but the gradient norms differ just as much.
STUDY_DATASETS = ("digits", "shapes")
# What the page offers (its sliders); a shared link is pulled back onto these by clamp_config.
LRS = (0.01, 0.02, 0.05, 0.1, 0.2)
STEP_CHOICES = (10, 20, 30, 40, 60, 80, 100, 150, 200)


@dataclass
class GradFlowConfig:
    """One plain-vs-residual experiment (the page's config object)."""

    depth: int = 32
    steps: int = 60
    batch_size: int = 32
    lr: float = 0.05
    batch_norm: bool = False
    record_steps: list = field(default_factory=lambda: [0, 30, 59])
    samples: int = 1024  # training images drawn from the dataset
    seed: int = 0
    dataset: str = "digits"  # one of STUDY_DATASETS

    def validate(self) -> None:
        if self.dataset not in STUDY_DATASETS:
            raise ValueError(f"Unknown dataset {self.dataset!r}; choose one of {', '.join(STUDY_DATASETS)}.")
        if self.depth not in DEPTHS:
            raise ValueError(f"Depth {self.depth} is not 6n+2; choose one of {', '.join(map(str, DEPTHS))}.")
        if not 1 <= self.steps <= 500:
            raise ValueError("Train for between 1 and 500 steps.")
        if not 1 <= self.batch_size <= 512:
            raise ValueError("The batch size must be between 1 and 512.")
        if not 0 < self.lr <= 10:
            raise ValueError("The learning rate must be above 0 and at most 10.")
        if not 32 <= self.samples <= 10_000:
            raise ValueError("Use between 32 and 10,000 training images.")
        bad = [s for s in self.record_steps if not 0 <= int(s) < self.steps]
        if bad:
            raise ValueError(f"Steps {bad} are outside the run (0 to {self.steps - 1}).")


def clamp_config(cfg: GradFlowConfig) -> tuple[GradFlowConfig, list[str]]:
    """A link's values pulled back to what the page offers, with a sentence for each change."""
    changes: dict = {}
    if cfg.depth not in DEPTHS:
        changes["depth"] = min(DEPTHS, key=lambda d: abs(d - cfg.depth))
    if cfg.dataset not in STUDY_DATASETS:
        changes["dataset"] = GradFlowConfig.dataset
    if cfg.steps not in STEP_CHOICES:
        changes["steps"] = min(STEP_CHOICES, key=lambda s: abs(s - cfg.steps))
    if cfg.lr not in LRS:
        changes["lr"] = min(LRS, key=lambda v: abs(v - cfg.lr))
    steps = changes.get("steps", cfg.steps)
    good = sorted({int(s) for s in cfg.record_steps if isinstance(s, int) and 0 <= s < steps})[:5]
    if good != list(cfg.record_steps):
        changes["record_steps"] = good or [0, steps // 2, steps - 1]
    if not 0 <= cfg.seed <= 2**31 - 1:
        changes["seed"] = 0
    problems = [f"The link's {k} = {getattr(cfg, k)!r} is not available; using {v!r}." for k, v in changes.items()]
    return replace(cfg, **changes), problems


@dataclass
class GradFlowResult:
    """Loss curves and per-layer gradient norms for both networks."""

    layer_names: list[str]
    losses: dict[str, list[float]]  # "plain" / "residual" -> loss at every step
    grad_norms: dict[str, dict[int, list[float]]]  # network -> step -> norm per layer (input side first)

    def first_to_last(self, network: str, step: int) -> float:
        """Gradient norm of the first layer divided by that of the last: ~1 is healthy, tiny is vanishing."""
        norms = self.grad_norms[network][step]
        return norms[0] / norms[-1] if norms[-1] > 0 else math.inf


def weight_layers(model: nn.Module) -> list[tuple[str, nn.Parameter]]:
    """The conv and linear weights, input side first (the order the forward pass meets them)."""
    return [
        (n[: -len(".weight")], p) for n, p in model.named_parameters() if n.endswith(".weight") and p.ndim in (2, 4)
    ]


def layer_grad_norms(model: nn.Module) -> list[float]:
    """L2 norm of each conv/linear weight's gradient (0 where no gradient arrived)."""
    return [float(p.grad.norm()) if p.grad is not None else 0.0 for _, p in weight_layers(model)]


def build_pair(cfg: GradFlowConfig, num_classes: int, in_channels: int) -> dict[str, nn.Module]:
    """The residual network and its plain twin, starting from identical weights."""
    from playground.models.zoo import build_model

    n = (cfg.depth - 2) // 6
    knobs = dict(num_classes=num_classes, in_channels=in_channels, blocks=[n, n, n], batch_norm=cfg.batch_norm)
    torch.manual_seed(cfg.seed)
    residual = build_model("resnet20", **knobs)
    plain = build_model("plain20", **knobs)
    # Option-A shortcuts have no parameters, so the twins share every name and shape.
    plain.load_state_dict(residual.state_dict(), strict=True)
    return {"plain": plain, "residual": residual}


def study_data(cfg: GradFlowConfig) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """The study's training images, standardised per channel: ``(images (N, C, H, W) float, labels (N,), classes)``.

    At most ``cfg.samples`` images of the dataset's training split, seeded by ``cfg.seed``.
    """
    from playground.data.datasets import load_dataset

    if cfg.dataset not in STUDY_DATASETS:
        raise ValueError(f"Unknown dataset {cfg.dataset!r}; choose one of {', '.join(STUDY_DATASETS)}.")
    # Shapes are generated: ask for enough that the training split (80%, rounded per class) holds ``samples``.
    size = math.ceil(cfg.samples / 0.8) + 20 if cfg.dataset == "shapes" else None
    data = load_dataset(cfg.dataset, size=size, seed=cfg.seed)
    x, y = data.train_x[: cfg.samples], data.train_y[: cfg.samples]
    mean, std = data.channel_stats()
    images = (x.float().div(255) - torch.tensor(mean).view(1, -1, 1, 1)) / torch.tensor(std).view(1, -1, 1, 1)
    return images, y, list(data.class_names)


def run_study(
    cfg: GradFlowConfig,
    images: torch.Tensor,
    labels: torch.Tensor,
    num_classes: int,
    on_step: Callable[[int, int], None] | None = None,
) -> GradFlowResult:
    """Train both networks on the same batches; ``images`` (N, C, H, W) float, ``labels`` (N,).

    ``on_step(done, total)`` reports progress (for a progress bar).
    """
    cfg.validate()
    models = build_pair(cfg, num_classes, images.shape[1])
    opts = {k: torch.optim.SGD(m.parameters(), lr=cfg.lr, momentum=0.9) for k, m in models.items()}
    gen = torch.Generator().manual_seed(cfg.seed)
    order = [torch.randint(0, images.shape[0], (cfg.batch_size,), generator=gen) for _ in range(cfg.steps)]
    record = {int(s) for s in cfg.record_steps}
    losses: dict[str, list[float]] = {k: [] for k in models}
    norms: dict[str, dict[int, list[float]]] = {k: {} for k in models}
    torch.set_flush_denormal(True)  # vanishing gradients are denormal floats: very slow on CPUs
    try:
        for step, idx in enumerate(order):
            x, y = images[idx], labels[idx]
            for name, model in models.items():
                model.train()
                opts[name].zero_grad(set_to_none=True)
                loss = F.cross_entropy(model(x), y)
                loss.backward()
                if step in record:
                    norms[name][step] = layer_grad_norms(model)
                # Clip so a plain network's exploding gradients (batch norm on) cannot wreck the run.
                nn.utils.clip_grad_norm_(model.parameters(), 5.0)
                opts[name].step()
                value = loss.item()
                losses[name].append(value if math.isfinite(value) else float("nan"))
            if on_step:
                on_step(step + 1, cfg.steps)
    finally:
        torch.set_flush_denormal(False)
    names = [n for n, _ in weight_layers(models["plain"])]
    return GradFlowResult(names, losses, norms)
