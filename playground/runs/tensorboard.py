"""TensorBoard event files in every run folder, so ``tensorboard --logdir runs`` opens every run.

``TensorBoardLog`` takes the same event dicts ``events.jsonl`` records (``playground.training.loop``)
and writes them with ``torch.utils.tensorboard.SummaryWriter``:

- ``step`` events: ``train/loss`` and ``train/lr`` at their step (at most ~400 per run, and a
  ``SummaryWriter`` call only queues a small protobuf for its background thread, so a step costs
  microseconds);
- ``epoch`` events, at the step the epoch ended: ``epoch/train_loss``, ``epoch/val_loss``,
  ``epoch/train_accuracy``, ``epoch/val_accuracy``, ``epoch/images_per_second``, ``epoch/lr``;
- ``snapshot`` events ("Watch it learn", ``playground.training.snapshots``), at their step: the
  first-layer filters, the feature maps, Grad-CAM over the fixed validation images, the confusion
  matrix (``snapshots/...`` images, each at most ``SNAPSHOT_WIDTH`` pixels wide) and the top-3
  predictions as text;
- at the end: the confusion matrix as an image (``evaluation/confusion_matrix``), the model graph
  where ``torch.jit.trace`` can trace the model, and the hyperparameters with the final metrics
  (``add_hparams``: the HPARAMS tab compares runs by them).

``export_run`` replays a run folder made before this existed (``events.jsonl``, ``config.json``,
``evaluation.json``) into the same files: ``python -m playground runs --export-tensorboard``.
TensorBoard must never break a run: every write failure is swallowed after a note in the log.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

EVENT_GLOB = "events.out.tfevents.*"
EPOCH_TAGS = ("train_loss", "val_loss", "train_accuracy", "val_accuracy", "images_per_second", "lr")
HPARAMS = ("model", "dataset", "optimizer", "lr", "schedule", "batch_size", "epochs", "weight_decay", "augment", "seed")
CELL = 28  # pixels per confusion-matrix cell
SNAPSHOT_WIDTH = 192  # pixels: small pictures, so the event file stays small too
MAX_GRAPH_PARAMS = 30_000_000  # tracing a larger model for its graph costs the run more than the picture is worth


def has_tensorboard(run_dir: str | Path) -> bool:
    """Does the run folder hold TensorBoard event files?"""
    return any(Path(run_dir).glob(EVENT_GLOB))


def _note(what: str, exc: BaseException) -> None:
    sys.stderr.write(f"TensorBoard: could not write {what} ({exc.__class__.__name__}: {exc}); the run goes on.\n")


def _hparam(value: Any) -> int | float | str | bool:
    """A value TensorBoard's HPARAMS tab takes: numbers and text; a spec or pipeline dict becomes its name."""
    if isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        return str(value.get("name") or value.get("backbone") or value.get("kind") or "custom")
    return "custom"


def confusion_image(confusion: list[list[int]]) -> np.ndarray:
    """The confusion matrix as an RGB ``(H, W, 3)`` uint8 picture: one square per cell, row-normalised shade,
    the count written in it (rows true, columns predicted, as on the Training page)."""
    from PIL import Image, ImageDraw

    m = np.asarray(confusion, dtype=np.float64)
    n = max(len(m), 1)
    share = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
    img = Image.new("RGB", (n * CELL, n * CELL), "white")
    draw = ImageDraw.Draw(img)
    for i in range(len(m)):
        for j in range(len(m)):
            shade = int(255 * (1 - share[i, j]))
            box = (j * CELL, i * CELL, (j + 1) * CELL - 1, (i + 1) * CELL - 1)
            draw.rectangle(box, fill=(shade, shade, 255))
            if m[i, j]:
                draw.text((j * CELL + 3, i * CELL + 8), f"{int(m[i, j])}", fill="black" if shade > 120 else "white")
    return np.asarray(img)


def _fit_width(image: np.ndarray, width: int = SNAPSHOT_WIDTH) -> np.ndarray:
    """An ``(H, W, 3)`` uint8 picture scaled to ``width`` pixels wide (nearest neighbour: pixels stay crisp)."""
    from PIL import Image

    h, w = image.shape[:2]
    height = max(1, round(h * width / max(w, 1)))
    return np.asarray(Image.fromarray(image).resize((width, height), Image.Resampling.NEAREST))


def snapshot_images(arrays: dict[str, np.ndarray], layers: list[str]) -> dict[str, np.ndarray]:
    """``{tag: (H, W, 3) uint8}`` for one snapshot's arrays (``snapshots.load``); grey or RGB inputs alike."""
    from playground.training import snapshots as sn

    out = {}
    if "filters" in arrays:
        out["snapshots/filters"] = sn.filters_picture(arrays["filters"])
    for j, name in enumerate(layers):
        if f"maps{j}" in arrays:
            out[f"snapshots/feature_maps/{name}"] = sn.maps_picture(arrays[f"maps{j}"])
    if "cam" in arrays:
        out["snapshots/grad_cam"] = sn.cam_picture(arrays["images"], arrays["cam"], side=48)
    if "confusion" in arrays:
        out["snapshots/confusion_matrix"] = confusion_image(arrays["confusion"].tolist())
    return {tag: _fit_width(np.ascontiguousarray(img[..., :3])) for tag, img in out.items()}


class TensorBoardLog:
    """A run folder's TensorBoard writer, fed the run's events as they happen."""

    def __init__(self, run_dir: str | Path, config: dict):
        from torch.utils.tensorboard import SummaryWriter

        self.dir = Path(run_dir)
        self.config = config
        self.writer = SummaryWriter(log_dir=str(self.dir), flush_secs=10)
        self.last_epoch: dict | None = None
        self.status = ""

    def event(self, event: dict) -> None:
        """Write what one run event says (step, epoch and end events; the others carry no series)."""
        try:
            kind, w = event.get("type"), self.writer
            if kind == "step":
                w.add_scalar("train/loss", event["loss"], event["step"])
                w.add_scalar("train/lr", event["lr"], event["step"])
            elif kind == "epoch":
                for tag in EPOCH_TAGS:
                    if event.get(tag) is not None:
                        w.add_scalar(f"epoch/{tag}", event[tag], event["step"])
                self.last_epoch = event
            elif kind == "snapshot":
                self.snapshot(event)
            elif kind == "end":
                self.status = event.get("status", "")
        except Exception as exc:  # noqa: BLE001 - a log never breaks a run
            _note(f"the {event.get('type')} event", exc)

    def snapshot(self, entry: dict) -> None:
        """One snapshot's pictures at its step, and its top-3 predictions as text."""
        from playground.runs.store import snapshots_dir
        from playground.training import snapshots as sn

        folder = snapshots_dir(self.dir)
        index = sn.read_index(folder) or {}
        arrays = sn.load(folder, entry)
        step = int(entry["step"])
        for tag, img in snapshot_images(arrays, index.get("layers", [])).items():
            self.writer.add_image(tag, img, step, dataformats="HWC")
        classes = index.get("classes", [])
        if "top_i" in arrays:
            name = lambda i: classes[i] if 0 <= i < len(classes) else str(i)  # noqa: E731
            rows = [
                f"{name(int(t))}: " + ", ".join(f"{name(int(i))} {p:.0%}" for i, p in zip(ti, tp))
                for t, ti, tp in zip(arrays["labels"], arrays["top_i"], arrays["top_p"])
            ]
            self.writer.add_text("snapshots/top3", "  \n".join(rows), step)

    def evaluation(self, confusion: list[list[int]], step: int | None = None) -> None:
        """The confusion matrix, as a picture (rows true, columns predicted)."""
        try:
            step = step if step is not None else (self.last_epoch or {}).get("step", 0)
            self.writer.add_image("evaluation/confusion_matrix", confusion_image(confusion), step, dataformats="HWC")
        except Exception as exc:  # noqa: BLE001
            _note("the confusion matrix", exc)

    def graph(self, model: torch.nn.Module, input_shape: tuple[int, ...]) -> bool:
        """The model graph, traced on one zero image on the model's device; False where it cannot trace."""
        try:
            if sum(p.numel() for p in model.parameters()) > MAX_GRAPH_PARAMS:
                return False
            p = next(model.parameters())
            x = torch.zeros(1, *input_shape, device=p.device)
            was_training = model.training
            model.eval()
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # torch.jit's deprecation and tracer notes: not the user's
                    self.writer.add_graph(model, x, use_strict_trace=False)
            finally:
                model.train(was_training)
            return True
        except Exception as exc:  # noqa: BLE001 - some models do not trace; the graph is a nicety
            _note("the model graph", exc)
            return False

    def close(self) -> None:
        """The hyperparameters with the final metrics, then flush and close the files."""
        try:
            last = self.last_epoch or {}
            metrics = {f"hparam/{k}": last[k] for k in ("val_accuracy", "val_loss", "train_loss") if k in last}
            hparams = {k: _hparam(self.config[k]) for k in HPARAMS if k in self.config}
            hparams["status"] = self.status or "unknown"
            self.writer.add_hparams(hparams, metrics or {"hparam/val_accuracy": float("nan")}, run_name=".")
        except Exception as exc:  # noqa: BLE001
            _note("the hyperparameters", exc)
        finally:
            self.writer.close()


def export_run(run_dir: str | Path, *, force: bool = False) -> bool:
    """Write TensorBoard files for a run made without them, from its ``events.jsonl`` (and
    ``evaluation.json``); False when it has them already (``force`` writes them again) or has no events."""
    from playground.runs.store import read_events

    run = Path(run_dir)
    if has_tensorboard(run) and not force:
        return False
    if force:
        for old in run.glob(EVENT_GLOB):
            old.unlink()
    events, _ = read_events(run)
    if not events:
        return False
    config = json.loads((run / "config.json").read_text())
    log = TensorBoardLog(run, config)
    for e in events:
        log.event(e)
    evaluation = run / "evaluation.json"
    if evaluation.is_file():
        log.evaluation(json.loads(evaluation.read_text())["confusion"])
    log.close()
    return True
