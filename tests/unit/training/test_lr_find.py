"""The learning-rate finder: an exponential sweep, a smoothed loss, and a suggestion that trains well."""

from __future__ import annotations

import math

import pytest
import torch

from playground.data.datasets import load_dataset
from playground.training.loop import TrainConfig, train
from playground.training.lr_find import lr_find, suggest


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def test_suggest_finds_the_steepest_descent_of_a_known_curve():
    lrs = [10 ** (-6 + 6 * i / 99) for i in range(100)]
    # A loss that falls fastest at lr = 1e-2 (a logistic step in log10 lr), then blows up after 1e-1.
    losses = [2.0 - 1.5 / (1 + math.exp(-4 * (math.log10(v) + 2))) + max(0.0, math.log10(v) + 1) ** 2 for v in lrs]
    assert suggest(lrs, losses) == pytest.approx(1e-2, rel=0.1)
    assert suggest(lrs[:3], losses[:3]) is None


def test_the_sweep_is_exponential_and_its_suggestion_trains_better_than_the_start(digits):
    config = TrainConfig(dataset="digits", device="cpu", batch_size=64, optimizer="sgd")
    found = lr_find(config, data=digits, steps=60)
    assert not found.stopped_early and len(found.lrs) == 60
    assert torch.allclose(torch.tensor(found.lrs, dtype=torch.float64), torch.logspace(-7, 1, 60, dtype=torch.float64))
    assert 1e-3 < found.suggestion < 1.0  # SGD with momentum on a small CNN
    assert found.losses[0] > min(found.losses)  # the loss came down somewhere in the sweep
    losses = {}
    for lr in (1e-7, found.suggestion):
        r = train(TrainConfig(dataset="digits", device="cpu", batch_size=64, epochs=1, lr=lr), data=digits)
        losses[lr] = r.final("val_loss")
    assert losses[found.suggestion] < losses[1e-7] - 0.5


def test_adam_gets_a_lower_rate_than_sgd_and_a_blow_up_ends_the_sweep(digits):
    sgd = lr_find(TrainConfig(dataset="digits", device="cpu", batch_size=64), data=digits, steps=60)
    adam = lr_find(TrainConfig(dataset="digits", device="cpu", batch_size=64, optimizer="adam"), data=digits, steps=60)
    assert adam.suggestion < sgd.suggestion
    wild = lr_find(
        TrainConfig(dataset="digits", device="cpu", batch_size=64, optimizer="adam"), data=digits, steps=60, end_lr=1e4
    )
    assert wild.stopped_early and len(wild.lrs) < 60 and wild.lrs[-1] < 1e4


@pytest.mark.parametrize(
    "kw, message", [({"steps": 2}, "A sweep takes 5 to 500 steps"), ({"start_lr": 1.0, "end_lr": 0.1}, "must go up")]
)
def test_bad_sweeps_are_refused_with_a_sentence(kw, message, digits):
    with pytest.raises(ValueError, match=message):
        lr_find(TrainConfig(dataset="digits", device="cpu"), data=digits, **kw)
