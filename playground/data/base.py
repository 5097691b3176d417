"""Types shared by the dataset loaders (``data.py`` and ``datasets_*.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch


class DataError(ValueError):
    """A dataset that cannot be used; the message says why and what to do."""


@dataclass
class RawData:
    """What a loader hands back before splitting, subsampling and resizing."""

    x: torch.Tensor  # uint8 (N, C, H, W)
    y: torch.Tensor  # int64 (N,)
    class_names: list[str]
    source: str
    notes: list[str] = field(default_factory=list)
    val: tuple[torch.Tensor, torch.Tensor] | None = None  # an official validation/test split, if any


@dataclass(frozen=True)
class LoadRequest:
    """Arguments every loader receives (each uses what it needs)."""

    size: int | None  # sample count asked for (generated datasets) or cap (the others)
    seed: int
    path: str | None  # a folder or zip for ``images``
    image_size: int | None  # the side asked for (loaders of mixed-size images resize to it)
    root: Path  # where torchvision datasets live
    download: bool


@dataclass(frozen=True)
class DatasetEntry:
    """A registered dataset: a title, a sentence for menus, and its loader."""

    title: str
    description: str
    loader: Callable[[LoadRequest], RawData]
    offline: bool  # works with no network and no files to fetch
    default_size: int | None = None
