"""The inside of a run process: queue, train, record -- ``execute_run(run_dir)``.

``python -m playground train --run-dir DIR`` (what ``runs.launch`` starts) and the
foreground ``python -m playground train --model ... --dataset ...`` both end up here.
SIGTERM and SIGINT set a flag the training loop polls at every step, so "stop" ends
the run cleanly: weights saved, status "stopped", events intact. Any exception becomes
status "failed" with a sentence (the traceback goes to the log), never a silent death.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import threading
import time
import traceback
from pathlib import Path
from typing import Callable

import torch

from playground.common.device import pick_device
from playground.data.base import DataError
from playground.runs import store as runs
from playground.runs.tensorboard import TensorBoardLog
from playground.training.distributed import DistContext
from playground.training.evaluation import evaluate_model
from playground.training.loop import TrainConfig, load_data, train


class StopFlag:
    """Set by SIGTERM/SIGINT; polled by the queue and the training loop."""

    def __init__(self):
        self.requested = False
        self.signal: int | None = None

    def __call__(self) -> bool:
        return self.requested

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # signal handlers can only be set from the main thread (e.g. not inside a test's thread)

        def _handler(signum, _frame):
            self.requested, self.signal = True, signum

        signal.signal(signal.SIGTERM, _handler)
        signal.signal(signal.SIGINT, _handler)


def failure_reason(exc: BaseException) -> str:
    """A sentence for a run that failed with ``exc``."""
    if isinstance(exc, torch.cuda.OutOfMemoryError) or "out of memory" in str(exc).lower():
        return (
            "The GPU ran out of memory. Lower the batch size, use a smaller model or smaller images, and launch again."
        )
    if isinstance(exc, MemoryError):
        return "The machine ran out of memory. Use a smaller dataset, smaller images or a smaller batch."
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS):
        return runs.disk_sentence(exc, "The run's files (weights, metrics)")
    if isinstance(exc, (DataError, ValueError, FileNotFoundError)):
        return str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
    return f"Training failed with {exc.__class__.__name__}: {str(exc).strip()[:300]}. The log has the details."


def summary(run_dir: Path, status: dict, history: list[dict] | None = None) -> dict:
    """The JSON summary the CLI prints and ``status.json`` keeps under ``final``."""
    last = (history or [{}])[-1] if history else {}
    return {
        "run_dir": str(run_dir),
        "status": status.get("status"),
        "reason": status.get("reason", ""),
        "epochs": last.get("epoch", 0),
        "final_train_loss": last.get("train_loss"),
        "final_val_loss": last.get("val_loss"),
        "final_val_accuracy": last.get("val_accuracy"),
        "images_per_second": status.get("images_per_second_steady", status.get("images_per_second_mean")),
        "images_per_second_mean": status.get("images_per_second_mean"),
        "seconds": status.get("seconds"),
        "device": status.get("device_name"),
    }


def execute_run(
    run_dir: str | Path,
    *,
    on_event: Callable[[dict], None] | None = None,
    dist: DistContext | None = None,
    use_queue: bool = True,
    stop_flag: StopFlag | None = None,
) -> dict:
    """Run the training that ``run_dir/config.json`` describes, recording everything; returns the summary."""
    run = Path(run_dir)
    dist = dist or DistContext()
    flag = stop_flag or StopFlag()
    if stop_flag is None:
        flag.install()
    runs._record_process(run, os.getpid())
    # Priority and threads: the run keeps the normal CPU priority (no os.nice) and torch's default
    # thread count, one per core. A niced run loses to whatever watches it (the page's server and,
    # on one machine, the browser drawing it: issue 17 measured a watched run at 0.57-0.68x of an
    # unwatched one while the page redrew its chart every second), and raising a priority needs
    # privileges a server should not have; so the page is made cheap instead (ui/train/live.py;
    # bench/bench_launch_to_90.py --pairs measures it).
    on_event = on_event or (lambda e: None)
    config = TrainConfig.from_dict(json.loads((run / "config.json").read_text()))
    writer = runs.EventWriter(run / "events.jsonl")
    board = TensorBoardLog(run, config.to_dict()) if dist.is_main else None  # the same events, for TensorBoard
    slot = None
    history: list[dict] = []
    try:
        device = pick_device(config.device)
        key = device.type
        runs.set_status(run, "queued", "", device=key)
        if use_queue and not dist.active:
            slot = runs.acquire_slot(run, key, flag)
            if slot is None:
                st = runs.set_status(run, "stopped", "Stopped on request while waiting in the queue.")
                writer.write({"type": "end", "time": 0.0, "status": "stopped", "reason": st["reason"]})
                return summary(run, st)
        runs.set_status(run, "running", "Loading the data.", device=key, started=time.time())
        data = load_data(config)
        runs.write_json_atomic(run / "dataset.json", data.describe())
        runs.set_status(run, "running", "", epochs=config.epochs)

        def emit(event: dict) -> None:
            writer.write(event)
            if board:
                board.event(event)
            if event["type"] == "start":
                runs.write_json_atomic(run / "dataset.json", {**event["dataset"], "model_input": event["input_shape"]})
                runs.set_status(
                    run,
                    "running",
                    "",
                    device_name=event["device"],
                    total_steps=event["total_steps"],
                    params=event["params"],
                    trainable_params=event["trainable_params"],
                )
            elif event["type"] == "epoch":
                history.append(event)
                runs.set_status(
                    run,
                    "running",
                    "",
                    **{
                        k: event[k]
                        for k in (
                            "epoch",
                            "step",
                            "train_loss",
                            "val_loss",
                            "val_accuracy",
                            "images_per_second",
                            "time",
                        )
                    },
                )
            on_event(event)

        result = train(
            config,
            data=data,
            device=device,
            emit=emit,
            should_stop=flag,
            checkpoint_path=run / "weights.pt",
            dist=dist,
            snapshot_dir=runs.snapshots_dir(run),
        )
        if result.epochs >= 1 and result.status in ("completed", "stopped") and dist.is_main:
            ev = evaluate_model(result.model, data.val_x, data.val_y, data.class_names, result.val_inputs)
            runs.write_json_atomic(run / "evaluation.json", ev.to_dict())
            if board:
                board.evaluation(ev.confusion)
                board.graph(result.model, tuple(json.loads((run / "dataset.json").read_text())["model_input"]))
        st = runs.set_status(
            run,
            result.status,
            result.reason,
            images_per_second_steady=round(result.images_per_second, 1),
            images_per_second_mean=round(result.images_per_second_mean, 1),
            seconds=round(result.seconds, 2),
        )
    except Exception as exc:  # noqa: BLE001 - every failure becomes a status with a sentence
        traceback.print_exc()  # to log.txt
        reason = failure_reason(exc)
        st = {"status": "failed", "reason": reason}
        try:  # on a full disk these fail too: the handler itself must not raise (readers then see "crashed")
            writer.write({"type": "end", "time": None, "status": "failed", "reason": reason})
            if board:
                board.event({"type": "end", "status": "failed"})
            st = runs.set_status(run, "failed", reason)
        except OSError:
            traceback.print_exc()
    finally:
        try:
            writer.close()
        except OSError:  # the last line could not be flushed to a full disk
            pass
        if board:
            try:
                board.close()
            except OSError:
                pass
        if slot is not None:
            slot.release()
    out = summary(run, st, history)
    try:
        runs.set_status(run, st["status"], st.get("reason", ""), final=out)
    except OSError:
        pass  # the status written above (or the readers' "crashed") stands
    return out
