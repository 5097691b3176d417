"""The default recipe's promise, at a looser bound than bench/bench_time_to_accuracy.py holds it to.

The benchmark measures seconds on a quiet machine (90% on shapes within 30 s of the launch, the first
step within 3 s); a test cannot time a shared machine, so it holds what does not depend on the load:
the default run, launched as the Launch button launches it, reaches 90% validation accuracy on shapes
within its epochs with the seed fixed, and its first step comes within a generous 30 s of the launch.
"""

from __future__ import annotations

import time

import pytest

from playground.runs import store as runs
from playground.training.loop import TrainConfig


@pytest.mark.slow
def test_the_default_run_reaches_90_percent_on_shapes(tmp_path):
    t_launch = time.time()
    run = runs.launch(TrainConfig(device="cpu"), tmp_path)
    assert runs.wait(run, timeout=900) == "completed", (run / "log.txt").read_text()[-2000:]
    events, _ = runs.read_events(run)
    start = next(e for e in events if e["type"] == "start")
    t0 = start["wall"] - start["time"]  # wall clock of the trainer's t = 0
    first_step = next(e for e in events if e["type"] == "step")
    epochs = [e for e in events if e["type"] == "epoch"]
    assert len(epochs) == TrainConfig().epochs
    assert max(e["val_accuracy"] for e in epochs) >= 0.90, [round(e["val_accuracy"], 3) for e in epochs]
    assert t0 + first_step["time"] - t_launch < 30
