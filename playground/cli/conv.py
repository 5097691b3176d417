"""``python -m playground conv``: the explorer's layer arithmetic from the command line.

Example (the article's second example)::

    python -m playground conv --input 4x3x32x32 --layer conv:out=16,k=3,s=2,p=1
    python -m playground conv --input 1x3x224x224 --layer conv:out=64,k=7,s=2,p=3 --layer pool:max,k=3,s=2,p=1 --json
"""

from __future__ import annotations

import json

from playground.cli import CLIError
from playground.models.arithmetic import ConvSpec, LayerSpec, PoolSpec, analyse_chain

# Short option names accepted in --layer, mapped to spec fields.
_CONV_KEYS = {
    "out": "out_channels",
    "k": "kernel",
    "s": "stride",
    "p": "padding",
    "d": "dilation",
    "g": "groups",
    "bias": "bias",
    "mode": "padding_mode",
}
_POOL_KEYS = {"k": "kernel", "s": "stride", "p": "padding", "d": "dilation", "ceil": "ceil_mode"}


def parse_shape(text: str) -> tuple[int, int, int, int]:
    """``4x3x32x32`` (or with commas) -> (4, 3, 32, 32)."""
    parts = text.lower().replace(",", "x").split("x")
    try:
        shape = tuple(int(p) for p in parts)
    except ValueError:
        raise CLIError(f"--input {text!r} is not N x C x H x W, e.g. 4x3x32x32") from None
    if len(shape) != 4:
        raise CLIError(f"--input {text!r} needs four numbers N x C x H x W, e.g. 4x3x32x32")
    return shape  # type: ignore[return-value]


def _value(text: str):
    if text.lower() in ("same", "valid", "zeros", "reflect", "replicate", "circular"):
        return text.lower()
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    if "x" in text:
        return tuple(int(v) for v in text.split("x"))
    return int(text)


def _options(items: list[str], keys: dict[str, str], kind: str, text: str) -> dict:
    """``k=3x3,s=2`` items as keyword arguments, through the short-name table ``keys``."""
    kwargs = {}
    for item in items:
        k, _, v = item.partition("=")
        if k not in keys:
            raise CLIError(f"unknown {kind} option {k!r} in {text!r}; use {', '.join(keys)}")
        kwargs[keys[k]] = _value(v)
    return kwargs


def parse_layer(text: str) -> LayerSpec:
    """``conv:out=16,k=3,s=1,p=1`` or ``pool:max,k=2`` (or ``pool:avg,k=3,s=2,p=1,ceil=true``)."""
    kind, _, rest = text.partition(":")
    items = [i for i in rest.split(",") if i]
    try:
        if kind == "conv":
            return ConvSpec(**_options(items, _CONV_KEYS, "conv", text))
        if kind == "pool":
            pool = items.pop(0) if items and "=" not in items[0] else "max"
            return PoolSpec(pool, **_options(items, _POOL_KEYS, "pool", text))
    except (TypeError, ValueError) as exc:
        raise CLIError(f"could not read layer {text!r}: {exc}") from None
    raise CLIError(f"layer {text!r} must start with 'conv:' or 'pool:'")


def run(args) -> int:
    shape = parse_shape(args.input)
    layers = [parse_layer(t) for t in args.layer]
    reports = analyse_chain(shape, layers)
    bad = next((r for r in reports if r.error), None)
    if args.json:
        print(
            json.dumps(
                {
                    "input_shape": list(shape),
                    "layers": [
                        {
                            "layer": r.label,
                            "output_shape": list(r.out_shape) if r.out_shape else None,
                            "params": r.params,
                            "macs": r.macs,
                            "fc_equivalent_params": r.fc_params,
                            "receptive_field": list(r.receptive_field),
                            "jump": list(r.jump),
                            "formulas": list(r.formulas),
                            "error": r.error,
                        }
                        for r in reports
                    ],
                }
            )
        )
    else:
        print(f"input  {list(shape)}")
        for r in reports:
            if r.error:
                continue
            print(
                f"{r.index + 1:>2}. {r.label}\n    -> {list(r.out_shape)}  params {r.params:,}  MACs {r.macs:,}  "
                f"RF {r.receptive_field[0]}x{r.receptive_field[1]}  jump {r.jump[0]}x{r.jump[1]}"
            )
    if bad:
        raise CLIError(f"layer {bad.index + 1}: {bad.error}")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("conv", help="output shapes, parameters, MACs and receptive fields of a conv/pool chain")
    p.add_argument("--input", default="1x3x32x32", help="input shape N x C x H x W (default 1x3x32x32)")
    p.add_argument(
        "--layer",
        action="append",
        default=[],
        metavar="SPEC",
        help="conv:out=16,k=3,s=1,p=1[,d=1,g=1,bias=true,mode=zeros] or pool:max|avg[,k=2,s=2,p=0,d=1,ceil=false]; repeat",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)
