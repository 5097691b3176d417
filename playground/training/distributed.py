"""Data-parallel training under ``torchrun``: the few lines the trainer needs.

``torchrun --nproc_per_node=N -m playground train ...`` starts N copies of the same
command with ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` set. Each copy builds the
same model and data (same seeds), joins a process group (gloo on the CPU, NCCL on
CUDA), wraps the model in DistributedDataParallel and, at every step, takes its own
shard of the same global batch. Only rank 0 writes the run folder and prints.

BatchNorm: on CUDA the model's BatchNorm layers become SyncBatchNorm, so batch
statistics cover the global batch as in one process. PyTorch implements
SyncBatchNorm only for GPUs, so on the CPU each rank normalises with its own shard's
statistics (plain DDP behaviour): results then differ slightly from one process.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as tdist
import torch.nn as nn


@dataclass(frozen=True)
class DistContext:
    """Where this process sits in a data-parallel job (a lone process is rank 0 of 1)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def active(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def from_env() -> DistContext:
    """The context torchrun describes in the environment (rank 0 of 1 outside torchrun)."""
    try:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", str(rank)))
    except ValueError:
        return DistContext()
    return DistContext(rank, world, local) if world > 1 else DistContext()


def setup(ctx: DistContext, device: torch.device) -> torch.device:
    """Join the process group; returns the device this rank trains on (its own GPU on CUDA)."""
    if not ctx.active:
        return device
    if device.type == "cuda":
        device = torch.device("cuda", ctx.local_rank % max(torch.cuda.device_count(), 1))
        torch.cuda.set_device(device)
    if not tdist.is_initialized():
        tdist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return device


def wrap(model: nn.Module, ctx: DistContext, device: torch.device) -> nn.Module:
    """DistributedDataParallel around ``model`` (unchanged for a lone process)."""
    if not ctx.active:
        return model
    if device.type == "cuda":
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        return nn.parallel.DistributedDataParallel(model, device_ids=[device.index])
    return nn.parallel.DistributedDataParallel(model)


def unwrap(model: nn.Module) -> nn.Module:
    """The plain model inside a DDP wrapper."""
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


def all_sum(t: torch.Tensor, ctx: DistContext) -> torch.Tensor:
    """Sum ``t`` over all ranks, in place (a no-op for a lone process)."""
    if ctx.active:
        tdist.all_reduce(t, op=tdist.ReduceOp.SUM)
    return t


def teardown(ctx: DistContext, *, ok: bool = True) -> None:
    """Leave the process group; after a normal end, all ranks together.

    Without the barrier the other ranks left while rank 0 still wrote the run's results, and a rank
    could abort at exit ("terminate called without an active exception", gloo's threads) though its
    training had finished. After an error there may be no one to wait for: leave at once.
    """
    if ctx.active and tdist.is_initialized():
        if ok:
            with contextlib.suppress(RuntimeError):  # a rank that died: its peers still leave
                if tdist.get_backend() == "gloo":
                    tdist.monitored_barrier(timeout=timedelta(seconds=300))
                else:
                    tdist.barrier()
        tdist.destroy_process_group()
