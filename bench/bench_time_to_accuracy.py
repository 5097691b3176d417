"""Time to accuracy as a user feels it: from launching a run to the epoch that reaches the target.

    python bench/bench_time_to_accuracy.py [--repeats 3] [--datasets shapes digits]

Each run is launched through the run store (``playground.runs.store.launch``: a new
``python -m playground train --run-dir`` process, exactly what the Launch button starts), so the
clock includes process start, imports, the data (generated or read) and model construction.
Reported per run: the seconds from the launch call to the run's first event (process start to
the first step), and to the first epoch whose validation accuracy reaches the target (90% on
``shapes``, 98% on ``digits``), from the run's own events.

Contenders, alternated run by run (so load on a shared machine hits both alike), median of
--repeats:

- **default**: the ``TrainConfig`` defaults, the recipe a user gets by clicking Launch;
- **previous default** (the baseline): the recipe that was the default before the time-to-accuracy
  tuning (``PREVIOUS``, below), on the same data and the same seed.

Targets on a quiet 2-core machine: 90% on shapes within 30 s, 98% on digits within 10 s, first
step within 3 s of the launch.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playground.runs import store as runs  # noqa: E402
from playground.training.loop import TrainConfig  # noqa: E402

TARGETS = {"shapes": 0.90, "digits": 0.98}

# The default recipe before the time-to-accuracy tuning (main at fa77260): SGD + Nesterov, lr 0.4,
# one-cycle, label smoothing 0.1, batch 128, 5 epochs, no augmentation.
PREVIOUS = dict(
    optimizer="sgd",
    lr=0.4,
    momentum=0.9,
    nesterov=True,
    weight_decay=5e-4,
    schedule="onecycle",
    label_smoothing=0.1,
    batch_size=128,
    epochs=5,
    augment="none",
)


def recipes(dataset: str) -> dict[str, TrainConfig]:
    base = TrainConfig(dataset=dataset, device="cpu")
    return {"default": base, "previous default": replace(base, **PREVIOUS)}


def time_to(config: TrainConfig, target: float, store: Path, timeout: float) -> dict:
    """Launch one run through the store and read, from its events, when it started and hit ``target``."""
    t_launch = time.time()
    run = runs.launch(config, store)
    runs.wait(run, timeout=timeout)
    events, _ = runs.read_events(run)
    start = next((e for e in events if e["type"] == "start"), None)
    if start is None:
        return {"status": runs.read_status(run).get("status"), "first_step": None, "hit": None, "final": None}
    t0 = start["wall"] - start["time"]  # wall clock of the trainer's t = 0
    first_step = next((e for e in events if e["type"] == "step"), None)
    epochs = [e for e in events if e["type"] == "epoch"]
    hit = next((e for e in epochs if e["val_accuracy"] >= target), None)
    return {
        "status": runs.read_status(run).get("status"),
        "first_step": (t0 + first_step["time"] - t_launch) if first_step else None,
        "hit": (t0 + hit["time"] - t_launch) if hit else None,
        "epoch": hit["epoch"] if hit else None,
        "final": epochs[-1]["val_accuracy"] if epochs else None,
        "end": (t0 + epochs[-1]["time"] - t_launch) if epochs else None,
    }


def _median(values: list[float | None]) -> float | None:
    got = [v for v in values if v is not None]
    return statistics.median(got) if len(got) == len(values) and got else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--datasets", nargs="+", default=list(TARGETS))
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args(argv)
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"# bench_time_to_accuracy: {os.cpu_count()} CPUs, load average {load}; median of {args.repeats}")
    with tempfile.TemporaryDirectory() as d:
        store = Path(d) / "runs"
        for dataset in args.datasets:
            target = TARGETS[dataset]
            contenders = recipes(dataset)
            results: dict[str, list[dict]] = {k: [] for k in contenders}
            print(f"\n## {dataset}: launch -> {target:.0%} validation accuracy")
            for r in range(args.repeats):
                for name in list(contenders) if r % 2 == 0 else reversed(list(contenders)):
                    res = time_to(contenders[name], target, store, args.timeout)
                    results[name].append(res)
                    fmt = lambda v: "-" if v is None else f"{v:.1f} s"  # noqa: E731
                    print(
                        f"round {r + 1} {name:<17} first step {fmt(res['first_step'])}, {target:.0%} at "
                        f"{fmt(res['hit'])} (epoch {res.get('epoch')}), final {res['final'] or 0:.1%} at "
                        f"{fmt(res.get('end'))}, {res['status']}",
                        flush=True,
                    )
            med = {k: _median([x["hit"] for x in v]) for k, v in results.items()}
            first = {k: _median([x["first_step"] for x in v]) for k, v in results.items()}
            for k in contenders:
                hit = "not reached in every run" if med[k] is None else f"{med[k]:.1f} s"
                print(f"median {k:<17} {target:.0%} at {hit}; first step {first[k] or 0:.1f} s after the launch")
            if med["default"] and med["previous default"]:
                per_round = ", ".join(
                    f"{b['hit'] / a['hit']:.2f}" if a["hit"] and b["hit"] else "-"
                    for a, b in zip(results["default"], results["previous default"])
                )
                print(
                    f"ratio previous default / default time to {target:.0%}: "
                    f"{med['previous default'] / med['default']:.2f}x (per round: {per_round})"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
