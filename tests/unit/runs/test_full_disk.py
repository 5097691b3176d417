"""A full disk (ENOSPC injected at every write the run store makes): writes fail cleanly, temporaries are
removed, no half-made run folder is left, and everything that lists runs keeps working with a sentence."""

from __future__ import annotations

import errno
import os
import pathlib

import pytest

import playground.training.checkpoints as checkpoints
from playground.runs import store as runs
from playground.runs.worker import StopFlag, execute_run
from playground.training.loop import TrainConfig


class FullDisk:
    """Every write through the store's three writers fails with ENOSPC once ``full`` is set, after writing
    part of its bytes (as a real disk does when it fills mid-write)."""

    def __init__(self, monkeypatch):
        self.full = False
        self.failures = 0
        real_write_text, real_save, real_event = pathlib.Path.write_text, checkpoints.torch.save, runs.EventWriter.write

        def enospc():
            self.failures += 1
            return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        def write_text(path, text, *a, **k):
            if self.full:
                real_write_text(path, text[:7], *a, **k)
                raise enospc()
            return real_write_text(path, text, *a, **k)

        def save(obj, f, *a, **k):
            if self.full:
                pathlib.Path(f).write_bytes(b"PK\x03\x04partial")
                raise enospc()
            return real_save(obj, f, *a, **k)

        def event(writer, e):
            if self.full:
                raise enospc()
            return real_event(writer, e)

        monkeypatch.setattr(pathlib.Path, "write_text", write_text)
        monkeypatch.setattr(checkpoints.torch, "save", save)
        monkeypatch.setattr(runs.EventWriter, "write", event)


def _temporaries(root: pathlib.Path) -> list[str]:
    return [p.name for p in root.rglob("*") if p.name.endswith((".tmp", ".part"))]


def test_a_launch_onto_a_full_disk_leaves_nothing_and_says_so(tmp_path, monkeypatch):
    disk = FullDisk(monkeypatch)
    disk.full = True
    with pytest.raises(runs.RunStoreError, match="could not be written: the disk is full. Free some space"):
        runs.create_run(TrainConfig(dataset="digits", device="cpu"), tmp_path)
    assert disk.failures and list(tmp_path.iterdir()) == []  # no half-made run folder


def test_a_disk_that_fills_during_a_run_fails_it_cleanly_and_pages_keep_working(tmp_path, monkeypatch):
    disk = FullDisk(monkeypatch)
    run = runs.create_run(TrainConfig(dataset="digits", epochs=3, device="cpu"), tmp_path)
    real_save = checkpoints.save_checkpoint

    def fill_at_the_second_checkpoint(state, path, _n=[0]):
        _n[0] += 1
        disk.full = disk.full or _n[0] >= 2
        return real_save(state, path)

    monkeypatch.setattr("playground.training.loop.save_checkpoint", fill_at_the_second_checkpoint)
    summary = execute_run(run, stop_flag=StopFlag())  # the failure handler itself must not raise
    assert summary["status"] == "failed" and "the disk is full" in summary["reason"]
    assert _temporaries(tmp_path) == []  # the half-written weights and status files were removed
    epochs = [e for e in runs.read_events(run)[0] if e["type"] == "epoch"]
    assert [e["epoch"] for e in epochs] == [1]  # what was written before the disk filled is kept
    assert checkpoints.load_checkpoint(runs.weights_file(run))  # and the first epoch's weights still load

    # The run's process is gone; the disk is still full: listing runs says so instead of raising.
    monkeypatch.setattr(runs, "pid_alive", lambda *a, **k: False)
    [info] = runs.list_runs(tmp_path)
    assert info.status == "crashed" and "Not recorded: the disk holding the runs is full" in info.reason
    assert _temporaries(tmp_path) == []
    disk.full = False  # space freed: the verdict is recorded
    [info] = runs.list_runs(tmp_path)
    assert info.status == "crashed" and "Not recorded" not in runs.read_status(run)["reason"]
