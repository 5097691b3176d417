"""``python -m playground train``: train a model, recording the run in a run folder.

Prints a line per epoch, then a summary; with ``--json`` the last line on stdout is one
JSON object (``run_dir``, ``status``, ``epochs``, ``final_train_loss``, ``final_val_loss``,
``final_val_accuracy`` as a fraction, ``images_per_second``: the steady training rate, over the
epochs after the first; ``images_per_second_mean``: over every epoch, the slower first one
included, ...). Exit status 0 when the run completed or was stopped, 1 when it failed or
diverged, 2 for a bad argument.

Under ``torchrun --nproc_per_node=N -m playground train ...`` it trains data-parallel;
only rank 0 writes the run folder and prints. ``--run-dir DIR`` runs a run folder that
``playground.runs.store.launch`` prepared (that is how the app starts runs).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from playground.common.settings import add_flags, flag_values


def add_parser(sub) -> None:
    from playground.training.loop import TrainConfig

    p = sub.add_parser(
        "train",
        help="train a model on a dataset; the run is recorded in a run folder",
        description="Train a model on a dataset. Defaults are the tuned preset (SimpleCNN on shapes).",
    )
    add_flags(p, TrainConfig)  # one --flag per TrainConfig field declared with flag=True
    p.add_argument("--runs-dir", help="run store (default $PLAYGROUND_RUNS_DIR or ./runs)")
    p.add_argument("--run-dir", help="run an existing run folder prepared by the app (other options ignored)")
    p.add_argument("--json", action="store_true", help="print a JSON summary as the last line")
    p.set_defaults(func=run)


def config_from_args(args: argparse.Namespace):
    """A validated TrainConfig from the command line (ValueError with a sentence otherwise)."""
    from playground.data.datasets import DATASETS
    from playground.training.loop import TrainConfig
    from playground.training.models import check_model

    config = TrainConfig(**flag_values(TrainConfig, args))
    if config.dataset not in DATASETS:
        path = Path(config.dataset)
        if not (path.is_dir() or (path.is_file() and path.suffix.lower() == ".zip")):
            raise ValueError(
                f"Unknown dataset {config.dataset!r}. Choose one of: {', '.join(DATASETS.names())}, "
                "or give a folder or .zip of class folders."
            )
        config.dataset, config.data_path = "images", str(path.resolve())
        if path.is_file():
            from playground.data.upload import check_zip

            check_zip(path)  # a damaged or hostile zip: one sentence now, not a traceback from the run
    elif config.dataset == "images":
        raise ValueError("For your own images give the folder or .zip itself: --dataset path/to/images.zip.")
    config.validate()
    config.model = _inline_model(config.model)
    check_model(config.model)
    from playground.augment.pipelines import load_pipeline
    from playground.common.device import pick_device
    from playground.training.inputs import resolve_pipeline

    device = pick_device(config.device)  # an unavailable device is a bad argument, not a failed run
    for name in ("augment", "val_augment"):
        value = getattr(config, name)
        resolve_pipeline(value, device)  # a sentence for an unknown preset or a broken pipeline
        if value not in _pipeline_names():
            setattr(config, name, load_pipeline(value))  # the run folder keeps the spec itself, not a path
    return config


def _pipeline_names() -> set[str]:
    from playground.augment.pipelines import (
        PIPELINES,  # imported late: it loads torchvision, and --help must stay light
    )

    return set(PIPELINES.names()) | {"", "none"}


def _inline_model(model):
    """A JSON file's content instead of its path, so the run folder is complete on its own."""
    from playground.training.models import as_model_config

    model = as_model_config(model)
    if isinstance(model, str) and model.endswith(".json"):
        from playground.models.vocab import load_spec

        return load_spec(model)  # a model spec: SpecError (a sentence) when it is not one
    return model


def _printer(out):
    def show(e: dict) -> None:
        if e["type"] == "start":
            d = e["dataset"]
            trainable = e.get("trainable_params", e["params"])
            params = (
                f"{e['params']:,} parameters"
                if trainable == e["params"]
                else f"{trainable:,} of {e['params']:,} parameters trainable"
            )
            out(
                f"Training on {e['device']}: {d['name']} ({e['train_size']:,} training / {e['val_size']:,} validation "
                f"images, {len(e['classes'])} classes, {params}), {e['epochs']} epochs of "
                f"{e['steps_per_epoch']} steps, batch {e['batch_size']}"
                + (f" on {e['world_size']} processes" if e["world_size"] > 1 else "")
            )
        elif e["type"] == "epoch":
            out(
                f"epoch {e['epoch']:>3}  train loss {e['train_loss']:.4f} acc {e['train_accuracy']:6.1%}  "
                f"val loss {e['val_loss']:.4f} acc {e['val_accuracy']:6.1%}  lr {e['lr']:.3g}  "
                f"{e['images_per_second']:,.0f} img/s  [{e['time']:.1f} s]"
            )
        elif e["type"] == "end" and e["status"] != "completed":
            out(f"{e['status']}: {e['reason']}")

    return show


def run(args: argparse.Namespace) -> int:
    from playground.runs import store as runs
    from playground.runs.worker import StopFlag, execute_run
    from playground.training.distributed import from_env, teardown

    def out(line: str) -> None:
        print(line, flush=True)

    dist = from_env()
    if args.run_dir:
        run_dir = Path(args.run_dir)
        if not (run_dir / "config.json").is_file():
            raise ValueError(f"{run_dir} is not a run folder (it has no config.json).")
        result = execute_run(run_dir, on_event=_printer(out))
    else:
        config = config_from_args(args)
        try:
            if not dist.is_main:  # other ranks of a torchrun job: train their shard, write and print nothing
                from playground.training.loop import train

                flag = StopFlag()
                flag.install()
                train(config, should_stop=flag, dist=dist)
                result = None
            else:
                run_dir = runs.create_run(config, args.runs_dir)
                out(f"Run folder: {run_dir}")
                result = execute_run(run_dir, on_event=_printer(out), dist=dist, use_queue=not dist.active)
        except BaseException:
            teardown(dist, ok=False)
            raise
        teardown(dist)
        if result is None:
            return 0
    acc = result.get("final_val_accuracy")
    out(
        f"{result['status']} after {result['epochs']} epoch(s)"
        + (f": validation accuracy {acc:.1%}" if acc is not None else "")
        + f". Run folder: {result['run_dir']}"
    )
    if args.json:
        out(json.dumps(result))
    return 0 if result["status"] in ("completed", "stopped") else 1
