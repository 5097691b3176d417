"""Backbones pre-trained here and bundled with the app (``assets/<name>.safetensors`` + a model card).

Offline, torchvision's ImageNet weights cannot be had, and a frozen random network trains to chance.
A bundled backbone is a small CIFAR-style ResNet really pre-trained on a large, varied source task
the app generates itself (shapes x textures, ``playground.labs.pretrain``), so the Transfer page's
experiment -- fine-tuned versus the same network from scratch -- shows what pre-training is worth.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch.nn as nn

from playground.common.registry import Registry

ASSETS = Path(__file__).resolve().parents[2] / "assets"


@dataclass(frozen=True)
class Bundled:
    """One bundled backbone: the zoo preset and knobs it is built from, its source task and its files."""

    name: str
    preset: str
    knobs: dict
    source_classes: int
    in_channels: int = 3
    image_size: int = 32

    @property
    def weights_path(self) -> Path:
        """The safetensors file of its pre-trained weights."""
        return ASSETS / f"{self.name}.safetensors"

    @property
    def card_path(self) -> Path:
        """Its model card (Markdown): source task, recipe, accuracy, how to reproduce."""
        return ASSETS / f"{self.name}.md"

    def build(self, num_classes: int | None = None) -> nn.Module:
        """The architecture (random weights), with ``num_classes`` outputs (default: the source task's)."""
        from playground.models.zoo import build_model

        return build_model(
            self.preset,
            num_classes=num_classes or self.source_classes,
            in_channels=self.in_channels,
            input_size=(self.image_size, self.image_size),
            **self.knobs,
        )


BUNDLED: Registry[Bundled] = Registry("bundled backbone")
SHAPES_RESNET8 = Bundled("shapes_resnet8", "resnet20", {"blocks": (1, 1, 1)}, source_classes=40)
BUNDLED.register(SHAPES_RESNET8.name, SHAPES_RESNET8)
DEFAULT_BUNDLED = SHAPES_RESNET8.name


def is_bundled(name: str) -> bool:
    """Is ``name`` a backbone bundled with the app (not one of torchvision's)?"""
    return isinstance(name, str) and name in BUNDLED


def bundled_state_dict(name: str) -> dict:
    """The bundled backbone's pre-trained state_dict, read from its safetensors file (no code can run)."""
    from playground.models.transfer import read_weights_file

    entry = BUNDLED.get(name)
    return read_weights_file(entry.weights_path.read_bytes(), entry.weights_path.name)
