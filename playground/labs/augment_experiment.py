"""The augmentation experiment: the same run twice, with and without a training pipeline.

The article says augmentation makes a network robust: on a small training set a network learns
its images by heart (training accuracy near 100%, validation far behind), and augmentation
closes that gap. ``augmentation_pair`` turns the page's setup into the two runs that show it,
``is_pair`` recognises them among any two compared runs, and ``fits``/``gap_sentence`` say
what happened in plain numbers (validation accuracy and the train-validation gap, both runs).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from playground.training.loop import TrainConfig

# A small training set is where augmentation shows: with 12,000 shapes SimpleCNN barely overfits,
# with 1,000 it reaches ~100% training accuracy while validation lags by 20-30 points (the test holds it).
PAIR_IMAGES = 1000
PAIR_MIN_EPOCHS = 12  # overfitting needs time to appear: at 5 epochs both runs are still learning
# 800 training images in batches of 128 are 7 steps an epoch: too few to learn anything in 12 epochs
# (SimpleCNN on shapes stayed at 24% training accuracy). Batches of 32, with the rate scaled down in
# proportion (the linear scaling rule, 0.8 -> 0.2 for the default), learn the set by heart.
PAIR_BATCH = 32
NO_AUGMENT = "none"


def can_pair(cfg: TrainConfig) -> str | None:
    """None when the experiment can run on this setup, else the sentence that says why not."""
    if cfg.augment in (NO_AUGMENT, "", None):
        return "Pick a training pipeline first (e.g. cifar): the experiment trains with and without it."
    return None


def augmentation_pair(cfg: TrainConfig) -> tuple[TrainConfig, TrainConfig]:
    """(with the pipeline, without it): the same model, data, seed and schedule on a small training set."""
    size = min(cfg.dataset_size, PAIR_IMAGES) if cfg.dataset_size else PAIR_IMAGES
    batch = min(cfg.batch_size, PAIR_BATCH)
    lr = cfg.lr * batch / cfg.batch_size
    base = replace(cfg, dataset_size=size, epochs=max(cfg.epochs, PAIR_MIN_EPOCHS), batch_size=batch, lr=lr)
    return base, replace(base, augment=NO_AUGMENT)


def is_pair(a: dict, b: dict) -> bool:
    """Whether two run configs (as saved in the run folders) differ only in their training pipeline, one without."""
    if not isinstance(a, dict) or not isinstance(b, dict):
        return False
    keys = set(a) | set(b)
    differ = {k for k in keys if a.get(k) != b.get(k)}
    return differ == {"augment"} and NO_AUGMENT in (a.get("augment"), b.get("augment"))


@dataclass(frozen=True)
class Fit:
    """Where one run ended: training and validation accuracy of its last epoch (0..1), and their gap."""

    epoch: int
    train_accuracy: float
    val_accuracy: float

    @property
    def gap(self) -> float:
        """Train minus validation accuracy: how much of what it learned does not carry to new images."""
        return self.train_accuracy - self.val_accuracy


def last_fit(epochs: list[dict]) -> Fit | None:
    """The last epoch event's fit, or None before the first epoch ended."""
    for e in reversed(epochs):
        tr, va = e.get("train_accuracy"), e.get("val_accuracy")
        if isinstance(tr, int | float) and isinstance(va, int | float):
            return Fit(int(e.get("epoch", 0)), float(tr), float(va))
    return None


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _points(x: float) -> str:
    return f"{100 * abs(x):.1f} point{'' if round(100 * abs(x), 1) == 1 else 's'}"


def gap_sentence(with_aug: Fit | None, without: Fit | None, pipeline: str) -> str:
    """What the pair shows, in numbers: validation accuracy and the overfitting gap of both runs."""
    if with_aug is None or without is None:
        return "The comparison appears when both runs have finished an epoch."
    parts = [
        f"Without augmentation: validation {_pct(without.val_accuracy)}, training {_pct(without.train_accuracy)}, "
        f"a gap of {_points(without.gap)} (epoch {without.epoch}).",
        f"With {pipeline}: validation {_pct(with_aug.val_accuracy)}, training {_pct(with_aug.train_accuracy)}, "
        f"a gap of {_points(with_aug.gap)} (epoch {with_aug.epoch}).",
    ]
    closed, lifted = without.gap - with_aug.gap, with_aug.val_accuracy - without.val_accuracy
    if with_aug.gap <= 0 < without.gap:
        parts.append(f"The gap is gone: the pipeline closed all {_points(without.gap)} of it.")
    elif closed > 0:
        parts.append(f"The pipeline closed the gap by {_points(closed)}.")
    else:
        parts.append(f"The pipeline did not close the gap here (it {'widened' if closed < 0 else 'kept'} it).")
    if lifted > 0:
        parts.append(f"Validation accuracy rose by {_points(lifted)}.")
    elif lifted < 0:
        parts.append(
            f"Validation accuracy fell by {_points(lifted)}: too strong a pipeline, or too few epochs to learn it."
        )
    return " ".join(parts)
