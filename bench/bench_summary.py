"""Time our layer-by-layer summary against ``torchinfo.summary`` on the same models, in one interleaved run.

Both sides start from a model name and include construction:

- ours:           ``summarize(name)``: builds the spec and does the arithmetic (no module, no tensor);
- torchinfo meta: build the ``nn.Module`` under ``torch.device("meta")`` and run ``torchinfo.summary`` on a
                  meta input (the fastest honest way to use torchinfo: no weights, no real compute);
- torchinfo cpu:  build the module on the CPU and run ``torchinfo.summary(model, input_size=...)``, as people
                  usually call it (real weight initialisation and a real forward pass).

Rounds are interleaved (model by model, the three ways in turn) so load on a shared machine hits all
sides alike; each figure is the median. The numbers are checked, not just timed: parameters,
trainable parameters, torchinfo's mult-adds and every leaf layer's output shape must be identical.

    python bench/bench_summary.py [--repeats 3] [--models resnet50 vgg16 ...] [--no-cpu]
"""

from __future__ import annotations

import argparse
import gc
import statistics
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=MODELS)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-cpu", action="store_true", help="skip torchinfo with CPU construction (slow for VGG)")
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
    head = f"{'model':<11} {'ours ms':>9} {'torchinfo meta ms':>18} {'ratio':>7}"
    head += f" {'torchinfo cpu ms':>17} {'ratio':>8}" if not args.no_cpu else ""
    print(head + "  numbers")
    ratios_meta, ratios_cpu = [], []
    for name in args.models:
        o = statistics.median(times[(name, "ours")])
        m = statistics.median(times[(name, "torchinfo meta")])
        ratios_meta.append(m / o)
        line = f"{name:<11} {o * 1e3:>9.2f} {m * 1e3:>18.1f} {m / o:>6.0f}x"
        if not args.no_cpu:
            c = statistics.median(times[(name, "torchinfo cpu")])
            ratios_cpu.append(c / o)
            line += f" {c * 1e3:>17.1f} {c / o:>7.0f}x"
        print(line + f"  {verdict[name]}")
    gmean = statistics.geometric_mean
    print(
        f"\ngeometric mean speed-up: {gmean(ratios_meta):.0f}x over torchinfo (meta construction)"
        + (f", {gmean(ratios_cpu):.0f}x over torchinfo (CPU construction)" if ratios_cpu else "")
    )
    print(f"slowest ratio: {min(ratios_meta):.0f}x (target: at least 10x, identical numbers)")
    return 0 if all(v == "identical" for v in verdict.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
