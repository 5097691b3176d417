"""Shapes and sizes in words, the same on every page and in the CLI."""

from __future__ import annotations


def shape_text(shape) -> str:
    """``[4, 16, 32, 32]``, as PyTorch prints ``tensor.shape`` in the article."""
    return "[" + ", ".join(str(int(v)) for v in shape) + "]"


def pair_text(p, whole: str = "all") -> str:
    """A (height, width) pair: ``3`` when square, ``3x5`` otherwise; ``whole`` for None (the whole input)."""
    if p is None:
        return whole
    return str(p[0]) if p[0] == p[1] else f"{p[0]}x{p[1]}"
