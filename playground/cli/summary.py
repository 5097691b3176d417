"""``python -m playground summary MODEL [--input CxHxW] [--num-classes N] [--batch-size B] [--optimizer O] [--json]``.

MODEL is a preset name (``python -m playground summary --help`` lists them) or the path
of a JSON model spec. Without ``--json`` it prints a readable table; with ``--json`` one
object: ``output_shape``, ``total_params``, ``trainable_params``, ``total_macs`` (per
image), ``layers``, one object per module call with ``name``, ``type``,
``output_shape``, ``params``, ``macs``, ``receptive_field`` and ``jump``, and
``training_memory``: the peak of one training step at ``--batch-size`` with ``--optimizer``
(``total_bytes`` and its parts, ``playground.models.memory``).
"""

from __future__ import annotations

import argparse
import json
import sys

from playground.common.text import pair_text, shape_text
from playground.models.memory import OPTIMIZERS
from playground.models.summary import Summary, gib, summarize


def parse_input(text: str) -> tuple[int, int, int]:
    """``3x224x224`` (or ``3,224,224``) -> ``(3, 224, 224)``; argparse turns the error into one line."""
    parts = text.lower().replace(",", "x").replace("*", "x").split("x")
    try:
        vals = tuple(int(p) for p in parts)
        if len(vals) != 3 or min(vals) < 1:
            raise ValueError
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--input wants CxHxW, three whole numbers like 3x224x224, not {text!r}"
        ) from None
    return vals  # type: ignore[return-value]


def _batch(text: str) -> int:
    """A batch size: a whole number from 1 to 65536; argparse turns the error into one line."""
    try:
        n = int(text)
        if not 1 <= n <= 65536:
            raise ValueError
    except ValueError:
        raise argparse.ArgumentTypeError(f"--batch-size wants a whole number from 1 to 65536, not {text!r}") from None
    return n


def add_parser(subparsers) -> None:
    """Register the ``summary`` sub-command."""
    from playground.models.zoo import MODELS

    p = subparsers.add_parser(
        "summary",
        help="a model's layer-by-layer table: shapes, parameters, MACs, receptive field",
        description="Shapes, parameters, MACs (FLOPs = 2 x MACs), receptive field and jump of every layer, "
        "computed from the model's spec without running it.",
        epilog="Presets: " + ", ".join(MODELS.names()),
    )
    p.add_argument("model", metavar="MODEL", help="a preset name or the path of a JSON model spec")
    p.add_argument(
        "--input",
        metavar="CxHxW",
        type=parse_input,
        help="input size per image, e.g. 3x224x224 (default: the model's own)",
    )
    p.add_argument("--num-classes", metavar="N", type=int, help="outputs of the last layer")
    p.add_argument("--batch-size", metavar="B", type=_batch, default=1, help="images per training step (default 1)")
    p.add_argument(
        "--optimizer",
        choices=tuple(OPTIMIZERS),
        default="adam",
        help="for the training-memory estimate (sgd_momentum: momentum 0.9 with Nesterov; default adam)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.set_defaults(func=run)


def format_table(s: Summary, memory=None) -> str:
    """The summary as a fixed-width text table with totals under it."""
    head = ("Layer", "Type", "Output shape", "Params", "MACs", "RF", "Jump")
    body = [
        (
            r.name,
            r.type,
            shape_text(r.output_shape),
            f"{r.params:,}",
            f"{r.macs:,}",
            pair_text(r.receptive_field),
            pair_text(r.jump),
        )
        for r in s.rows
    ]
    widths = [max(len(row[i]) for row in [head, *body]) for i in range(len(head))]
    right = {3, 4, 5, 6}

    def line(row):
        return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))).rstrip()

    rule = "-" * len(line(head))
    out = [f"{s.name}: input {shape_text(s.input_shape)}", rule, line(head), rule, *map(line, body), rule]
    out += [
        f"Output shape:     {shape_text(s.output_shape)}",
        f"Parameters:       {s.total_params:,} (trainable {s.trainable_params:,}, frozen {s.frozen_params:,})",
        f"MACs per image:   {s.total_macs:,} ({s.total_macs / 1e9:.3f} G); "
        f"FLOPs = 2 x MACs = {s.total_flops / 1e9:.3f} G",
        f"Receptive field:  {pair_text(s.receptive_field)} pixels (RF = the input patch one output value sees; "
        "'all' after the flatten)",
    ]
    if memory is not None:
        parts = " + ".join(f"{name} {gib(v)}" for name, v in memory.parts() if v)
        out.append(
            f"Training memory:  {gib(memory.total)} at batch {memory.batch_size} with {memory.optimizer} "
            f"(float32 peak, during the {memory.peak_during}: {parts})"
        )
    return "\n".join(out)


def run(args) -> int:
    """Print the summary; a bad name or spec raises ValueError, which the CLI prints as one line (exit 2)."""
    s = summarize(args.model, args.input, args.batch_size, num_classes=args.num_classes)
    memory = s.memory(optimizer=args.optimizer)
    if args.json:
        json.dump({**s.to_dict(), "training_memory": memory.to_dict()}, sys.stdout)
        sys.stdout.write("\n")
    else:
        print(format_table(s, memory))
    return 0
