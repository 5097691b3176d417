"""CIFAR-10, MNIST and Fashion-MNIST through torchvision's own loaders.

The files live in ``data_dir()`` (``$PLAYGROUND_DATA_DIR``, default ``<repo>/data``) in
torchvision's layout:

- ``cifar10``: ``<data>/cifar-10-batches-py/{data_batch_1..5, test_batch, batches.meta}``
  (the python pickle batches of https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz, unpacked);
- ``mnist``: ``<data>/MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte`` (``.gz`` or not);
- ``fashion-mnist``: the same four file names under ``<data>/FashionMNIST/raw/``.

When files are missing and downloading is allowed, torchvision downloads them; when
that fails (offline), ``DataError`` says exactly which files to put where.

Two deliberate differences from calling torchvision directly: gzipped MNIST files are
unpacked in place (torchvision only looks for the unpacked ones), and CIFAR files are
not checked against torchvision's MD5 sums (only for presence), so a re-packed copy, or
a test's own small batches, load through the very same reading code. The data folder
belongs to whoever runs the server -- never to uploads -- because CIFAR's batches are
pickles.
"""

from __future__ import annotations

import gzip
import os
import pickle
from pathlib import Path

import numpy as np
import torch

from playground.data.base import DataError, DatasetEntry, LoadRequest, RawData

MNIST_FILES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
MAX_GZ_BYTES = 200 * 2**20  # an unpacked MNIST file is 47 MB; refuse anything absurd


# torchvision's CIFAR-10 layout, spelled out so that checking for the files needs no torchvision import:
# importing torchvision costs seconds at every run's start, and only these three datasets need it.
CIFAR_FOLDER = "cifar-10-batches-py"
CIFAR_FILES = [*(f"data_batch_{i}" for i in range(1, 6)), "test_batch", "batches.meta"]


def _tvd():
    from torchvision import datasets as tvd

    return tvd


def _cifar10_class():
    """torchvision's CIFAR10, checking that the files are there instead of their MD5 sums."""

    class _CIFAR10(_tvd().CIFAR10):
        def _check_integrity(self) -> bool:
            folder = Path(self.root) / self.base_folder
            return all((folder / name).is_file() for name, _ in self.train_list + self.test_list)

        def _load_meta(self) -> None:
            path = Path(self.root) / self.base_folder / self.meta["filename"]
            if not path.is_file():
                raise RuntimeError("Dataset metadata file not found")
            with open(path, "rb") as infile:
                self.classes = pickle.load(infile, encoding="latin1")[self.meta["key"]]
            self.class_to_idx = {c: i for i, c in enumerate(self.classes)}

    return _CIFAR10


def _where(name: str, root: Path) -> str:
    if name == "cifar10":
        return (
            f"put data_batch_1 ... data_batch_5, test_batch and batches.meta (unpacked from "
            f"cifar-10-python.tar.gz) in {root / 'cifar-10-batches-py'}"
        )
    folder = root / ("MNIST" if name == "mnist" else "FashionMNIST") / "raw"
    return f"put {', '.join(f + '.gz' for f in MNIST_FILES)} (gzipped or not) in {folder}"


def _gunzip_mnist(raw: Path) -> None:
    """Unpack ``<file>.gz`` next to itself when only the gzipped copy is there (size-capped)."""
    for name in MNIST_FILES:
        target, packed = raw / name, raw / (name + ".gz")
        if target.exists() or not packed.is_file():
            continue
        tmp = target.with_suffix(".part")
        with gzip.open(packed, "rb") as src, open(tmp, "wb") as dst:
            copied = 0
            while chunk := src.read(1 << 20):
                copied += len(chunk)
                if copied > MAX_GZ_BYTES:
                    dst.close()
                    tmp.unlink()
                    raise DataError(f"{packed} unpacks to over {MAX_GZ_BYTES >> 20} MB: it is not an MNIST file.")
                dst.write(chunk)
        os.replace(tmp, target)


def _open(name: str, req: LoadRequest, train: bool):
    root = req.root
    if name == "cifar10":
        return _cifar10_class()(str(root), train=train, download=False)
    tvd = _tvd()
    cls = tvd.MNIST if name == "mnist" else tvd.FashionMNIST
    _gunzip_mnist(root / cls.__name__ / "raw")
    return cls(str(root), train=train, download=False)


def _download(name: str, root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    tvd = _tvd()
    if name == "cifar10":
        tvd.CIFAR10(str(root), train=True, download=True)
    else:
        (tvd.MNIST if name == "mnist" else tvd.FashionMNIST)(str(root), train=True, download=True)


def _present(name: str, root: Path) -> bool:
    """Are the files there (MNIST files gzipped or not)?"""
    if name == "cifar10":
        return all((root / CIFAR_FOLDER / f).is_file() for f in CIFAR_FILES)
    raw = root / ("MNIST" if name == "mnist" else "FashionMNIST") / "raw"
    return all((raw / f).is_file() or (raw / (f + ".gz")).is_file() for f in MNIST_FILES)


def _load(name: str, req: LoadRequest) -> RawData:
    if not _present(name, req.root):
        if not req.download:
            raise DataError(f"{name} is not on this machine and downloading is off: {_where(name, req.root)}.")
        try:
            _download(name, req.root)
        except Exception as exc:  # noqa: BLE001 - any network/file error gets the same advice
            raise DataError(
                f"{name} could not be downloaded (this machine looks offline: "
                f"{str(exc).strip().splitlines()[0][:120]}). To use it offline, {_where(name, req.root)}."
            ) from None
    try:
        train, test = _open(name, req, True), _open(name, req, False)
    except DataError:
        raise
    except Exception as exc:  # noqa: BLE001 - truncated or foreign files: say so, never a traceback
        raise DataError(
            f"The {name} files in {req.root} could not be read ({exc.__class__.__name__}); "
            f"they may be truncated or not the real files: {_where(name, req.root)}."
        ) from None

    def tensors(ds) -> tuple[torch.Tensor, torch.Tensor]:
        data = ds.data
        if isinstance(data, np.ndarray):  # CIFAR: (N, H, W, 3) uint8
            x = torch.from_numpy(np.ascontiguousarray(data)).permute(0, 3, 1, 2).contiguous()
        else:  # MNIST family: (N, H, W) uint8 tensor
            x = data.unsqueeze(1).contiguous()
        return x.to(torch.uint8), torch.as_tensor(ds.targets, dtype=torch.int64)

    x, y = tensors(train)
    vx, vy = tensors(test)
    classes = [str(d) for d in range(10)] if name == "mnist" else list(train.classes)
    sources = {
        "cifar10": "CIFAR-10 (Krizhevsky 2009): 50,000 training and 10,000 test photos, 32x32 RGB, 10 classes.",
        "mnist": "MNIST (LeCun et al. 1998): 60,000 training and 10,000 test handwritten digits, 28x28 grey.",
        "fashion-mnist": "Fashion-MNIST (Xiao et al. 2017, MIT licence): 60,000 + 10,000 clothing images, 28x28 grey.",
    }
    return RawData(x, y, classes, sources[name] + f" Read from {req.root}.", val=(vx, vy))


ENTRIES = {
    "cifar10": DatasetEntry(
        "CIFAR-10",
        "60,000 small colour photos in 10 classes (32x32). Needs the files or a download.",
        lambda req: _load("cifar10", req),
        False,
    ),
    "mnist": DatasetEntry(
        "MNIST",
        "70,000 handwritten digits (28x28 grey). Needs the files or a download.",
        lambda req: _load("mnist", req),
        False,
    ),
    "fashion-mnist": DatasetEntry(
        "Fashion-MNIST",
        "70,000 clothing images in 10 classes (28x28 grey). Needs the files or a download.",
        lambda req: _load("fashion-mnist", req),
        False,
    ),
}
