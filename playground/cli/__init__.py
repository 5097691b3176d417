"""The command line: ``cnn-playground COMMAND ...`` (also ``python -m playground COMMAND ...``).

Each command lives in its own module under ``playground/cli/`` and exposes
``add_parser(subparsers)``, which registers its sub-parser and sets
``func=handler`` on it. A handler returns an exit status; it raises
``CLIError`` (or ValueError) for bad input, which ``main`` turns into one line
on stderr and exit status 2.

Commands are imported lazily: ``COMMANDS`` holds each one's name, module and one-line help,
so ``--help``, a usage error or an unknown command print without importing the command
modules, and so without torch (a 2-core machine takes seconds to import it). Only the module
of the command that runs is imported.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    """One sub-command: its name, the module that builds its parser, and its line in ``--help``."""

    name: str
    module: str
    help: str


# In the order ``--help`` lists them.
COMMANDS = [
    Command("conv", "playground.cli.conv", "conv/pool output shapes, parameters, MACs and receptive fields"),
    Command(
        "summary", "playground.cli.summary", "a model's layer-by-layer table: shapes, parameters, MACs, receptive field"
    ),
    Command(
        "augment", "playground.cli.augment", "write augmented samples of an image, exactly as the studio previews them"
    ),
    Command("train", "playground.cli.train", "train a model on a dataset; the run is recorded in a run folder"),
    Command("runs", "playground.cli.runs", "list training runs (newest first); stop or delete one"),
    Command(
        "lr-find",
        "playground.cli.lr_find",
        "sweep the learning rate for a training setup and suggest one (fastai's lr_find)",
    ),
    Command(
        "export",
        "playground.cli.export",
        "write a model as ONNX, safetensors, a torch.export .pt2, PyTorch source or its JSON spec",
    ),
]
COMMAND_MODULES = [c.module for c in COMMANDS]


class CLIError(Exception):
    """Bad input from the user: printed as one line, exit status 2."""


class _OneLineParser(argparse.ArgumentParser):
    """argparse prints usage + error on bad arguments; we print one line instead."""

    def error(self, message: str):  # noqa: D401 - argparse API
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(2)


def _prog() -> str:
    """The name people typed: ``cnn-playground`` from the console script, else ``python -m playground``."""
    name = sys.argv[0].rsplit("/", 1)[-1] if sys.argv and sys.argv[0] else ""
    return "cnn-playground" if name.startswith("cnn-playground") else "python -m playground"


def _chosen(argv: list[str]) -> str | None:
    """The command named in ``argv`` (its first positional argument), if it is one of ours."""
    for arg in argv:
        if not arg.startswith("-"):
            return arg if any(c.name == arg for c in COMMANDS) else None
    return None


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser; only the command chosen in ``argv`` gets its full sub-parser (all of them when None)."""
    parser = _OneLineParser(prog=_prog(), description="CNN Playground from the command line.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_OneLineParser)
    chosen = _chosen(argv) if argv is not None else None
    for command in COMMANDS:
        if argv is None or command.name == chosen:
            importlib.import_module(command.module).add_parser(sub)
        else:
            sub.add_parser(command.name, help=command.help)  # a line in --help; built for real when chosen
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen command; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except (CLIError, ValueError, FileNotFoundError) as exc:
        # One sentence, no traceback: the message itself says how to fix it.
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        sys.stderr.write(f"error: {message}\n")
        return 2


def console_main() -> None:
    """The ``cnn-playground`` console script (declared in pyproject.toml)."""
    sys.exit(main())
