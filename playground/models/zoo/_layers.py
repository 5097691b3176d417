"""Spec layers as one-line calls, so a preset reads like the paper's table of layers.

Each helper returns one layer dict of the spec vocabulary (``playground.models.vocab``);
``name`` sets the module name, which is how the presets match torchvision's ``state_dict`` keys.
"""

from __future__ import annotations

from playground.models.spec import trace


def _named(d: dict, name: str | None) -> dict:
    return {**d, "name": name} if name else d


def conv(out: int, k: int, s: int = 1, p: int = 0, bias: bool = True, name: str | None = None) -> dict:
    """A Conv2d with ``out`` channels, kernel ``k``, stride ``s`` and padding ``p``."""
    return _named({"type": "conv", "out_channels": out, "kernel": k, "stride": s, "padding": p, "bias": bias}, name)


def bn(name: str | None = None) -> dict:
    """A BatchNorm2d over the channels of the layer before."""
    return _named({"type": "batchnorm"}, name)


def act(fn: str, name: str | None = None, inplace: bool = True) -> dict:
    """The non-linearity ``fn`` (a name in ``ACTIVATIONS``)."""
    return _named({"type": "activation", "fn": fn, "inplace": inplace}, name)


def pool(kind: str, k: int, s: int | None = None, p: int = 0, name: str | None = None) -> dict:
    """A ``maxpool`` or ``avgpool`` of kernel ``k``; the stride defaults to the kernel, as in PyTorch."""
    return _named({"type": kind, "kernel": k, "stride": s if s is not None else k, "padding": p}, name)


def linear(n_in: int | None, n_out: int, name: str | None = None) -> dict:
    """A Linear layer from ``n_in`` (None: whatever arrives) to ``n_out`` features."""
    return _named({"type": "linear", "in_features": n_in, "out_features": n_out}, name)


def dropout(p: float, name: str | None = None) -> dict:
    """A Dropout with probability ``p``."""
    return _named({"type": "dropout", "p": p}, name)


def group(name: str, layers: list[dict]) -> dict:
    """An ``nn.Sequential`` called ``name`` (torchvision's ``features``, ``classifier``)."""
    return {"type": "sequential", "name": name, "layers": layers}


def stage(name, block, n, planes, stride, residual, shortcut, batch_norm, activation) -> dict:
    """A ResNet stage: ``n`` blocks of ``block`` with ``planes`` channels, the first one striding."""
    return {
        "type": "stage",
        "name": name,
        "block": block,
        "blocks": n,
        "planes": planes,
        "stride": stride,
        "residual": residual,
        "shortcut": shortcut,
        "norm": batch_norm,
        "activation": activation,
        "bias": not batch_norm,  # a conv followed by batch norm needs no bias, as in torchvision
    }


def flat_features(layers: list[dict], c: int, hw: tuple[int, int]) -> int | None:
    """Features a flatten would see after ``layers`` on a ``(c, *hw)`` input (None if they break first)."""
    tr = trace({"input": [c, *hw], "layers": layers}, raise_errors=False)
    if tr.error:
        return None
    n = 1
    for v in tr.output_shape:
        n *= v
    return n


def scaled(c: int, width: float) -> int:
    """A channel count scaled by the width multiplier (at least 1)."""
    return max(1, int(round(c * width)))
