"""Datasets for training runs, preloaded as tensors.

Every dataset arrives as an ``ImageDataset``: uint8 images ``(N, C, H, W)`` and
int64 labels ``(N,)`` for a training and a validation split, class names, a
sentence saying where the data came from, and notes about anything that
happened on the way in (files skipped, images resized). Keeping everything as
one uint8 tensor is what makes the trainer fast: a batch is one index into
memory that already sits on the training device, and
uint8 costs a quarter of float32.

The registry ``DATASETS`` (name -> ``DatasetEntry``):

- ``shapes``: procedurally generated, seeded, 10 classes, 32x32 RGB, any number of
  samples (``datasets_shapes.py``). Offline.
- ``digits``: 1,797 real handwritten digits bundled in ``assets/data`` (UCI, CC BY 4.0).
  Stored as 8x8 counts 0..16; presented as one channel scaled to 0..255
  (``round(v * 255 / 16)``) at the native 8x8 -- small enough for the article's
  SimpleCNN (8 -> 4 -> 2 -> global average) and very fast. ``image_size=32`` upsamples
  (bilinear) for models that need a bigger input such as LeNet-5. Offline.
- ``cifar10``, ``mnist``, ``fashion-mnist``: torchvision's loaders over files in
  ``data_dir()`` (downloaded there when online; ``datasets_torchvision.py``).
- ``images``: your own folder or zip in ImageFolder layout (``datasets_upload.py``).

Splits: datasets with an official test split use it for validation; the others are
split here, stratified per class and seeded, so the same seed always gives the same
split and every class appears in both parts.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from playground.common.paths import PROJECT_ROOT as ROOT
from playground.common.registry import Registry
from playground.data.base import DataError, DatasetEntry, LoadRequest, RawData

DIGITS_CSV = ROOT / "assets" / "data" / "digits.csv.gz"

DEFAULT_MAX_TRAIN_IMAGES = 60_000  # a shared server: all of MNIST/CIFAR-10, nothing bigger
MAX_IMAGE_SIZE = 128  # side in pixels; a CPU demo has no use for more and memory stays bounded


def data_dir() -> Path:
    """Where torchvision datasets live: ``$PLAYGROUND_DATA_DIR`` or ``<repo>/data``."""
    return Path(os.environ.get("PLAYGROUND_DATA_DIR") or ROOT / "data")


def max_train_images() -> int:
    """The server's cap on training images per run (``$PLAYGROUND_MAX_TRAIN_IMAGES``)."""
    try:
        return max(1, int(os.environ.get("PLAYGROUND_MAX_TRAIN_IMAGES", DEFAULT_MAX_TRAIN_IMAGES)))
    except ValueError:
        return DEFAULT_MAX_TRAIN_IMAGES


@dataclass
class ImageDataset:
    """A dataset ready for training: uint8 ``(N, C, H, W)`` images and int64 labels per split."""

    name: str
    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    class_names: list[str]
    source: str  # one sentence: where the data came from (and its licence)
    notes: list[str] = field(default_factory=list)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def in_channels(self) -> int:
        return int(self.train_x.shape[1])

    @property
    def image_size(self) -> tuple[int, int]:
        """``(H, W)`` of every image."""
        return int(self.train_x.shape[2]), int(self.train_x.shape[3])

    def channel_stats(self) -> tuple[list[float], list[float]]:
        """Per-channel mean and std of the training images on the 0..1 scale (for normalisation)."""
        x = self.train_x[:20_000].float().div_(255)  # a 20k sample pins the stats to 3 decimals
        mean = x.mean(dim=(0, 2, 3))
        std = x.std(dim=(0, 2, 3)).clamp_min(1e-3)  # a constant channel must not divide by zero
        return [round(float(v), 6) for v in mean], [round(float(v), 6) for v in std]

    def class_counts(self, split: str = "train") -> list[int]:
        """Images per class in ``split`` ("train" or "val"), in class order."""
        y = self.train_y if split == "train" else self.val_y
        return torch.bincount(y, minlength=self.num_classes).tolist()

    def preview(self, per_class: int = 4, split: str = "train") -> list[tuple[str, torch.Tensor]]:
        """A few samples per class: ``[(class name, uint8 (k, C, H, W)), ...]`` in class order."""
        x, y = (self.train_x, self.train_y) if split == "train" else (self.val_x, self.val_y)
        return [(name, x[(y == c).nonzero().flatten()[:per_class]]) for c, name in enumerate(self.class_names)]

    def describe(self) -> dict:
        """A JSON-able summary (stored in a run's ``dataset.json`` and shown by the page)."""
        mean, std = self.channel_stats()
        return {
            "name": self.name,
            "classes": list(self.class_names),
            "in_channels": self.in_channels,
            "image_size": list(self.image_size),
            "train_size": len(self.train_y),
            "val_size": len(self.val_y),
            "train_counts": self.class_counts("train"),
            "val_counts": self.class_counts("val"),
            "mean": mean,
            "std": std,
            "source": self.source,
            "notes": list(self.notes),
        }


DATASETS: Registry[DatasetEntry] = Registry("dataset")


def _load_shapes(req: LoadRequest) -> RawData:
    from playground.data.shapes import SHAPE_CLASSES, cached_shapes

    n = req.size or DATASETS.get("shapes").default_size
    x, y = cached_shapes(n, seed=req.seed, cache_dir=req.root / "cache")  # made once per (n, seed)
    return RawData(x, y, list(SHAPE_CLASSES), f"Generated here: {n} seeded shapes (seed {req.seed}).")


def _load_digits(req: LoadRequest) -> RawData:
    with gzip.open(DIGITS_CSV, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.int64)  # (1797, 65): 64 pixels 0..16, then the label
    pixels = torch.from_numpy(table[:, :64]).view(-1, 1, 8, 8)
    x = (pixels.float() * (255 / 16)).round().to(torch.uint8)  # 0..16 counts -> 0..255 grey levels
    y = torch.from_numpy(table[:, 64]).to(torch.int64)
    source = (
        "UCI Optical Recognition of Handwritten Digits (Alpaydin & Kaynak 1998), 1,797 digits by 13 writers, "
        "CC BY 4.0, bundled in assets/data."
    )
    return RawData(x, y, [str(d) for d in range(10)], source)


DATASETS.register(
    "shapes",
    DatasetEntry(
        "Shapes (generated)",
        "10 kinds of shapes in random colours, sizes, positions and rotations on textured "
        "backgrounds, 32x32 RGB. Generated on the fly, any number of samples.",
        _load_shapes,
        True,
        12_000,
    ),
)
DATASETS.register(
    "digits",
    DatasetEntry(
        "Handwritten digits (bundled)",
        "1,797 real handwritten digits 0-9, 8x8 grey. Bundled, no download.",
        _load_digits,
        True,
    ),
)


def _register_file_datasets() -> None:
    from playground.data import torchvision_sets as datasets_torchvision
    from playground.data import upload as datasets_upload

    for name, entry in {**datasets_torchvision.ENTRIES, **datasets_upload.ENTRIES}.items():
        DATASETS.register(name, entry)


_register_file_datasets()


def split_indices(labels: torch.Tensor, val_fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Stratified, seeded split: ``(train_idx, val_idx)``, each class split in the same proportion.

    A class with at least two images puts at least one in each part.
    """
    if not 0.0 < val_fraction < 1.0:
        raise DataError(f"The validation fraction must be between 0 and 1 (exclusive), not {val_fraction}.")
    g = torch.Generator().manual_seed(int(seed) + 7919)  # offset: the split must not mirror the generator's draws
    train, val = [], []
    for c in torch.unique(labels).tolist():
        idx = (labels == c).nonzero().flatten()
        idx = idx[torch.randperm(len(idx), generator=g)]
        k = int(round(len(idx) * val_fraction))
        if len(idx) >= 2:
            k = min(max(k, 1), len(idx) - 1)
        val.append(idx[:k])
        train.append(idx[k:])
    train_idx, val_idx = torch.cat(train), torch.cat(val)
    # Shuffle across classes so the first images of a split are not all one class.
    return train_idx[torch.randperm(len(train_idx), generator=g)], val_idx[torch.randperm(len(val_idx), generator=g)]


def _subsample(x: torch.Tensor, y: torch.Tensor, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    if n >= len(y):
        return x, y
    g = torch.Generator().manual_seed(int(seed) + 104729)
    keep = torch.randperm(len(y), generator=g)[:n]
    return x[keep], y[keep]


def resize_images(x: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 ``(N, C, H, W)`` -> uint8 ``(N, C, size, size)`` (bilinear, antialiased when shrinking)."""
    if x.shape[-2:] == (size, size):
        return x
    out = torch.empty(x.shape[0], x.shape[1], size, size, dtype=torch.uint8)
    for i in range(0, len(x), 2048):  # chunks: bounded float memory
        chunk = F.interpolate(
            x[i : i + 2048].float(), size=(size, size), mode="bilinear", antialias=True, align_corners=False
        )
        out[i : i + 2048] = chunk.round_().clamp_(0, 255).to(torch.uint8)
    return out


def load_dataset(
    name: str,
    *,
    size: int | None = None,
    image_size: int | None = None,
    val_fraction: float = 0.2,
    seed: int = 0,
    path: str | None = None,
    root: str | Path | None = None,
    download: bool | None = None,
) -> ImageDataset:
    """Load a registered dataset, split it and return it as tensors.

    ``name``: a name in ``DATASETS`` (a folder or ``.zip`` path is taken as ``images`` with that path).
    ``size``: samples to generate (``shapes``) or a cap on training images (the others);
    ``image_size``: resize every image to a square of this side (None keeps the dataset's own);
    ``val_fraction``/``seed``: the stratified split for datasets without an official one;
    ``root``: the torchvision data folder (default ``data_dir()``); ``download``: try to download
    missing torchvision files (default: yes unless ``$PLAYGROUND_OFFLINE`` is set).
    Raises DataError with a sentence for anything unusable, including the server's limits.
    """
    if name not in DATASETS and (Path(name).is_dir() or name.lower().endswith(".zip")):
        name, path = "images", name
    entry = DATASETS.get(name)  # ValueError listing the choices for an unknown name
    limit = max_train_images()
    if size is not None and size < 1:
        raise DataError(f"The dataset size must be at least 1, not {size}.")
    if name == "shapes" and size is not None and size * (1 - val_fraction) > limit:
        raise DataError(f"{size} shapes would give over {limit} training images, this server's limit. Ask for fewer.")
    if image_size is not None and not 4 <= image_size <= MAX_IMAGE_SIZE:
        raise DataError(f"The image size must be between 4 and {MAX_IMAGE_SIZE} pixels, not {image_size}.")
    if download is None:
        download = not os.environ.get("PLAYGROUND_OFFLINE")
    req = LoadRequest(size, int(seed), path, image_size, Path(root) if root else data_dir(), bool(download))
    raw = entry.loader(req)
    notes = list(raw.notes)
    if raw.val is not None:
        train_x, train_y = raw.x, raw.y
        val_x, val_y = raw.val
        cap = size or limit
        if len(train_y) > cap:
            train_x, train_y = _subsample(train_x, train_y, cap, seed)
            notes.append(f"Training on a seeded subsample of {cap} of the {len(raw.y)} training images.")
        val_cap = max(1000, cap // 4)
        if len(val_y) > val_cap:
            val_x, val_y = _subsample(val_x, val_y, val_cap, seed)
            notes.append(f"Validating on {val_cap} of the {len(raw.val[1])} official test images.")
    else:
        if size and name != "shapes" and len(raw.y) > size:
            raw.x, raw.y = _subsample(raw.x, raw.y, size, seed)
            notes.append(f"Using a seeded subsample of {size} images.")
        tr, va = split_indices(raw.y, val_fraction, seed)
        if len(tr) > limit:
            tr = tr[:limit]
            notes.append(f"Training on the first {limit} images of the split, this server's limit.")
        train_x, train_y, val_x, val_y = raw.x[tr], raw.y[tr], raw.x[va], raw.y[va]
    if image_size is not None and tuple(train_x.shape[-2:]) != (image_size, image_size):
        notes.append(f"Resized from {train_x.shape[-1]}x{train_x.shape[-2]} to {image_size}x{image_size}.")
        train_x, val_x = resize_images(train_x, image_size), resize_images(val_x, image_size)
    if len(val_y) == 0:
        raise DataError("The validation split came out empty: use more images or a larger validation fraction.")
    return ImageDataset(
        name,
        train_x.contiguous(),
        train_y.to(torch.int64),
        val_x.contiguous(),
        val_y.to(torch.int64),
        list(raw.class_names),
        raw.source,
        notes,
    )
