"""The command line: ``python -m playground COMMAND ...``.

Each command lives in its own module under ``playground/cli/`` and exposes
``add_parser(subparsers)``, which registers its sub-parser and sets
``func=handler`` on it. A handler returns an exit status; it raises
``CLIError`` (or ValueError) for bad input, which ``main`` turns into one line
on stderr and exit status 2 (design principle 15).
"""

from __future__ import annotations

import argparse
import importlib
import sys

# Modules that contribute a sub-command, in the order ``--help`` lists them.
COMMAND_MODULES = [
    "playground.cli.conv",
    "playground.cli.summary",
    "playground.cli.augment",
    "playground.cli.train",
    "playground.cli.runs",
]


class CLIError(Exception):
    """Bad input from the user: printed as one line, exit status 2."""


class _OneLineParser(argparse.ArgumentParser):
    """argparse prints usage + error on bad arguments; we print one line instead."""

    def error(self, message: str):  # noqa: D401 - argparse API
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    """The full parser, with every registered sub-command."""
    parser = _OneLineParser(prog="python -m playground", description="CNN Playground from the command line.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_OneLineParser)
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen command; returns the exit status."""
    parser = build_parser()
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
