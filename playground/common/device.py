"""Choosing and describing the compute device.

The device is chosen once (here) and passed into the core; the core never
calls ``.cuda()`` itself. torch is imported inside the functions, so a command
that only needs ``DEVICE_CHOICES`` (``cnn-playground train --help``) stays light.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def _mps_available() -> bool:
    import torch

    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def pick_device(name: str = "auto") -> torch.device:
    """Resolve a device name: ``auto`` prefers CUDA, then Apple MPS, then the CPU.

    An explicit name that is not available raises ValueError with a sentence
    saying what is there instead.
    """
    import torch

    name = (name or "auto").lower()
    if name not in DEVICE_CHOICES:
        raise ValueError(f"Unknown device {name!r}. Choose one of: {', '.join(DEVICE_CHOICES)}.")
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("CUDA was asked for but no NVIDIA GPU is visible to torch: use --device cpu or auto.")
    if name == "mps" and not _mps_available():
        raise ValueError("Apple MPS was asked for but is not available here: use --device cpu or auto.")
    return torch.device(name)


@dataclass(frozen=True)
class DeviceInfo:
    """What the sidebar shows about the machine the app computes on."""

    kind: str  # "cuda" | "mps" | "cpu"
    label: str  # e.g. "NVIDIA H100 80GB HBM3" or "CPU, 2 threads"
    memory_bytes: int | None  # total device memory where torch can tell (CUDA only)
    torch_version: str
    torchvision_version: str


def describe_device(device: torch.device | None = None) -> DeviceInfo:
    """Describe ``device`` (default: the auto choice) for people, not programs."""
    import torch

    device = device or pick_device("auto")
    memory = None
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        props = torch.cuda.get_device_properties(index)
        label, memory = props.name, int(props.total_memory)
    elif device.type == "mps":
        label = "Apple GPU (MPS)"
    else:
        threads = torch.get_num_threads()
        label = f"CPU, {threads} thread{'s' if threads != 1 else ''}"
    # The version from the package metadata: importing torchvision for its version string costs seconds.
    return DeviceInfo(device.type, label, memory, torch.__version__, metadata.version("torchvision"))
