"""Run by tests/unit/test_distributed.py, alone or under torchrun: trains a small BatchNorm-free
CNN on digits with the real trainer and saves rank 0's results to the path in argv[1]."""

import sys

import torch
import torch.nn as nn

from playground.data.datasets import load_dataset
from playground.training.distributed import from_env, teardown
from playground.training.loop import TrainConfig, train


def small_cnn() -> nn.Module:
    # No BatchNorm: PyTorch syncs batch statistics across ranks only on GPUs (see distributed.py).
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 4 * 4, 10),
    )  # (B, 1, 8, 8) -> (B, 10)


if __name__ == "__main__":
    dist = from_env()
    config = TrainConfig(
        dataset="digits",
        epochs=2,
        batch_size=64,
        lr=0.1,
        schedule="onecycle",
        label_smoothing=0.1,
        device="cpu",
        seed=3,
    )
    result = train(config, data=load_dataset("digits"), model=small_cnn, device=torch.device("cpu"), dist=dist)
    if dist.is_main:
        torch.save({"state": result.model.state_dict(), "history": result.history}, sys.argv[1])  # weights + metrics
    teardown(dist)
