"""A run whose loss explodes without reaching NaN ends "diverged" with a sentence, not "completed"."""

from __future__ import annotations

import math

import pytest

from playground.training.loop import DIVERGE_FACTOR, diverged, divergence_reason, train
from tests.unit.training.test_loop import quick


@pytest.fixture(scope="module")
def digits():
    from playground.training.loop import load_data

    return load_data(quick())


@pytest.mark.parametrize(
    "setup",
    [dict(optimizer="sgd", lr=10.0, schedule="constant"), dict(optimizer="adam", lr=1e6, schedule="constant")],
    ids=["sgd-lr-10", "adam-lr-1e6"],
)
def test_an_exploding_but_finite_loss_is_divergence(digits, setup):
    events = []
    result = train(quick(epochs=3, **setup), data=digits, emit=events.append)
    assert result.status == "diverged", [e.get("loss") for e in events if e["type"] == "step"]
    assert "times its starting" in result.reason or "became" in result.reason
    assert events[-1]["type"] == "end" and events[-1]["status"] == "diverged"


def test_a_healthy_run_is_not_divergence(digits):
    result = train(quick(epochs=2), data=digits)
    assert result.status == "completed"


def test_the_rule_and_its_sentence():
    chance = math.log(10)
    assert (
        not diverged(2.0, chance) and diverged(float("nan"), chance) and diverged(DIVERGE_FACTOR * chance + 1, chance)
    )
    reason = divergence_reason(327.0, 40, 10.0, chance)
    assert reason.startswith("The loss grew to 327, 142 times its starting 2.3, at step 40 (learning rate 10)")
