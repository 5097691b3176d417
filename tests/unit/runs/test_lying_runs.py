"""Runs tell the truth about themselves: a clean "stopped" is never overwritten, a damaged status file says so,
and damaged event lines are skipped instead of breaking every page that reads them."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from playground.runs import store as runs
from playground.runs.history import RunHistory
from playground.training.loop import TrainConfig

# A run process that answers SIGTERM the way the worker does (it writes "stopped" with its own sentence)
# and then takes longer than the grace period to exit (saving weights, say).
_SLOW_TO_EXIT = """
import signal, sys, time
from playground.runs import store as runs
run = sys.argv[1]
def on_term(*_):
    runs.set_status(run, "stopped", "Stopped on request after 3 steps; weights saved.")
    time.sleep(30)
signal.signal(signal.SIGTERM, on_term)
runs.set_status(run, "running", "")
print("ready", flush=True)
time.sleep(60)
"""


def test_stop_keeps_the_reason_the_run_wrote_before_it_was_killed(tmp_path):
    run = runs.create_run(TrainConfig(dataset="digits"), tmp_path)
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_TO_EXIT, str(run)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        runs._record_process(run, proc.pid)
        assert runs.stop(run, grace=1.0) == "stopped"
        assert runs.read_status(run)["reason"] == "Stopped on request after 3 steps; weights saved."
    finally:
        proc.kill()
        proc.wait()


def test_a_damaged_status_file_is_reported_as_damaged_not_missing(tmp_path):
    run = runs.create_run(TrainConfig(dataset="digits"), tmp_path)
    for text, why in (('{"status": "runn', "not valid JSON"), ("[1, 2]", "not a status record")):
        (run / "status.json").write_text(text)
        st = runs.read_status(run)
        assert st["status"] == "crashed" and why in st["reason"] and "missing" not in st["reason"]
        info = runs.list_runs(tmp_path)[0]  # the runs list keeps working
        assert info.status == "crashed" and "damaged" in info.reason
    (run / "status.json").unlink()
    assert runs.read_status(run)["reason"] == "status.json is missing."


def test_event_lines_that_are_not_events_are_skipped(tmp_path):
    run = runs.create_run(TrainConfig(dataset="digits"), tmp_path)
    good_step = {"type": "step", "step": 5, "epoch": 0.5, "time": 1.0, "loss": 2.0, "lr": 0.1}
    lines = [
        json.dumps({"type": "start", "time": 0, "total_steps": "lots", "epochs": 2, "batch_size": None}),
        "5",
        "[1, 2]",
        '"text"',
        "null",
        json.dumps(good_step),
        json.dumps({"type": "step", "step": "six", "time": 2.0}),
        json.dumps({"type": "epoch", "epoch": 1}),  # missing its step and metrics
        json.dumps({"type": "epoch", "epoch": 1, "step": 10, "val_accuracy": "high", "val_loss": 1.5}),
        "[" * 5000 + "]" * 5000,
    ]
    (run / "events.jsonl").write_text("\n".join(lines) + "\n")
    events, _ = runs.read_events(run)
    assert all(isinstance(e, dict) for e in events)
    h = RunHistory.from_events(events)
    assert h.steps == [good_step] and len(h.epochs) == 1
    assert h.series("val_accuracy", per="epoch") == ([], []) and h.series("val_loss", per="epoch") == ([1], [1.5])
    assert h.best("val_accuracy") is None
    p = h.progress(now_wall=time.time())
    assert p is not None and p.total_steps == 1 and p.epochs == 2  # a damaged total counts as one step, not a traceback
