"""The notebook face: ``import playground as pg`` and six names that cover the core.

    >>> import playground as pg
    >>> net = pg.build_model("simplecnn", num_classes=4)          # an nn.Module
    >>> pg.summarize("resnet18").total_params                     # the layer table, without running it
    11689512
    >>> data = pg.load_dataset("shapes", size=400)                # uint8 tensors, split and seeded
    >>> result = pg.train(pg.TrainConfig(epochs=1), data=data)    # the page's loop, in the notebook
    >>> aug = pg.pipeline("cifar")                                # the real torchvision v2 pipeline

``playground/__init__.py`` resolves these names lazily (PEP 562 ``__getattr__``), so importing the
package, and ``python -m playground --help``, stay free of torch until a name is used.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import torch.nn as nn

from playground.augment.pipelines import build_transform
from playground.data.datasets import ImageDataset, load_dataset
from playground.models.summary import Summary, summarize
from playground.models.zoo import build_model
from playground.training.loop import TrainConfig, TrainResult
from playground.training.loop import train as _train

__all__ = ["ImageDataset", "Summary", "TrainConfig", "TrainResult", "build_model", "load_dataset", "pipeline"]
__all__ += ["summarize", "train"]

_CONFIG_FIELDS = {f.name for f in dataclasses.fields(TrainConfig)}


def pipeline(spec: Any = "none"):
    """The ``torchvision.transforms.v2.Compose`` of an augmentation pipeline.

    ``spec`` is a preset name (``"cifar"``, ``"article-train"``, ...), a spec dict saved by the
    Augmentation Studio, JSON text or a JSON file's path. It takes a PIL image or a uint8
    ``(C, H, W)`` tensor, as ``torchvision`` transforms do; MixUp/CutMix steps are batch-level and
    left out (``playground.augment.pipelines.build_batch_transform`` builds them). Raises
    ValueError (``PipelineError``) with a sentence for a pipeline that cannot work.
    """
    return build_transform(spec)


def train(
    config: TrainConfig | None = None,
    /,
    *,
    data: ImageDataset | None = None,
    model: Any = None,
    emit: Callable[[dict], None] | None = None,
    progress: bool = False,
    **overrides: Any,
) -> TrainResult:
    """Train as the Training page does and return the ``TrainResult`` (``.model``, ``.history``, ``.status``).

    ``config`` defaults to ``TrainConfig()``; keyword ``overrides`` that name its fields replace
    them (``pg.train(epochs=2, lr=0.1, device="cpu")``), the rest go to ``playground.training.loop.train``
    (``checkpoint_path``, ``train_transform``, ``should_stop`` ...). ``model`` is a config value (a preset
    name or spec) or an ``nn.Module`` / zero-argument factory to train as it is. ``data`` is an
    ``ImageDataset`` from ``load_dataset`` (default: the config's dataset). ``emit`` receives every
    event dict; ``progress=True`` prints one line per epoch. Nothing is written to the run store.
    """
    config = dataclasses.replace(config or TrainConfig(), **{k: v for k, v in overrides.items() if k in _CONFIG_FIELDS})
    extra = {k: v for k, v in overrides.items() if k not in _CONFIG_FIELDS}
    module = None
    if isinstance(model, nn.Module) or (callable(model) and not isinstance(model, (str, dict))):
        module = model
    elif model is not None:
        config = dataclasses.replace(config, model=model)

    def report(event: dict) -> None:
        if emit:
            emit(event)
        if progress and event["type"] == "epoch":
            print(
                f"epoch {event['epoch']}: train loss {event['train_loss']:.3f}, "
                f"val loss {event['val_loss']:.3f}, val accuracy {event['val_accuracy']:.1%}"
            )

    return _train(config, data=data, model=module, emit=report, **extra)
