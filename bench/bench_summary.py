"""Time our layer-by-layer summary against ``torchinfo.summary`` on the same models, in one interleaved run.

Both sides start from a model name and include construction:

- ours:           ``summarize(name)``: builds the spec and does the arithmetic (no module, no tensor);
- torchinfo meta: build the ``nn.Module`` under ``torch.device("meta")`` and run ``torchinfo.summary`` on a
                  meta input (no weights, no real compute; pays for meta-tensor dispatch);
- torchinfo cpu:  build the module on the CPU and run ``torchinfo.summary(model, input_size=...)``, as people
                  usually call it (real weight initialisation and a real forward pass).

The baseline is the faster of the two torchinfo ways **for each model** (the CPU is faster for small
models, meta for large ones), so the ratio is against the best a careful torchinfo user gets.

Rounds are interleaved (model by model, the three ways in turn) so load on a shared machine hits all
sides alike; each figure is the median. The numbers are checked, not just timed: parameters,
trainable parameters, torchinfo's mult-adds and every leaf layer's output shape must be identical.

Then the whole process, as a user at a shell feels it: ``python -m playground summary resnet50 --json``
against a script that imports torch, torchvision and torchinfo and prints ``torchinfo.summary`` of
torchvision's ``resnet50`` (the faster of meta and CPU construction), alternated, median of --process-repeats.

    python bench/bench_summary.py [--repeats 3] [--models resnet50 vgg16 ...] [--process-repeats 5]
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
import torchinfo  # noqa: E402

from playground.models.summary import summarize  # noqa: E402
from playground.models.zoo import build_model, preset_info  # noqa: E402

MODELS = ["simplecnn", "resnet20", "resnet56", "alexnet", "vgg16", "resnet18", "resnet50", "resnet152"]


def ours(name: str):
    return summarize(name)


def torchinfo_meta(name: str):
    with torch.device("meta"):
        model = build_model(name)
    c, h, w = preset_info(name)["default_input"]
    return torchinfo.summary(model, input_data=torch.empty(1, c, h, w, device="meta"), device="meta", verbose=0)


def torchinfo_cpu(name: str):
    model = build_model(name)
    c, h, w = preset_info(name)["default_input"]
    return torchinfo.summary(model, input_size=(1, c, h, w), device="cpu", verbose=0)


def identical(s, info) -> str:
    """'identical', or what differs."""
    rows = [r.output_shape for r in s.rows if r.kind != "add"]
    leaves = [tuple(li.output_size) for li in info.summary_list if li.is_leaf_layer]
    checks = {
        "params": (s.total_params, info.total_params),
        "trainable": (s.trainable_params, info.trainable_params),
        "mult-adds": (s.torchinfo_mult_adds(), info.total_mult_adds),
        "shapes": (rows, leaves),
    }
    bad = [k for k, (a, b) in checks.items() if a != b]
    return "identical" if not bad else "DIFFERENT: " + ", ".join(bad)


def timed(fn, name):
    gc.collect()
    start = time.perf_counter()
    out = fn(name)
    return time.perf_counter() - start, out


ROOT = Path(__file__).resolve().parents[1]

TORCHINFO_SCRIPT = """
import torch, torchinfo
from torchvision.models import resnet50
if {meta}:
    with torch.device("meta"):
        model = resnet50()
    print(torchinfo.summary(model, input_data=torch.empty(1, 3, 224, 224, device="meta"), device="meta", verbose=0))
else:
    print(torchinfo.summary(resnet50(), input_size=(1, 3, 224, 224), device="cpu", verbose=0))
"""


def process_seconds(argv: list[str]) -> float:
    t0 = time.perf_counter()
    out = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=300, env={**os.environ})
    if out.returncode != 0:
        raise RuntimeError(f"{argv[:4]} failed: {out.stderr[-500:]}")
    return time.perf_counter() - t0


def part_process(repeats: int) -> None:
    """Whole process, imports included: our CLI against the torchvision + torchinfo script."""
    sides = {
        "python -m playground summary resnet50 --json": [
            sys.executable,
            "-m",
            "playground",
            "summary",
            "resnet50",
            "--json",
        ],
        "torchvision + torchinfo script, meta": [sys.executable, "-c", TORCHINFO_SCRIPT.format(meta=True)],
        "torchvision + torchinfo script, cpu": [sys.executable, "-c", TORCHINFO_SCRIPT.format(meta=False)],
    }
    times: dict[str, list[float]] = {k: [] for k in sides}
    for k, argv in sides.items():  # warm the page cache for every side's files
        process_seconds(argv)
    for r in range(repeats):
        for k in list(sides) if r % 2 == 0 else reversed(list(sides)):
            times[k].append(process_seconds(sides[k]))
    med = {k: statistics.median(v) for k, v in times.items()}
    ours_key = next(iter(sides))
    base_key = min((k for k in sides if k != ours_key), key=med.get)
    print(f"\nwhole process, imports included (median of {repeats} alternated runs):")
    for k, v in med.items():
        print(f"  {k:<46} {v:6.2f} s")
    per_round = ", ".join(f"{b / o:.2f}" for o, b in zip(times[ours_key], times[base_key]))
    print(f"process ratio: {med[base_key] / med[ours_key]:.2f}x faster than the {base_key} (per round: {per_round})")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=MODELS)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-cpu", action="store_true", help="skip torchinfo with CPU construction (slow for VGG)")
    parser.add_argument("--process-repeats", type=int, default=5, help="whole-process runs per side (0: skip)")
    args = parser.parse_args(argv)
    sides = {"ours": ours, "torchinfo meta": torchinfo_meta}
    if not args.no_cpu:
        sides["torchinfo cpu"] = torchinfo_cpu
    torch.set_grad_enabled(False)
    for name in args.models:  # warm-up: imports, first-call caches
        for fn in sides.values():
            fn(name)
    times = {(m, k): [] for m in args.models for k in sides}
    verdict = {}
    for r in range(args.repeats):
        for name in args.models:
            order = list(sides.items()) if r % 2 == 0 else list(reversed(sides.items()))
            results = {}
            for key, fn in order:
                t, results[key] = timed(fn, name)
                times[(name, key)].append(t)
            verdict[name] = identical(results["ours"], results["torchinfo meta"])
    print(
        f"torch {torch.__version__}, torchinfo {torchinfo.__version__}, {torch.get_num_threads()} threads; "
        f"median of {args.repeats} interleaved rounds, construction included\n"
    )
    head = f"{'model':<11} {'ours ms':>9} {'torchinfo meta ms':>18}"
    head += f" {'torchinfo cpu ms':>17}" if not args.no_cpu else ""
    print(head + f" {'best torchinfo':>15} {'ratio':>7}  numbers")
    ratios_best, ratios_meta = [], []
    for name in args.models:
        o = statistics.median(times[(name, "ours")])
        m = statistics.median(times[(name, "torchinfo meta")])
        c = statistics.median(times[(name, "torchinfo cpu")]) if not args.no_cpu else float("inf")
        best, which = min((m, "meta"), (c, "cpu"))
        ratios_best.append(best / o)
        ratios_meta.append(m / o)
        line = f"{name:<11} {o * 1e3:>9.2f} {m * 1e3:>18.1f}"
        line += f" {c * 1e3:>17.1f}" if not args.no_cpu else ""
        print(line + f" {which:>15} {best / o:>6.0f}x  {verdict[name]}")
    gmean = statistics.geometric_mean
    print(
        f"\ngeometric mean speed-up over the faster torchinfo way per model: {gmean(ratios_best):.0f}x "
        f"(over torchinfo on meta alone: {gmean(ratios_meta):.0f}x)"
    )
    print(f"slowest ratio: {min(ratios_best):.0f}x (target: at least 10x, identical numbers)")
    if args.process_repeats:
        part_process(args.process_repeats)
    return 0 if all(v == "identical" for v in verdict.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
