"""Checkpoints: a state_dict written atomically, and read back without running any code."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from playground.common.weightsfile import check_weights_archive


def save_checkpoint(state: dict, path: str | Path) -> None:
    """Write a state_dict atomically: a temporary file in the same folder, then ``os.replace``."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    cpu = {k: v.detach().to("cpu").contiguous() if torch.is_tensor(v) else v for k, v in state.items()}
    try:
        torch.save(cpu, tmp)
        os.replace(tmp, path)  # readers see the old file or the new one, never half of one
    except BaseException:  # a full disk: never leave a half-written temporary behind
        tmp.unlink(missing_ok=True)
        raise


def load_checkpoint(path: str | Path) -> dict:
    """Read a state_dict saved by ``save_checkpoint`` (or uploaded): ``weights_only=True`` runs no code.

    ValueError if its tensors exceed MAX_WEIGHTS_BYTES (checked from the archive before loading).
    """
    check_weights_archive(Path(path), Path(path).name)
    return torch.load(Path(path), map_location="cpu", weights_only=True)
