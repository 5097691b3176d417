"""The run store: folders, incremental events, real processes that stop, crash and queue."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from playground.models.zoo import build_model
from playground.runs import store as runs
from playground.runs.worker import StopFlag, execute_run
from playground.training.checkpoints import load_checkpoint
from playground.training.loop import TrainConfig


def SimpleCNN(num_classes: int, in_channels: int):  # noqa: N802 - reads like the article's class
    return build_model("simplecnn", num_classes=num_classes, in_channels=in_channels)


LONG = TrainConfig(dataset="shapes", dataset_size=1000, epochs=100, batch_size=64, device="cpu")


def wait_for(predicate, timeout=120.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def epoch_events(run_dir):
    return [e for e in runs.read_events(run_dir)[0] if e["type"] == "epoch"]


def test_a_run_in_process_fills_its_folder(tmp_path):
    run = runs.create_run(TrainConfig(dataset="digits", epochs=2, device="cpu"), tmp_path)
    assert runs.read_status(run)["status"] == "queued"
    summary = execute_run(run, stop_flag=StopFlag())
    assert summary["status"] == "completed" and summary["epochs"] == 2 and 0 <= summary["final_val_accuracy"] <= 1
    names = {p.name for p in run.iterdir()}
    assert {
        "config.json",
        "status.json",
        "events.jsonl",
        "process.json",
        "dataset.json",
        "weights.pt",
        "evaluation.json",
    } <= names
    assert not [n for n in names if n.endswith(".tmp")]
    status = runs.read_status(run)
    assert status["status"] == "completed" and status["final"]["final_val_accuracy"] == summary["final_val_accuracy"]
    evaluation = json.loads((run / "evaluation.json").read_text())
    assert sum(map(sum, evaluation["confusion"])) == json.loads((run / "dataset.json").read_text())["val_size"]
    SimpleCNN(10, 1).load_state_dict(load_checkpoint(run / "weights.pt"))
    [info] = runs.list_runs(tmp_path)
    assert info.status == "completed" and info.config["epochs"] == 2 and info.progress["epoch"] == 2


def test_a_failing_run_records_the_sentence(tmp_path, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_OFFLINE", "1")
    monkeypatch.setenv("PLAYGROUND_DATA_DIR", str(tmp_path / "nodata"))
    run = runs.create_run(TrainConfig(dataset="cifar10", device="cpu"), tmp_path)
    summary = execute_run(run, stop_flag=StopFlag())
    assert summary["status"] == "failed" and "cifar-10-batches-py" in summary["reason"]
    events, _ = runs.read_events(run)
    assert events[-1] == {"type": "end", "time": None, "status": "failed", "reason": summary["reason"]}


def test_events_are_read_incrementally_and_half_written_lines_wait(tmp_path):
    run = runs.create_run(TrainConfig(), tmp_path)
    writer = runs.EventWriter(run / "events.jsonl")
    writer.write({"type": "step", "step": 1, "loss": 2.0})
    writer.write({"type": "step", "step": 2, "loss": float("nan")})
    events, offset = runs.read_events(run)
    assert [e["step"] for e in events] == [1, 2] and events[1]["loss"] is None  # NaN stored as null: valid JSON
    with open(run / "events.jsonl", "a") as f:
        f.write('{"type": "step", "st')  # a line still being written
    more, offset2 = runs.read_events(run, offset)
    assert more == [] and offset2 == offset
    with open(run / "events.jsonl", "a") as f:
        f.write('ep": 3}\n')
    more, offset3 = runs.read_events(run, offset2)
    assert more == [{"type": "step", "step": 3}] and offset3 == (run / "events.jsonl").stat().st_size
    assert runs.read_events(tmp_path / "missing", 0) == ([], 0)


def test_list_and_delete_runs(tmp_path):
    first = runs.create_run(TrainConfig(), tmp_path)
    time.sleep(0.01)
    second = runs.create_run(TrainConfig(dataset="digits"), tmp_path)
    runs.set_status(first, "completed", "")
    runs.set_status(second, "completed", "")
    assert [r.path for r in runs.list_runs(tmp_path)] == [second, first]
    runs.delete_run(first, tmp_path)
    assert [r.path for r in runs.list_runs(tmp_path)] == [second]
    with pytest.raises(ValueError, match="not a run folder"):
        runs.delete_run(tmp_path, tmp_path)


def test_a_run_whose_process_never_started_or_vanished_is_crashed(tmp_path):
    run = runs.create_run(TrainConfig(), tmp_path)
    status = json.loads((run / "status.json").read_text())
    status["created"] -= 120
    (run / "status.json").write_text(json.dumps(status))
    assert runs.read_status(run)["status"] == "crashed"

    run2 = runs.create_run(TrainConfig(), tmp_path)
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    runs._record_process(run2, proc.pid)
    runs.set_status(run2, "running", "")
    st = runs.read_status(run2)
    assert st["status"] == "crashed" and "ended without a word" in st["reason"]
    # The verdict is recorded, so every later reader agrees.
    assert json.loads((run2 / "status.json").read_text())["status"] == "crashed"
    with pytest.raises(ValueError, match="not a run folder"):
        runs.delete_run(run2.parent / "elsewhere", tmp_path)
    runs.delete_run(run2, tmp_path)


def test_a_run_that_finished_between_two_reads_is_not_called_crashed(tmp_path, monkeypatch):
    run = runs.create_run(TrainConfig(), tmp_path)
    runs._record_process(run, 999_999_999)
    runs.set_status(run, "running", "")
    real = runs.pid_alive

    def finishes_now(pid, ticks=None):
        runs.set_status(run, "completed", "")  # the run writes its final status just as we look
        return real(pid, ticks)

    monkeypatch.setattr(runs, "pid_alive", finishes_now)
    assert runs.read_status(run)["status"] == "completed"


def test_stop_kills_a_process_that_ignores_sigterm(tmp_path):
    run = runs.create_run(TrainConfig(), tmp_path)
    stubborn = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import signal, time; signal.signal(signal.SIGTERM, "
            "signal.SIG_IGN); print('ready', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    assert stubborn.stdout.readline().strip() == b"ready"
    runs._CHILDREN[stubborn.pid] = stubborn
    runs._record_process(run, stubborn.pid)
    runs.set_status(run, "running", "")
    t0 = time.monotonic()
    assert runs.stop(run, grace=1.0) == "stopped"
    waited = time.monotonic() - t0
    assert waited >= 1.0 and waited < 10  # the grace period, then the kill
    assert stubborn.poll() is not None
    assert "killed" in runs.read_status(run)["reason"]


@pytest.mark.slow
def test_stop_really_stops_a_running_and_a_queued_run(tmp_path):
    env = {"PLAYGROUND_OFFLINE": "1"}
    first = runs.launch(LONG, tmp_path, env=env)
    second = runs.launch(LONG, tmp_path, env=env)
    try:
        wait_for(lambda: epoch_events(first), what="the first run's first epoch")
        wait_for(lambda: "Waiting for" in runs.read_status(second).get("reason", ""), 30, "the queue note")
        assert runs.read_status(second)["status"] == "queued" and epoch_events(second) == []
        # A queued run stops at once.
        queued_pid = runs._process(second)["pid"]
        assert runs.stop(second, grace=20) == "stopped"
        assert "while waiting in the queue" in runs.read_status(second)["reason"]
        assert not runs.pid_alive(queued_pid)
        # A running run stops after its current step: process gone, metrics and weights kept.
        pid = runs._process(first)["pid"]
        assert runs.stop(first, grace=20) == "stopped"
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
        status = runs.read_status(first)
        assert status["status"] == "stopped" and "Stopped on request" in status["reason"]
        events, _ = runs.read_events(first)
        assert any(e["type"] == "epoch" for e in events) and events[-1]["status"] == "stopped"
        SimpleCNN(10, 3).load_state_dict(load_checkpoint(first / "weights.pt"))
        assert (first / "evaluation.json").is_file()
    finally:
        runs.stop(first, grace=5)
        runs.stop(second, grace=5)
    assert [r.status for r in runs.list_runs(tmp_path)] == ["stopped", "stopped"]


@pytest.mark.slow
def test_a_killed_run_shows_as_crashed_and_the_queue_moves_on(tmp_path):
    env = {"PLAYGROUND_OFFLINE": "1"}
    run = runs.launch(LONG, tmp_path, env=env)
    waiting = runs.launch(LONG, tmp_path, env=env)
    try:
        wait_for(lambda: epoch_events(run), what="the first epoch")
        pid = runs._process(run)["pid"]
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: not runs.pid_alive(pid), 30, "the process to die")
        before = (run / "events.jsonl").read_bytes()
        status = runs.read_status(run)
        assert status["status"] == "crashed" and f"pid {pid}" in status["reason"]
        assert (run / "events.jsonl").read_bytes() == before and len(epoch_events(run)) >= 1
        SimpleCNN(10, 3).load_state_dict(load_checkpoint(run / "weights.pt"))
        # The kernel released the dead run's device lock: the queued run starts training.
        wait_for(lambda: epoch_events(waiting), 90, "the queued run to train")
        assert {r.id: r.status for r in runs.list_runs(tmp_path)} == {run.name: "crashed", waiting.name: "running"}
    finally:
        runs.stop(run, grace=5)
        runs.stop(waiting, grace=20)
    assert runs.read_status(waiting)["status"] == "stopped"


def test_request_stop_signals_without_waiting(tmp_path):
    run = runs.create_run(TrainConfig(), tmp_path)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    runs._CHILDREN[sleeper.pid] = sleeper
    runs._record_process(run, sleeper.pid)
    runs.set_status(run, "running", "")
    assert runs.request_stop(run) is True
    assert sleeper.wait(timeout=10) == -signal.SIGTERM
    # It died of the signal before it could write a word: asked to stop, so it counts as stopped.
    assert runs.read_status(run)["status"] == "stopped"
    assert runs.request_stop(run) is False


def test_pid_alive_tells_a_reused_pid_and_a_zombie_apart():
    """psutil's start time identifies the process: the same pid with another start time is another process."""
    import psutil

    me = psutil.Process()
    assert runs.pid_alive(me.pid, me.create_time()) and runs.pid_alive(me.pid)
    assert not runs.pid_alive(me.pid, me.create_time() - 3600)  # a run recorded an hour ago under this pid
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.time() + 30
    while psutil.Process(child.pid).status() != psutil.STATUS_ZOMBIE and time.time() < deadline:
        time.sleep(0.05)  # exited, not yet reaped: a zombie
    assert not runs.pid_alive(child.pid)
    child.wait()
    assert not runs.pid_alive(child.pid) and not runs.pid_alive(None)


def test_a_device_slot_is_held_against_other_processes_until_released(tmp_path):
    """The queue's slot is an OS file lock (filelock): another process cannot take it until it is released."""
    probe = (
        "import sys, filelock\n"
        "lock = filelock.FileLock(sys.argv[1], preserve_lock_file=True)\n"
        "try:\n    lock.acquire(timeout=0); print('got it')\n"
        "except filelock.Timeout:\n    print('busy')\n"
    )
    slot = runs._try_slots(tmp_path, "cpu")
    assert slot is not None and runs._try_slots(tmp_path, "cpu") is None  # one slot per device by default
    path = str(tmp_path / ".locks" / "cpu-0.lock")

    def other() -> str:
        return subprocess.run([sys.executable, "-c", probe, path], capture_output=True, text=True).stdout.strip()

    assert other() == "busy"
    slot.release()
    assert other() == "got it"
    assert runs._try_slots(tmp_path, "cpu") is not None


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kill_9_at_a_random_moment_leaves_a_truthful_run_and_a_working_store(tmp_path, seed):
    # Fault injection: the run process dies without a word at a seeded random moment of its life (starting,
    # loading data, training, writing weights). Its folder must tell the truth (crashed, naming the pid), keep
    # every event already written readable, and the store must keep listing it.
    import random

    delay = random.Random(seed).uniform(0.05, 6.0)
    run = runs.launch(LONG, tmp_path, env={"PLAYGROUND_OFFLINE": "1"})
    try:
        time.sleep(delay)
        pid = runs._process(run)["pid"]
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: not runs.pid_alive(pid), 30, "the process to die")
        status = runs.read_status(run)
        assert status["status"] == "crashed" and f"pid {pid}" in status["reason"], (delay, status)
        events, _ = runs.read_events(run)  # whatever was flushed, read back (a torn last line is skipped)
        assert all(isinstance(e, dict) and "type" in e for e in events)
        assert [r.status for r in runs.list_runs(tmp_path)] == ["crashed"]
        assert runs.run_info(run).status == "crashed"
    finally:
        runs.stop(run, grace=5)
