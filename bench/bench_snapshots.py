"""What "Watch it learn" costs a run: the same seeded run with snapshots (and their TensorBoard images)
against without, interleaved in one process, so machine load hits both alike.

Both arms train the same config on the same loaded data and write their events to TensorBoard (as
the run process does); the snapshot arm also records ``snapshots/`` (steps 0, 10, 50 and every
epoch) and turns each snapshot into TensorBoard images. Reported: the median wall time of
``train()`` per arm, the throughput ratio (with / without, the median of the pairs' ratios: 1.0
means free; the budget is a cost under 3%, a ratio >= 0.97), the time spent recording and drawing
snapshots as a share of the runs that did (timed inside those runs: load on the machine hits both
parts alike, so this share is the steadier figure on a busy machine) and the snapshot folder's size.
Run: ``python bench/bench_snapshots.py`` (the page's default run: SimpleCNN on shapes, 5 epochs, about
a minute a run on a 2-core CPU); ``--dataset-size 2000`` is a short run, where the snapshots' fixed cost
weighs more.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playground.runs.tensorboard import TensorBoardLog  # noqa: E402
from playground.training.loop import TrainConfig, load_data, train  # noqa: E402
from playground.training.snapshots import SnapshotRecorder  # noqa: E402

SPENT = [0.0]  # seconds inside snapshot recording and its TensorBoard pictures


def _timed(fn):
    def wrapper(*a, **k):
        t0 = time.perf_counter()
        try:
            return fn(*a, **k)
        finally:
            SPENT[0] += time.perf_counter() - t0

    return wrapper


SnapshotRecorder.__init__ = _timed(SnapshotRecorder.__init__)
SnapshotRecorder.record = _timed(SnapshotRecorder.record)
TensorBoardLog.snapshot = _timed(TensorBoardLog.snapshot)


def one_run(config: TrainConfig, data, snapshots: bool) -> tuple[float, float, int, float]:
    """(seconds, images per second over the whole run, snapshot bytes, seconds spent on snapshots) of one run."""
    SPENT[0] = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "snapshots"
        board = TensorBoardLog(tmp, config.to_dict())
        t0 = time.perf_counter()
        result = train(config, data=data, emit=board.event, snapshot_dir=folder if snapshots else None)
        seconds = time.perf_counter() - t0
        board.close()
        size = sum(p.stat().st_size for p in folder.iterdir()) if folder.is_dir() else 0
    images = len(data.train_y) * result.epochs
    return seconds, images / seconds, size, SPENT[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default=TrainConfig().dataset)
    ap.add_argument("--dataset-size", type=int, default=0, help="0: the dataset's default (the run the page launches)")
    ap.add_argument("--epochs", type=int, default=TrainConfig().epochs)
    ap.add_argument("--model", default=TrainConfig().model)
    ap.add_argument("--repeats", type=int, default=3, help="pairs of runs (the order alternates)")
    args = ap.parse_args()
    config = TrainConfig(
        dataset=args.dataset, dataset_size=args.dataset_size, epochs=args.epochs, model=args.model, device="cpu"
    )
    data = load_data(config)
    one_run(TrainConfig(**{**config.to_dict(), "epochs": 1}), data, True)  # warm-up: first-call costs for neither arm
    runs = {False: [], True: []}
    size, shares = 0, []
    for r in range(args.repeats):
        for snapshots in (False, True) if r % 2 == 0 else (True, False):
            seconds, ips, nbytes, spent = one_run(config, data, snapshots)
            runs[snapshots].append((seconds, ips))
            size = max(size, nbytes)
            if snapshots:
                shares.append(spent / seconds)
            print(f"  pair {r + 1}: {'with' if snapshots else 'without'} snapshots {seconds:7.2f} s, {ips:7.0f} img/s")
    base = statistics.median(s for s, _ in runs[False])
    snap = statistics.median(s for s, _ in runs[True])
    ratio = statistics.median(b / a for (a, _), (b, _) in zip(runs[True], runs[False]))
    print(
        f"{args.model} on {data.describe().get('name', args.dataset)}, {len(data.train_y)} images, {args.epochs} epochs"
    )
    print(f"without snapshots (baseline): {base:7.2f} s (median of {args.repeats})")
    print(f"with snapshots:               {snap:7.2f} s")
    print(
        f"throughput ratio (with / without, median of pairs): {ratio:.3f}  -> cost {1 - ratio:+.1%} (budget: under 3%)"
    )
    print(f"time in snapshots, timed inside the runs: {statistics.median(shares):.2%} of a run (median)")
    print(f"snapshot folder: {size / 1024:.0f} KB (budget {5 * 1024} KB)")


if __name__ == "__main__":
    main()
