"""``python -m playground runs``: list the runs in the run store (and stop or delete one)."""

from __future__ import annotations

import argparse
import json
import time


def add_parser(sub) -> None:
    p = sub.add_parser(
        "runs",
        help="list training runs (newest first); stop or delete one",
        description="List the training runs in the run store, newest first.",
    )
    p.add_argument("--runs-dir", help="run store (default $PLAYGROUND_RUNS_DIR or ./runs)")
    p.add_argument("--stop", metavar="RUN", help="stop this run (its id or folder)")
    p.add_argument("--delete", metavar="RUN", help="delete this finished run (its id or folder)")
    p.add_argument(
        "--export-tensorboard",
        nargs="?",
        const="all",
        metavar="RUN",
        help="write TensorBoard files for runs made without them (all finished runs, or RUN); "
        "then `tensorboard --logdir` the run store",
    )
    p.add_argument("--json", action="store_true", help="print the list as JSON")
    p.set_defaults(func=run)


def _find(runs, root, name: str):
    from pathlib import Path

    path = Path(name)
    candidate = path if path.is_dir() else runs.runs_dir(root) / name
    if not (candidate / "config.json").is_file():
        raise ValueError(f"There is no run {name!r} in {runs.runs_dir(root)}: `python -m playground runs` lists them.")
    return candidate


def run(args: argparse.Namespace) -> int:
    from playground.runs import store as runs

    if args.stop:
        status = runs.stop(_find(runs, args.runs_dir, args.stop))
        print(f"{args.stop}: {status}")
        return 0
    if args.export_tensorboard:
        return _export_tensorboard(runs, args)
    if args.delete:
        runs.delete_run(_find(runs, args.runs_dir, args.delete), args.runs_dir)
        print(f"Deleted {args.delete}.")
        return 0
    infos = runs.list_runs(args.runs_dir)
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "id": r.id,
                        "run_dir": str(r.path),
                        "status": r.status,
                        "reason": r.reason,
                        "created": r.created,
                        "model": r.config.get("model"),
                        "dataset": r.config.get("dataset"),
                        **r.progress,
                        "final": r.final,
                    }
                    for r in infos
                ]
            )
        )
        return 0
    if not infos:
        print(f"No runs yet in {runs.runs_dir(args.runs_dir)}.")
        return 0
    print(f"{'run':<44} {'status':<10} {'epoch':>7} {'val acc':>8}  created")
    for r in infos:
        ep = f"{r.progress.get('epoch', 0)}/{r.config.get('epochs', '?')}"
        acc = r.progress.get("val_accuracy")
        print(
            f"{r.id:<44} {r.status:<10} {ep:>7} {'' if acc is None else f'{acc:.1%}':>8}  "
            f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(r.created))}"
        )
    return 0


def _export_tensorboard(runs, args: argparse.Namespace) -> int:
    """Replay finished runs' events.jsonl into TensorBoard event files (runs that have them are left alone)."""
    from playground.runs.tensorboard import export_run

    if args.export_tensorboard == "all":
        targets = [r.path for r in runs.list_runs(args.runs_dir) if not r.active]
    else:
        targets = [_find(runs, args.runs_dir, args.export_tensorboard)]
    written = [t for t in targets if export_run(t)]
    for t in written:
        print(f"{t.name}: TensorBoard files written")
    print(
        f"{len(written)} of {len(targets)} run(s) exported ({len(targets) - len(written)} had them already or no events). "
        f"Open them with: tensorboard --logdir {runs.runs_dir(args.runs_dir)}"
    )
    return 0
