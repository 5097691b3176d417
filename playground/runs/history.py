"""A run's events turned into what people read: curves, progress with ETA, outcome, comparisons.

The Training page polls ``runs.read_events(run, offset)`` every second and feeds the new
events to a ``RunHistory``; everything here is plain Python over those events (no torch, no
streamlit), so the page stays thin and the arithmetic is tested on its own.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

MAX_POINTS = 2000  # per trace: a chart of more points only costs the browser


@dataclass
class Progress:
    """Where a run stands: fractions, rates and the time left."""

    fraction: float  # 0..1 of the planned steps
    step: int
    total_steps: int
    epoch: float  # fractional epoch of the last step event
    epochs: int
    elapsed: float  # seconds since the run began training
    images_per_second: float | None
    eta_seconds: float | None  # None until the rate is known, and once the run ended

    def text(self) -> str:
        """``Epoch 2.5 of 5 · step 120 of 240 · 1,850 img/s · about 14 s left``."""
        parts = [f"Epoch {self.epoch:.1f} of {self.epochs}", f"step {self.step:,} of {self.total_steps:,}"]
        if self.images_per_second:
            parts.append(f"{self.images_per_second:,.0f} img/s")
        if self.eta_seconds is not None and self.fraction < 1:
            parts.append("almost done" if self.eta_seconds < 1 else f"about {duration(self.eta_seconds)} left")
        return " · ".join(parts)


def duration(seconds: float) -> str:
    """``14 s``, ``3 min 5 s``, ``1 h 2 min``."""
    s = int(round(max(seconds, 0)))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    return f"{s // 3600} h {s % 3600 // 60} min"


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _count(v) -> int:
    """A positive whole count from an event field; 1 when it is missing or damaged."""
    return int(v) if _is_number(v) and math.isfinite(v) and v >= 1 else 1


def _numbers(e: dict, keys: tuple[str, ...]) -> bool:
    """Does event ``e`` carry these keys as finite numbers (the ones the curves and progress index by)?"""
    return all(_is_number(e.get(k)) and math.isfinite(e[k]) for k in keys)


@dataclass
class RunHistory:
    """Everything a run reported so far, grouped by event type."""

    start: dict | None = None
    steps: list[dict] = field(default_factory=list)
    epochs: list[dict] = field(default_factory=list)
    end: dict | None = None

    def add(self, events: list[dict]) -> "RunHistory":
        """Take new events (in order); returns self."""
        for e in events:
            kind = e.get("type") if isinstance(e, dict) else None
            if kind == "start":
                self.start = e
            elif kind == "step" and _numbers(e, ("step", "epoch", "time")):
                self.steps.append(e)
            elif kind == "epoch" and _numbers(e, ("step", "epoch")):
                self.epochs.append(e)
            elif kind == "end":
                self.end = e
        return self

    @classmethod
    def from_events(cls, events: list[dict]) -> "RunHistory":
        return cls().add(events)

    def progress(self, now_wall: float | None = None) -> Progress | None:
        """Progress with throughput and ETA (from the recent step rate); None before the start event."""
        if not self.start:
            return None
        total = _count(self.start.get("total_steps"))
        epochs = _count(self.start.get("epochs"))
        last = self.steps[-1] if self.steps else None
        step = int(last["step"]) if last else 0
        epoch = float(last["epoch"]) if last else 0.0
        t0 = float(self.start["time"]) if _is_number(self.start.get("time")) else 0.0
        elapsed = float(last["time"]) if last else t0
        if now_wall is not None and _is_number(self.start.get("wall")) and not self.end:
            elapsed = max(elapsed, now_wall - (self.start["wall"] - t0))
        rate = self._step_rate()
        batch = self.start.get("batch_size")
        ips = rate * float(batch) if rate and _is_number(batch) else None
        if self.epochs and _is_number(self.epochs[-1].get("images_per_second")):
            ips = self.epochs[-1]["images_per_second"] or ips
        eta = (total - step) / rate if rate and not self.end else None
        return Progress(min(step / total, 1.0), step, total, epoch, epochs, elapsed, ips, eta)

    def _step_rate(self, window: int = 30) -> float | None:
        """Steps per second over the last ``window`` step events (validation pauses included)."""
        recent = self.steps[-window:]
        if len(recent) < 2:
            return None
        dt = float(recent[-1]["time"]) - float(recent[0]["time"])
        return (recent[-1]["step"] - recent[0]["step"]) / dt if dt > 0 else None

    def series(self, key: str, *, per: str = "step") -> tuple[list[float], list[float]]:
        """``(x, y)`` of a metric: per step (x = step) or per epoch (x = epoch); missing values skipped."""
        rows = self.steps if per == "step" else self.epochs
        xs, ys = [], []
        for e in rows:
            v = e.get(key)
            if not _is_number(v) or not math.isfinite(v):
                continue  # missing, null, or not a number in a damaged file
            xs.append(e["step"] if per == "step" else e["epoch"])
            ys.append(float(v))
        return xs, ys

    def step_epochs(self) -> list[float]:
        """The fractional epoch of every step event (to overlay runs with different step counts)."""
        return [float(e["epoch"]) for e in self.steps if e.get("loss") is not None]

    def best(self, key: str = "val_accuracy") -> dict | None:
        """The epoch event with the highest ``key``."""
        rows = [e for e in self.epochs if _is_number(e.get(key))]
        return max(rows, key=lambda e: e[key]) if rows else None


def smooth(values: list[float], weight: float) -> list[float]:
    """Exponential moving average with TensorBoard's debiasing: ``weight`` 0 = raw, 0.99 = very smooth."""
    weight = min(max(float(weight), 0.0), 0.999)
    out, avg, norm = [], 0.0, 0.0
    for v in values:
        avg = weight * avg + (1 - weight) * v
        norm = weight * norm + (1 - weight)
        out.append(avg / norm)
    return out


def thin(xs: list, ys: list, max_points: int = MAX_POINTS) -> tuple[list, list]:
    """Every k-th point so at most ``max_points`` remain (the last point always kept)."""
    if len(xs) <= max_points:
        return xs, ys
    k = math.ceil(len(xs) / max_points)
    idx = list(range(0, len(xs), k))
    if idx[-1] != len(xs) - 1:
        idx.append(len(xs) - 1)
    return [xs[i] for i in idx], [ys[i] for i in idx]


# ---------------------------------------------------------------------------------------------
# Outcomes and comparisons


def outcome(status: str, reason: str, final: dict | None = None) -> tuple[str, str]:
    """``(level, sentence)`` for a run's state; level is one of info, success, warning, error."""
    final = final or {}
    acc = final.get("final_val_accuracy")
    if status == "completed":
        secs = final.get("seconds")
        return "success", (
            f"Completed {final.get('epochs', '?')} epoch(s)"
            + (f": {acc:.1%} validation accuracy" if acc is not None else "")
            + (f" in {duration(secs)}" if secs else "")
            + "."
        )
    if status == "stopped":
        return "info", reason or "Stopped on request."
    if status == "queued":
        return "info", reason or "Queued: it starts when the device is free."
    if status == "running":
        return "info", reason or "Running."
    if status == "diverged":
        return "error", reason or "The loss became NaN or infinite: training diverged. Try a lower learning rate."
    if status == "crashed":
        return "error", reason or "The run's process ended without a word. Its metrics so far are kept."
    return "error", reason or "The run failed; its log has the details."


HYPERPARAMETERS = (
    "model",
    "dataset",
    "dataset_size",
    "image_size",
    "augment",
    "val_augment",
    "optimizer",
    "lr",
    "momentum",
    "nesterov",
    "weight_decay",
    "schedule",
    "label_smoothing",
    "batch_size",
    "epochs",
    "seed",
    "data_seed",
    "device",
)


def short_value(value) -> str:
    """A table cell for a config value (specs and transfer setups as a short label)."""
    if isinstance(value, dict):
        if value.get("kind") == "transfer":
            role = value.get("role") or value.get("mode", "").replace("_", " ")
            if role == "from scratch":  # the twin: random weights, everything trains
                return f"{value.get('backbone')} (from scratch)"
            return f"{value.get('backbone')} ({role}, {value.get('weights')} weights)"
        if "steps" in value:
            return " + ".join(s["name"] for s in value["steps"] if s.get("enabled", True)) or "none"
        return str(value.get("name") or "custom spec")
    if isinstance(value, float):
        return f"{value:g}"
    text = str(value)
    return text.rsplit("/", 1)[-1] if "/" in text else text


def compare_rows(runs: list) -> tuple[list[str], list[list[str]], list[bool]]:
    """A hyperparameter table for ``runs`` (``RunInfo``s): ``(fields, cells[field][run], differs[field])``.

    Fields whose values differ between the runs come first; results (status, accuracy, speed) last.
    """
    fields, cells, differs = [], [], []
    for name in HYPERPARAMETERS:
        row = [short_value(r.config.get(name, "")) for r in runs]
        fields.append(name)
        cells.append(row)
        differs.append(len(set(row)) > 1)
    order = sorted(range(len(fields)), key=lambda i: not differs[i])
    fields, cells, differs = [fields[i] for i in order], [cells[i] for i in order], [differs[i] for i in order]

    def pct(v):
        return "" if v is None else f"{v:.1%}"

    extra = {
        "status": [r.status for r in runs],
        "val accuracy": [pct(r.final.get("final_val_accuracy", r.progress.get("val_accuracy"))) for r in runs],
        "val loss": [
            ("" if (v := r.final.get("final_val_loss", r.progress.get("val_loss"))) is None else f"{v:.4f}")
            for r in runs
        ],
        "images/s": [
            (
                ""
                if (v := r.final.get("images_per_second") or r.progress.get("images_per_second")) is None
                else f"{v:,.0f}"
            )
            for r in runs
        ],
        "seconds": [("" if (v := r.final.get("seconds")) is None else f"{v:.1f}") for r in runs],
    }
    for name, row in extra.items():
        fields.append(name)
        cells.append(row)
        differs.append(False)
    return fields, cells, differs


def confused_pairs(confusion: list[list[int]], class_names: list[str], k: int = 5) -> list[tuple[str, str, int]]:
    """The ``k`` most frequent mistakes: ``(true class, predicted class, count)``, largest first."""
    pairs = [
        (class_names[t], class_names[p], n)
        for t, row in enumerate(confusion)
        for p, n in enumerate(row)
        if t != p and n > 0
    ]
    return sorted(pairs, key=lambda x: -x[2])[:k]


def age(created: float, now: float | None = None) -> str:
    """``just now``, ``5 min ago``, ``3 h ago``, ``2 days ago``."""
    s = max((now or time.time()) - created, 0)
    if s < 60:
        return "just now"
    if s < 3600:
        return f"{int(s // 60)} min ago"
    if s < 86400:
        return f"{int(s // 3600)} h ago"
    return f"{int(s // 86400)} days ago"
