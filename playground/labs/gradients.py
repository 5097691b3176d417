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
from dataclasses import dataclass, replace
from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from playground.common import settings
from playground.common.settings import setting

DEPTHS = tuple(6 * n + 2 for n in range(1, 10))  # 8, 14, ..., 56
# Digits by default: at depth 32 the residual net's loss falls from 2.3 to about 0.5 within 60 steps while the
# plain twin's stays at 2.3 (ln 10, chance), so the loss curves tell the same story as the gradient norms. On
# shapes neither network learns much in so few steps, but the gradient norms differ just as much.
STUDY_DATASETS = ("digits", "shapes")
# What the page offers (its sliders); a shared link is pulled back onto these.
LRS = (0.01, 0.02, 0.05, 0.1, 0.2)
STEP_CHOICES = (10, 20, 30, 40, 60, 80, 100, 150, 200)


@dataclass
class GradFlowConfig:
    """One plain-vs-residual experiment (the page's config object); each field's ``setting`` says what runs
    (``validate``) and what the page offers (``page_choices``: its sliders; a link is pulled onto them)."""

    depth: int = setting(32, choices=DEPTHS, explain="Depth {value} is not 6n+2; choose one of {choices}.")
    steps: int = setting(60, lo=1, hi=500, page_choices=STEP_CHOICES, label="the number of training steps")
    batch_size: int = setting(32, lo=1, hi=512, label="the batch size")
    lr: float = setting(0.05, lo=0.0, lo_open=True, hi=10.0, page_choices=LRS, label="the learning rate")
    batch_norm: bool = setting(False)
    record_steps: list = setting(factory=lambda: [0, 30, 59], help="the steps whose gradients are kept (at most 5)")
    samples: int = setting(1024, lo=32, hi=10_000, label="the number of training images")  # drawn from the dataset
    seed: int = setting(0, page_lo=0, page_hi=2**31 - 1, reset=True)
    dataset: str = setting("digits", choices=STUDY_DATASETS)

    def validate(self) -> None:
        """Raise ValueError with a sentence for the first setting a study cannot run with."""
        settings.validate(self)
        bad = [s for s in self.record_steps if not 0 <= int(s) < self.steps]
        if bad:
            raise ValueError(f"Steps {bad} are outside the run (0 to {self.steps - 1}).")


def clamp_config(cfg: GradFlowConfig) -> tuple[GradFlowConfig, list[str]]:
    """A link's values pulled back to what the page offers, with a sentence for each change.

    The fields' settings do the ranges and choices; the recorded steps depend on ``steps``.
    """
    cfg, problems = settings.fit(cfg)
    good = sorted({int(s) for s in cfg.record_steps if isinstance(s, int) and 0 <= s < cfg.steps})[:5]
    if good != list(cfg.record_steps):
        new = good or [0, cfg.steps // 2, cfg.steps - 1]
        problems.append(f"The link's record_steps = {cfg.record_steps!r} is not available; using {new!r}.")
        cfg = replace(cfg, record_steps=new)
    return cfg, problems


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

    def verdict(self, network: str, step: int | None = None) -> str:
        """What the chart shows for ``network`` at ``step`` (default: the last recorded one): ``gradient_verdict``."""
        steps = self.grad_norms[network]
        if not steps:
            return "unknown"
        return gradient_verdict(self.first_to_last(network, max(steps) if step is None else step))


VANISH_BELOW, EXPLODE_ABOVE = 0.1, 10.0  # a first / last ratio an order of magnitude away from 1


def gradient_verdict(ratio: float) -> str:
    """``vanishing`` (first layer's gradient under a tenth of the last's), ``exploding`` (over ten times it),
    else ``neither``: the words the page's explanation follows."""
    if not math.isfinite(ratio) or ratio > EXPLODE_ABOVE:
        return "exploding"
    return "vanishing" if ratio < VANISH_BELOW else "neither"


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
