"""What TensorBoard costs a run: one step event written to TensorBoard against the same event written to
``events.jsonl`` (what every run already pays), and against one training step, in the same run.

A run writes a step event every ``log_every`` steps (about 400 per run), so even the per-event cost
is spread over many steps. Both writers are timed alternately in blocks (median of --repeats),
so machine load hits both alike. Run: ``python bench/bench_tensorboard.py``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from playground.models.zoo import build_model  # noqa: E402
from playground.runs.store import EventWriter  # noqa: E402
from playground.runs.tensorboard import TensorBoardLog  # noqa: E402


def per_event(write, n: int, start: int) -> float:
    t0 = time.perf_counter()
    for i in range(start, start + n):
        write({"type": "step", "time": 1.0, "step": i, "epoch": i / 100, "loss": 1.0 / (i + 1), "lr": 0.1})
    return (time.perf_counter() - t0) / n


def train_step_seconds(repeats: int) -> float:
    """One SGD step of the default SimpleCNN on a 128-image CIFAR-sized batch on the CPU."""
    net = build_model("simplecnn")
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    x, y = torch.randn(128, 3, 32, 32), torch.randint(0, 10, (128,))
    times = []
    for _ in range(repeats + 1):
        t0 = time.perf_counter()
        opt.zero_grad()
        F.cross_entropy(net(x), y).backward()
        opt.step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times[1:])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=2000, help="step events per block")
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        jsonl = EventWriter(Path(tmp) / "events.jsonl")
        board = TensorBoardLog(tmp, {"model": "simplecnn"})
        a, b = [], []
        for r in range(args.repeats):
            a.append(per_event(jsonl.write, args.events, r * args.events))
            b.append(per_event(board.event, args.events, r * args.events))
        jsonl.close()
        board.close()
    step = train_step_seconds(args.repeats)
    tj, tb = statistics.median(a), statistics.median(b)
    print(f"events.jsonl (baseline):  {tj * 1e6:8.1f} us per step event")
    print(f"TensorBoard:              {tb * 1e6:8.1f} us per step event ({tb / tj:.2f}x the jsonl write)")
    print(f"one training step:        {step * 1e3:8.1f} ms (SimpleCNN, batch 128, 1 CPU thread)")
    print(f"TensorBoard / training step: {tb / step:.2%} when every step writes an event")


if __name__ == "__main__":
    main()
