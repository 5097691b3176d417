"""Launch's work budget: a run whose training memory passes what one run may take is refused before it starts."""

from __future__ import annotations

from dataclasses import replace

import pytest

from playground.labs.train import max_run_bytes, overview, preflight
from playground.models.summary import summarize
from playground.training.loop import TrainConfig

HUGE = {  # 4.3 G parameters: 16 GiB of float32 weights, accepted with Launch enabled before
    "name": "huge",
    "input": [1, 8, 8],
    "layers": [
        {"type": "flatten"},
        {"type": "linear", "out_features": 65536},
        {"type": "linear", "out_features": 65536},
        {"type": "linear", "out_features": 10},
    ],
}


@pytest.fixture(scope="module")
def digits():
    return overview(TrainConfig(dataset="digits"))


def test_a_4_g_parameter_model_is_refused_with_what_to_lower(digits):
    check = preflight(TrainConfig(dataset="digits", model=HUGE, device="cpu"), digits)
    assert not check.ok
    assert "This run needs about" in check.errors[0] and "weights 16.0 GiB" in check.errors[0]
    assert "lower the batch size, the image size or the model's width or depth" in check.errors[0]
    # the figure is the summary's own estimate (weights + gradients + SGD momentum + activations)
    m = summarize(HUGE, input_shape=(1, 8, 8), num_classes=10).memory(batch_size=64, optimizer="sgd_momentum")
    assert m.total > max_run_bytes() and m.weights == 4 * summarize(HUGE, input_shape=(1, 8, 8)).total_params


def test_the_limit_follows_the_server_setting_and_ordinary_runs_pass(digits, monkeypatch):
    base = TrainConfig(dataset="digits", device="cpu")
    assert preflight(base, digits).ok
    monkeypatch.setenv("PLAYGROUND_MAX_RUN_GIB", "0.0001")  # 105 KiB: even the default model passes it
    refused = preflight(base, digits)
    assert not refused.ok and "over this server's limit for one run (104.9 KiB)" in refused.errors[0]
    assert preflight(replace(base, batch_size=1), digits).errors  # still too big: weights alone are 369 KiB
