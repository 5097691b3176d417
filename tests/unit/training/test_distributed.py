"""Data-parallel training under torchrun on the CPU (gloo): two processes sharing each global
batch reach the same weights and metrics as one process training on the whole batch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[3]
HELPER = Path(__file__).with_name("ddp_helper.py")
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]


def run(cmd, timeout=300):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return proc


@pytest.mark.slow
def test_two_processes_match_one_process_with_the_same_global_batch(tmp_path):
    run([sys.executable, str(HELPER), str(tmp_path / "one.pt")])
    run(TORCHRUN + [str(HELPER), str(tmp_path / "two.pt")])
    one = torch.load(tmp_path / "one.pt", weights_only=True)
    two = torch.load(tmp_path / "two.pt", weights_only=True)
    for key, value in one["state"].items():
        assert torch.allclose(value, two["state"][key], rtol=1e-3, atol=1e-4), key
    assert one["history"][-1]["val_accuracy"] > 0.9  # it really learned: the comparison means something
    for a, b in zip(one["history"], two["history"], strict=True):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-4)
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-3)
        assert abs(a["val_accuracy"] - b["val_accuracy"]) <= 2 / 359  # at most a borderline image or two
        assert a["train_accuracy"] == pytest.approx(b["train_accuracy"], abs=2 / 1438)


@pytest.mark.slow
def test_the_cli_trains_under_torchrun_and_only_rank_0_writes(tmp_path):
    proc = run(
        TORCHRUN
        + [
            "-m",
            "playground",
            "train",
            "--dataset",
            "digits",
            "--epochs",
            "2",
            "--device",
            "cpu",
            "--lr",
            "0.05",
            "--runs-dir",
            str(tmp_path),
            "--json",
        ]
    )
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["status"] == "completed" and summary["final_val_accuracy"] > 0.8
    assert "on 2 processes" in proc.stdout
    assert proc.stdout.count("Run folder:") == 2  # the start line and the summary, both from rank 0 only
    assert [p.name for p in tmp_path.iterdir()] == [Path(summary["run_dir"]).name]
    # Rank 0 recorded the snapshots alone (its extra passes on the plain module start no collective), and the last
    # one's confusion matrix, counted there over the whole validation set, agrees with the run's final accuracy.
    index = json.loads((Path(summary["run_dir"]) / "snapshots" / "index.json").read_text())
    last = index["snapshots"][-1]
    steps = [e["step"] for e in index["snapshots"]]  # a 2-second run: the time share may leave the middle ones out
    assert steps[0] == 0 and last["epoch"] == 2 and last["images"] == 359
    assert len(steps) + index["thinned"] == len({0, 10} | {12, 24})  # steps 0 and 10, then each epoch's end
    assert last["accuracy"] == pytest.approx(summary["final_val_accuracy"], abs=2 / 359)  # a borderline image at most
