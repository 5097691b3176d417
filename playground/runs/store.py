"""The run store: one folder per training run, and the processes that fill them.

A run folder (``<runs dir>/<run id>/``) holds:

- ``config.json``: the ``TrainConfig`` as a dict, written once at creation;
- ``status.json``: ``status`` (queued, running, completed, stopped, failed, diverged,
  crashed), ``reason`` (a sentence), times, device and progress; rewritten atomically
  (temporary file + ``os.replace``) so a reader never sees half of it;
- ``events.jsonl``: the trainer's events, one JSON object per line, only ever appended
  and flushed line by line -- a crash loses nothing already written;
- ``process.json``: the pid of the process running it (and its start time from psutil, to tell
  a reused pid apart);
- ``log.txt``: the process's stdout and stderr (progress lines, tracebacks);
- ``stop-requested``: an empty file written when someone asks the run to stop;
- ``dataset.json``, ``weights.pt`` (the model's state_dict, replaced atomically after each
  epoch) and ``evaluation.json`` (confusion matrix etc., once training ends).

Processes. ``launch`` writes the folder and starts ``python -m playground train --run-dir
DIR`` in a new session (``start_new_session``), so the run outlives the app and the
browser tab, a crash or out-of-memory error takes down only that process, and ``stop``
can signal its whole process group: SIGTERM first (the trainer finishes the current step,
saves its weights and writes "stopped"), SIGKILL after a grace period.

Crashes. A run whose status still says queued/running but whose process is gone is
reported -- and recorded -- as "crashed"; its events and last weights stay as they were.
The status is re-read after the death is observed, so a run that finished an instant
earlier is never mislabelled.

Queue: one run per device at a time (``$PLAYGROUND_RUNS_PER_DEVICE`` slots, default 1).
There is no scheduler process to die: each run process queues itself. It marks itself
"queued" with its device, then waits until it is the oldest live queued run for that
device and can take one of the device's slot locks in ``<runs dir>/.locks/`` (``filelock``:
an OS file lock on Linux, macOS and Windows). The OS drops the lock when the process exits,
however it exits, so a crashed run can never block the queue. Runs under ``torchrun`` skip the queue.
"""

from __future__ import annotations

import copy
import errno
import json
import math
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import filelock
import psutil

from playground.common.paths import PROJECT_ROOT as ROOT

STATES = ("queued", "running", "completed", "stopped", "failed", "diverged", "crashed")
ACTIVE = ("queued", "running")
QUEUE_POLL_S = 0.5
STOP_MARK = "stop-requested"  # an empty file: someone asked this run to stop


def runs_dir(path: str | Path | None = None) -> Path:
    """The run store: ``path``, else ``$PLAYGROUND_RUNS_DIR``, else ``<repo>/runs``."""
    return Path(path or os.environ.get("PLAYGROUND_RUNS_DIR") or ROOT / "runs")


def uploads_dir(root: str | Path | None = None) -> Path:
    """Where the app keeps uploaded zips, specs, pipelines and weights: ``<runs dir>/.uploads``."""
    return runs_dir(root) / ".uploads"


def config_file(run_dir: str | Path) -> Path:
    """The run's ``config.json`` (its ``TrainConfig``)."""
    return Path(run_dir) / "config.json"


def weights_file(run_dir: str | Path) -> Path:
    """The run's ``weights.pt`` (its model's state_dict; absent until the first epoch ends)."""
    return Path(run_dir) / "weights.pt"


def evaluation_file(run_dir: str | Path) -> Path:
    """The run's ``evaluation.json`` (absent until training ends)."""
    return Path(run_dir) / "evaluation.json"


def snapshots_dir(run_dir: str | Path) -> Path:
    """The folder of the run's "Watch it learn" snapshots (``playground.training.snapshots``)."""
    return Path(run_dir) / "snapshots"


def has_weights(run_dir: str | Path) -> bool:
    """Has the run saved weights?"""
    return weights_file(run_dir).is_file()


def modified(path: str | Path) -> float:
    """A file's modification time (0.0 when it is missing): a cache key that changes when the file does."""
    try:
        return Path(path).stat().st_mtime
    except OSError:
        return 0.0


def slots_per_device() -> int:
    """How many runs may share one device (``$PLAYGROUND_RUNS_PER_DEVICE``, default 1)."""
    try:
        return max(1, int(os.environ.get("PLAYGROUND_RUNS_PER_DEVICE", "1")))
    except ValueError:
        return 1


# ---------------------------------------------------------------------------------------------
# Files


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON so readers see the old file or the new one, never a torn one.

    A failed write (a full disk: ENOSPC) removes its temporary file and raises the OSError.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(_finite(data), indent=1))
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def disk_sentence(exc: OSError, what: str) -> str:
    """A sentence for a write the disk refused (full, read-only, over quota)."""
    why = {
        errno.ENOSPC: "the disk is full",
        errno.EDQUOT: "the disk quota is used up",
        errno.EROFS: "the disk is read-only",
    }
    return (
        f"{what} could not be written: {why.get(exc.errno, exc.strerror or str(exc))}. Free some space "
        "(delete old runs or uploads) and try again."
    )


def _read_json(path: Path, default: Any = None) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return default


def _finite(value: Any) -> Any:
    """NaN and infinities become None: the files stay valid JSON for any reader."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


class EventWriter:
    """Appends events to ``events.jsonl``, one line each, flushed at once (a crash loses none)."""

    def __init__(self, path: Path):
        self.path = path
        self._f = open(path, "a", encoding="utf-8")

    def write(self, event: dict) -> None:
        self._f.write(json.dumps(_finite(event), separators=(",", ":")) + "\n")
        self._f.flush()

    def close(self) -> None:
        self._f.close()


def read_events(run_dir: str | Path, offset: int = 0) -> tuple[list[dict], int]:
    """Events appended since byte ``offset``: ``(events, new_offset)``.

    Cheap enough to call every second: it reads only the new bytes, and stops at the last
    complete line, so a line being written right now is picked up by the next call.
    """
    path = Path(run_dir) / "events.jsonl"
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            chunk = f.read()
    except FileNotFoundError:
        return [], offset
    end = chunk.rfind(b"\n")
    if end < 0:
        return [], offset
    events = []
    for line in chunk[: end + 1].splitlines():
        try:
            event = json.loads(line)
        except (ValueError, RecursionError):
            continue  # never a reason to stop showing the rest
        if isinstance(event, dict) and isinstance(event.get("type"), str):  # a JSON line that is not an event: skipped
            events.append(event)
    return events, offset + end + 1


# ---------------------------------------------------------------------------------------------
# Processes


_CHILDREN: dict[int, subprocess.Popen] = {}  # runs this process launched: reaped so they never linger as zombies


def _create_time(pid: int) -> float | None:
    """When the process started (psutil: seconds since the epoch, on Linux, macOS and Windows alike),
    to tell a reused pid apart; None if there is no such process."""
    try:
        return psutil.Process(pid).create_time()
    except (psutil.Error, OSError, ValueError):
        return None


def reap() -> None:
    """Collect launched runs that have exited, so none lingers as a zombie in a long-lived app process."""
    for pid, child in list(_CHILDREN.items()):
        if child.poll() is not None:
            _CHILDREN.pop(pid, None)


def pid_alive(pid: int | None, create_time: float | None = None) -> bool:
    """Is ``pid`` a live (not zombie) process -- the same one that started at ``create_time``?"""
    if not pid:
        return False
    child = _CHILDREN.get(pid)
    if child is not None and child.poll() is not None:
        _CHILDREN.pop(pid, None)
        return False
    try:
        proc = psutil.Process(pid)
        if proc.status() in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD):
            if child is not None:  # ours: reap it now so the pid is really gone
                child.wait()
                _CHILDREN.pop(pid, None)
            return False
        # The same start time (to the 10 ms psutil derives it with), or a new process under an old pid.
        return create_time is None or abs(proc.create_time() - float(create_time)) < 0.05
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True  # someone else's process: it exists


def _started(proc: dict) -> float | None:
    """The recorded start time of a run's process (``process.json``; older records have none)."""
    value = proc.get("create_time")
    return float(value) if isinstance(value, (int, float)) else None


def _process(run: Path) -> dict:
    return _read_json(run / "process.json", {}) or {}


def _record_process(run: Path, pid: int) -> None:
    write_json_atomic(run / "process.json", {"pid": pid, "create_time": _create_time(pid), "recorded": time.time()})


# ---------------------------------------------------------------------------------------------
# The store


@dataclass
class RunInfo:
    """One run as the list shows it."""

    id: str
    path: Path
    status: str
    reason: str
    created: float
    config: dict
    progress: dict = field(default_factory=dict)  # epoch, epochs, step, total_steps, val_accuracy ...
    final: dict = field(default_factory=dict)  # final metrics once it ended

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")[:24] or "run"


def create_run(config, runs_root: str | Path | None = None) -> Path:
    """Make a new run folder for ``config`` (a ``TrainConfig``), status "queued"; returns its path."""
    config.validate()
    root = runs_dir(runs_root)
    root.mkdir(parents=True, exist_ok=True)
    model = config.model if isinstance(config.model, str) and len(config.model) < 60 else "custom"
    if isinstance(config.model, dict) or str(config.model).lstrip().startswith("{"):
        from playground.training.models import describe_source, model_label

        config = copy.copy(config)
        config.model = describe_source(config.model)  # a "run" weights source: record what it was built from
        model = model_label(config.model)
    dataset = Path(config.dataset).stem if config.dataset not in ("images",) else "images"
    while True:
        run_id = (
            f"{time.strftime('%Y%m%d-%H%M%S')}-{_slug(Path(str(model)).stem)}-{_slug(dataset)}-{secrets.token_hex(2)}"
        )
        path = root / run_id
        try:
            path.mkdir()
            break
        except FileExistsError:
            continue
    try:
        write_json_atomic(path / "config.json", config.to_dict())
        write_json_atomic(path / "status.json", {"status": "queued", "reason": "", "created": time.time()})
        (path / "events.jsonl").touch()
    except OSError as exc:  # a full disk: no half-made run folder is left behind
        shutil.rmtree(path, ignore_errors=True)
        raise RunStoreError(disk_sentence(exc, "The new run's folder")) from None
    return path


def set_status(run_dir: str | Path, status: str, reason: str | None = None, **extra: Any) -> dict:
    """Update ``status.json`` (merging ``extra`` into it); returns the new contents."""
    path = Path(run_dir) / "status.json"
    data = _read_json(path, {}) or {}
    data.update(extra)
    data["status"] = status
    if reason is not None:
        data["reason"] = reason
    data["updated"] = time.time()
    if status not in ACTIVE and "ended" not in data:
        data["ended"] = time.time()
    write_json_atomic(path, data)
    return data


CRASH_REASON = (
    "The run's process (pid {pid}) ended without a word -- killed, out of memory, or the machine "
    "restarted. Everything it recorded up to then is kept."
)


CORRUPT_REASON = (
    "This run's status.json is damaged ({why}), so how it ended is unknown. Its config, events, metrics and "
    "weights are kept: open its curves, or delete it."
)


def _status_file(run: Path) -> dict:
    """``status.json`` as a dict; a missing or damaged one as a "crashed" record that says which."""
    try:
        data = json.loads((run / "status.json").read_text())
    except FileNotFoundError:
        return {"status": "crashed", "reason": "status.json is missing."}
    except (OSError, ValueError) as exc:
        why = "not valid JSON" if isinstance(exc, ValueError) else f"unreadable: {exc.strerror or exc}"
        return {"status": "crashed", "reason": CORRUPT_REASON.format(why=why), "corrupt": True}
    if not isinstance(data, dict) or not isinstance(data.get("status"), str):
        return {"status": "crashed", "reason": CORRUPT_REASON.format(why="not a status record"), "corrupt": True}
    return data


class RunStoreError(ValueError):
    """The run store could not do what was asked (a full disk); the message says what to do."""


def _record(run: Path, status: str, reason: str) -> dict:
    """``set_status`` for a reader that noticed how a run ended; on a full disk the verdict is returned unsaved."""
    try:
        return set_status(run, status, reason)
    except OSError:
        data = _status_file(run)
        data.update(status=status, reason=reason + " (Not recorded: the disk holding the runs is full.)")
        return data


def read_status(run_dir: str | Path) -> dict:
    """``status.json``, with a dead queued/running run recorded and returned as "crashed"."""
    run = Path(run_dir)
    data = _status_file(run)
    if data.get("status") not in ACTIVE:
        return data
    proc = _process(run)
    if not proc:
        if time.time() - float(data.get("created", 0)) < 60:
            return data  # just created: its process is being started
        return _record(run, "crashed", "The run's process never started.")
    if pid_alive(proc.get("pid"), _started(proc)):
        return data
    again = _status_file(run)
    if again.get("status") not in ACTIVE:  # it finished between our two reads
        return again
    if (run / STOP_MARK).exists():  # asked to stop, and died before it could write so (e.g. while starting)
        return _record(run, "stopped", "Stopped on request before it started training.")
    return _record(run, "crashed", CRASH_REASON.format(pid=proc.get("pid")))


def run_info(run_dir: str | Path) -> RunInfo:
    """Everything the runs list shows about one run."""
    run = Path(run_dir)
    st = read_status(run)
    keys = (
        "epoch",
        "epochs",
        "step",
        "total_steps",
        "val_accuracy",
        "train_loss",
        "val_loss",
        "images_per_second",
        "device",
        "started",
        "ended",
        "time",
    )
    return RunInfo(
        run.name,
        run,
        st.get("status", "crashed"),
        st.get("reason", ""),
        float(st.get("created", 0)),
        _read_json(run / "config.json", {}) or {},
        {k: st[k] for k in keys if k in st},
        st.get("final", {}),
    )


def list_runs(runs_root: str | Path | None = None) -> list[RunInfo]:
    """All runs in the store, newest first (dead active runs show as crashed)."""
    reap()
    root = runs_dir(runs_root)
    if not root.is_dir():
        return []
    runs = [run_info(p) for p in root.iterdir() if p.is_dir() and (p / "config.json").exists()]
    return sorted(runs, key=lambda r: (r.created, r.id), reverse=True)


def delete_run(run_dir: str | Path, runs_root: str | Path | None = None) -> None:
    """Delete a finished run's folder. Refuses a run that is still active and anything not a run folder."""
    run, root = Path(run_dir).resolve(), runs_dir(runs_root).resolve()
    if run.parent != root or not (run / "config.json").exists():
        raise ValueError(f"{run_dir} is not a run folder of {root}; nothing was deleted.")
    if read_status(run).get("status") in ACTIVE:
        raise ValueError(f"Run {run.name} is still {read_status(run)['status']}: stop it before deleting it.")
    shutil.rmtree(run)


# ---------------------------------------------------------------------------------------------
# Launching and stopping


def launch(config, runs_root: str | Path | None = None, *, env: dict | None = None) -> Path:
    """Create a run and start its own process (``python -m playground train --run-dir DIR``); returns the folder.

    The process runs in a new session, so it survives the app and the browser; it queues
    itself behind other runs on the same device.
    """
    run = create_run(config, runs_root)
    child_env = {**os.environ, **(env or {})}
    child_env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), child_env.get("PYTHONPATH", "")) if p)
    child_env["PLAYGROUND_RUNS_DIR"] = str(run.parent)
    with open(run / "log.txt", "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "playground", "train", "--run-dir", str(run)],
            cwd=str(ROOT),
            env=child_env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _CHILDREN[proc.pid] = proc
    _record_process(run, proc.pid)
    return run


def _signal(pid: int, sig: int) -> None:
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)  # the run and anything it started (torchrun workers, loader workers)
        else:
            os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def request_stop(run_dir: str | Path) -> bool:
    """Ask a run to stop (SIGTERM) without waiting; True if a live process was signalled.

    For a page that must not block: it keeps polling the status, which turns "stopped" within a
    step or two; ``stop`` is the blocking version that also kills after a grace period.
    """
    proc = _process(Path(run_dir))
    if read_status(run_dir).get("status") in ACTIVE and pid_alive(proc.get("pid"), _started(proc)):
        (Path(run_dir) / STOP_MARK).touch()  # so a process killed before it could answer counts as stopped
        _signal(proc["pid"], signal.SIGTERM)
        return True
    return False


def stop(run_dir: str | Path, grace: float = 10.0) -> str:
    """Stop a run for real; returns its final status.

    SIGTERM asks it to stop after the current step (it saves its weights and writes "stopped");
    after ``grace`` seconds it is killed and recorded as stopped. Metrics already written stay.
    """
    run = Path(run_dir)
    st = read_status(run)
    if st.get("status") not in ACTIVE:
        return st.get("status", "crashed")
    proc = _process(run)
    pid, ticks = proc.get("pid"), _started(proc)
    if pid and pid_alive(pid, ticks):
        (run / STOP_MARK).touch()
        _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while pid_alive(pid, ticks) and time.monotonic() < deadline:
            time.sleep(0.05)
        if pid_alive(pid, ticks):
            _signal(pid, signal.SIGKILL)
            while pid_alive(pid, ticks):
                time.sleep(0.05)
            written = _status_file(run)
            if written.get("status") not in ACTIVE:  # it wrote how it ended before the kill: keep its words
                return written["status"]
            return set_status(
                run,
                "stopped",
                f"Stopped on request; it did not stop within {grace:g} s, so it was "
                "killed. Metrics up to then are kept.",
            )["status"]
    st = _read_json(run / "status.json", {}) or {}
    if st.get("status") in ACTIVE:
        st = set_status(run, "stopped", "Stopped on request before it started training.")
    return st["status"]


def wait(run_dir: str | Path, timeout: float | None = None, poll: float = 0.2) -> str:
    """Block until the run is no longer queued/running (or ``timeout``); returns its status."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        status = read_status(run_dir).get("status")
        if status not in ACTIVE or (deadline is not None and time.monotonic() > deadline):
            return status
        time.sleep(poll)


# ---------------------------------------------------------------------------------------------
# The queue (used by the run process itself; see the module docstring)


class DeviceSlot:
    """Holds one of a device's slot locks until released or the process exits."""

    def __init__(self, lock: filelock.BaseFileLock | None):
        self._lock = lock

    def release(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None


def _try_slots(root: Path, device_key: str) -> DeviceSlot | None:
    locks = root / ".locks"
    locks.mkdir(parents=True, exist_ok=True)
    for i in range(slots_per_device()):
        # preserve_lock_file: deleting the file on release would let two processes lock two different
        # files of the same name; thread_local off: the trainer may release it from another thread.
        lock = filelock.FileLock(locks / f"{device_key}-{i}.lock", thread_local=False, preserve_lock_file=True)
        try:
            lock.acquire(timeout=0)
            return DeviceSlot(lock)
        except filelock.Timeout:
            continue
    return None


def acquire_slot(run: Path, device_key: str, should_stop: Callable[[], bool]) -> DeviceSlot | None:
    """Wait in the queue for a slot on ``device_key``; None if asked to stop while waiting."""
    root = run.parent
    announced = None
    while True:
        if should_stop():
            return None
        mine = (float(read_status(run).get("created", 0)), run.name)
        # Earlier queued runs whose device is not known yet (their process is still starting) count as
        # ahead too: first come, first served, however fast each process starts.
        ahead = [
            r
            for r in list_runs(root)
            if r.status == "queued"
            and r.id != run.name
            and (r.created, r.id) < mine
            and _read_json(r.path / "status.json", {}).get("device", device_key) == device_key
        ]
        if len(ahead) < slots_per_device():
            slot = _try_slots(root, device_key)
            if slot is not None:
                return slot
        busy = [r.id for r in list_runs(root) if r.status == "running" and r.progress.get("device") == device_key]
        note = (
            f"Waiting for {busy[0] if busy else 'an earlier run'} to finish: one run per device at a time "
            f"({len(ahead)} queued ahead of this one)."
        )
        if note != announced:
            set_status(run, "queued", note, device=device_key)
            announced = note
        time.sleep(QUEUE_POLL_S)
