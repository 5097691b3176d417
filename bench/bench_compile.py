"""Does ``TrainConfig.compile`` pay? Training steps eager against ``torch.compile`` (inductor), in the same run.

SimpleCNN (the default model) on CIFAR-sized batches of 128 (``--model``, ``--batch``): the compiled
module's first steps (the compile itself) are timed apart, then eager and compiled steps alternate in
blocks (median of --repeats) so machine load hits both alike. It prints the compile time, the time
per step of each, the ratio, and how many steps it takes to earn the compile back. Runs on the
device ``pick_device`` finds (``--device cpu`` to force the CPU). Run: ``python bench/bench_compile.py``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from playground.common.device import pick_device  # noqa: E402
from playground.models.zoo import build_model  # noqa: E402


def steps(forward, opt, x, y, n: int, device: torch.device) -> float:
    """Seconds per training step over ``n`` steps."""
    t0 = time.perf_counter()
    for _ in range(n):
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cuda", torch.bfloat16, enabled=device.type == "cuda"):
            loss = F.cross_entropy(forward(x).float(), y)
        loss.backward()
        opt.step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return (time.perf_counter() - t0) / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="simplecnn")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=10, help="steps per timed block")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()
    device = pick_device(args.device)
    net = build_model(args.model).to(device, memory_format=torch.channels_last)
    shape = next(net.parameters()).shape  # only to get the first conv's channels
    x = torch.randn(args.batch, shape[1], 32, 32, device=device).to(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (args.batch,), device=device)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    compiled = torch.compile(net)
    t0 = time.perf_counter()
    steps(compiled, opt, x, y, 2, device)  # compiles forward and backward
    compile_s = time.perf_counter() - t0
    steps(net, opt, x, y, 2, device)  # eager warm-up
    eager, comp = [], []
    for _ in range(args.repeats):
        eager.append(steps(net, opt, x, y, args.steps, device))
        comp.append(steps(compiled, opt, x, y, args.steps, device))
    te, tc = statistics.median(eager), statistics.median(comp)
    print(f"{args.model}, batch {args.batch}, on {device}:")
    print(f"  compile (first 2 steps):  {compile_s:7.1f} s")
    print(f"  eager (baseline):         {te * 1e3:7.1f} ms per step")
    print(f"  torch.compile:            {tc * 1e3:7.1f} ms per step ({te / tc:.2f}x eager's speed)")
    if tc < te:
        print(f"  the compile is earned back after {compile_s / (te - tc):,.0f} steps")
    else:
        print("  compiled steps are no faster: the compile is never earned back")


if __name__ == "__main__":
    main()
