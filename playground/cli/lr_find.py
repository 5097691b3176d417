"""``python -m playground lr-find [train's flags] [--steps N] [--start-lr A] [--end-lr B] [--json]``.

The learning-rate finder (``playground.training.lr_find``): a short sweep of the config that
``train`` would run, a table of the smoothed loss against the rate, and the suggested rate.
``--plot FILE.html`` also writes the curve (the Training page's figure). ``--json``: one object (``lrs``, ``losses``, ``raw``, ``suggestion``, ``min_loss_lr``, ``stopped_early``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from playground.common.settings import add_flags


def add_parser(sub) -> None:
    from playground.training.loop import TrainConfig

    p = sub.add_parser(
        "lr-find",
        help="sweep the learning rate for a training setup and suggest one (fastai's lr_find)",
        description="A short training sweep with an exponentially growing learning rate; prints the smoothed "
        "loss per rate and the rate where it falls fastest. The same flags as `train`.",
    )
    add_flags(p, TrainConfig)
    p.add_argument("--steps", type=int, default=100, help="sweep steps (5-500, default 100)")
    p.add_argument("--start-lr", type=float, default=1e-7, help="first rate (default 1e-7)")
    p.add_argument("--end-lr", type=float, default=10.0, help="last rate (default 10)")
    p.add_argument("--plot", metavar="FILE.html", help="also write the curve with the suggestion as an HTML page")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from playground.cli.train import config_from_args
    from playground.training.lr_find import lr_find

    config = config_from_args(args)
    if args.plot and not Path(args.plot).parent.is_dir():
        raise ValueError(f"The folder of --plot {args.plot!r} does not exist: create it or write elsewhere.")
    found = lr_find(config, steps=args.steps, start_lr=args.start_lr, end_lr=args.end_lr)
    if args.plot:
        from playground.viz.train import lr_find_figure

        fig = lr_find_figure(found.lrs, found.losses, found.raw, found.suggestion)
        Path(args.plot).write_text(fig.to_html(include_plotlyjs=True), encoding="utf-8")  # opens offline
    if args.json:
        print(json.dumps(found.to_dict()))
        return 0
    every = max(1, len(found.lrs) // 20)
    print(f"{'learning rate':>14}  {'loss (smoothed)':>15}")
    for lr, loss in list(zip(found.lrs, found.losses))[::every]:
        print(f"{lr:>14.2e}  {loss:>15.4f}")
    if found.stopped_early:
        print(f"The loss blew up at {found.lrs[-1]:.2e}: the sweep stopped there.")
    if found.suggestion is None:
        print("No suggestion: the loss never fell. Try a wider sweep (--start-lr, --end-lr) or more --steps.")
    else:
        print(
            f"Suggested learning rate: {found.suggestion:.2e} (steepest descent of the loss; "
            f"lowest loss at {found.min_loss_lr:.2e}). Train with --lr {found.suggestion:.2g}"
        )
    return 0
