"""The augmentation experiment: the pair of runs, how it is recognised, and the effect it shows (real training)."""

from dataclasses import replace

import pytest

from playground.labs.augment_experiment import (
    PAIR_BATCH,
    PAIR_IMAGES,
    PAIR_MIN_EPOCHS,
    Fit,
    augmentation_pair,
    can_pair,
    gap_sentence,
    is_pair,
    last_fit,
)
from playground.training.loop import TrainConfig, train


def test_the_pair_differs_only_in_the_training_pipeline_and_runs_on_a_small_set():
    cfg = TrainConfig(augment="cifar", seed=3, epochs=5, batch_size=128, lr=0.8)
    with_aug, without = augmentation_pair(cfg)
    assert with_aug.augment == "cifar" and without.augment == "none"
    assert replace(with_aug, augment="none") == without
    assert with_aug.dataset_size == PAIR_IMAGES and with_aug.epochs == PAIR_MIN_EPOCHS
    assert with_aug.batch_size == PAIR_BATCH and with_aug.lr == pytest.approx(0.8 * PAIR_BATCH / 128)
    assert with_aug.seed == 3  # same initial weights and batch order in both
    # A smaller set, more epochs or a smaller batch the user chose are kept.
    mine = augmentation_pair(replace(cfg, dataset_size=300, epochs=30, batch_size=16, lr=0.1))[0]
    assert (mine.dataset_size, mine.epochs, mine.batch_size, mine.lr) == (300, 30, 16, 0.1)
    assert is_pair(with_aug.to_dict(), without.to_dict())


def test_only_a_true_pair_is_recognised():
    a, b = (c.to_dict() for c in augmentation_pair(TrainConfig(augment="cifar")))
    assert is_pair(b, a)
    assert not is_pair(a, {**b, "seed": 1})  # another difference: not the experiment
    assert not is_pair(a, {**a, "augment": "autoaugment"})  # two pipelines, neither without
    assert not is_pair(a, a) and not is_pair(a, None)


def test_no_pipeline_no_experiment():
    assert "Pick a training pipeline" in can_pair(TrainConfig(augment="none"))
    assert can_pair(TrainConfig(augment="cifar")) is None


def test_the_sentence_gives_both_gaps_and_what_changed():
    without, with_aug = Fit(12, 0.95, 0.70), Fit(12, 0.85, 0.78)
    text = gap_sentence(with_aug, without, "cifar")
    assert "Without augmentation: validation 70.0%, training 95.0%, a gap of 25.0 points" in text
    assert "With cifar: validation 78.0%, training 85.0%, a gap of 7.0 points" in text
    assert "closed the gap by 18.0 points" in text and "Validation accuracy rose by 8.0 points" in text
    assert "The gap is gone" in gap_sentence(Fit(12, 0.7, 0.72), without, "cifar")
    assert "did not close the gap" in gap_sentence(Fit(12, 0.99, 0.6), without, "cifar")
    assert "both runs have finished an epoch" in gap_sentence(None, without, "cifar")


def test_last_fit_reads_the_last_complete_epoch():
    epochs = [
        {"epoch": 1, "train_accuracy": 0.5, "val_accuracy": 0.4},
        {"epoch": 2, "train_accuracy": 0.6, "val_accuracy": 0.5},
        {"epoch": 3, "val_accuracy": 0.55},  # a damaged line: skipped
    ]
    assert last_fit(epochs) == Fit(2, 0.6, 0.5) and last_fit(epochs).gap == pytest.approx(0.1)
    assert last_fit([]) is None


@pytest.mark.slow
def test_augmentation_closes_the_overfitting_gap_on_a_small_training_set():
    # The article's claim, measured: SimpleCNN on 800 generated shapes learns them by heart without
    # augmentation; the CIFAR pipeline (random crop with padding, flip) closes most of that gap.
    # Both runs train for real, the same seed, on one CPU thread (a few seconds each).
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        fits = {}
        for cfg in augmentation_pair(TrainConfig(augment="cifar", device="cpu")):
            events = []
            train(cfg, emit=events.append)
            fits[cfg.augment] = last_fit([e for e in events if e["type"] == "epoch"])
    finally:
        torch.set_num_threads(threads)
    without, with_aug = fits["none"], fits["cifar"]
    print(
        f"gap without {without.gap:.3f} (val {without.val_accuracy:.3f}), with cifar {with_aug.gap:.3f} "
        f"(val {with_aug.val_accuracy:.3f})"
    )
    assert without.gap > 0.15  # it overfits: what the experiment is for
    assert with_aug.gap < without.gap - 0.1  # and augmentation closes the gap by a clear margin
