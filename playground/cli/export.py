"""``python -m playground export MODEL --format py|json|onnx|safetensors|pt2 --out FILE``.

MODEL is a zoo preset, a JSON model spec file, or a training run (its folder or its id in the run
store). A run exports with its trained weights (and its classes and input mean/std in the ONNX and
safetensors metadata); a preset or spec with its initial weights for ``--seed``. ``onnx`` takes
``--opset`` and always has a dynamic batch dimension. ``--format`` defaults to ``--out``'s suffix.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from playground.cli.summary import parse_input

_FORMATS = ("py", "json", "onnx", "safetensors", "pt2")  # = playground.models.export.FORMATS, without torch


def add_parser(sub) -> None:
    p = sub.add_parser(
        "export",
        help="write a model as ONNX, safetensors, a torch.export .pt2, PyTorch source or its JSON spec",
        description="Write a model (a preset, a JSON spec file or a training run) as a file other tools open: "
        "ONNX (Netron, onnxruntime), safetensors weights, a torch.export program (.pt2), PyTorch source or JSON.",
    )
    p.add_argument("model", metavar="MODEL", help="a preset name, a JSON model spec file, or a run folder / run id")
    p.add_argument("--format", choices=_FORMATS, help="the file format (default: from --out's suffix)")
    p.add_argument("--out", required=True, metavar="FILE", help="where to write the file")
    p.add_argument("--opset", type=int, help="ONNX opset, 18 to 23 (default 18)")
    p.add_argument("--input", metavar="CxHxW", type=parse_input, help="input size per image (presets and specs)")
    p.add_argument("--num-classes", metavar="N", type=int, help="outputs of the last layer (presets and specs)")
    p.add_argument("--seed", type=int, default=0, help="seed of the initial weights (presets and specs)")
    p.add_argument("--runs-dir", help="run store to look a run id up in (default $PLAYGROUND_RUNS_DIR or ./runs)")
    p.set_defaults(func=run)


def _format(args: argparse.Namespace) -> str:
    if args.format:
        return args.format
    suffix = Path(args.out).suffix.lower().lstrip(".")
    if suffix in _FORMATS:
        return suffix
    raise ValueError(f"Say which format to write with --format ({', '.join(_FORMATS)}); {args.out!r} does not tell.")


def find_run(name: str, runs_dir: str | None) -> Path | None:
    """The run folder ``name`` names (a folder with a config.json, or an id in the store), or None."""
    from playground.runs.store import config_file
    from playground.runs.store import runs_dir as store_dir

    path = Path(name)
    for candidate in (path, store_dir(runs_dir) / name):
        if candidate.is_dir() and config_file(candidate).is_file():
            return candidate
    return None


def run(args: argparse.Namespace) -> int:
    fmt = _format(args)
    from playground.models.export import DEFAULT_OPSET, check_format, export_spec

    opset = DEFAULT_OPSET if args.opset is None else args.opset
    check_format(fmt, opset)
    out = Path(args.out)
    if not out.parent.is_dir():
        raise ValueError(f"The folder {str(out.parent)!r} does not exist: create it or write elsewhere.")
    run_dir = None if Path(args.model).suffix.lower() == ".json" else find_run(args.model, args.runs_dir)
    if run_dir is not None:
        if args.input or args.num_classes:
            raise ValueError("--input and --num-classes apply to presets and specs; a run keeps its own.")
        from playground.runs.results import export_run

        f = export_run(run_dir, fmt, opset=opset)
        what = f"run {run_dir.name} with its trained weights"
    else:
        from playground.models.zoo import model_spec

        shape = args.input
        spec = model_spec(
            args.model,
            num_classes=args.num_classes,
            in_channels=shape[0] if shape else None,
            input_size=shape[1:] if shape else None,
        )
        f = export_spec(spec, fmt, opset=opset, seed=args.seed)
        what = spec["name"] + (f" (initial weights, seed {args.seed})" if fmt in ("onnx", "safetensors", "pt2") else "")
    out.write_bytes(f.data)
    print(f"Wrote {out} ({len(f.data):,} bytes): {what} as {fmt}" + (f", opset {opset}" if fmt == "onnx" else ""))
    return 0
