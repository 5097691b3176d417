"""The model a run trains: zoo presets and specs fitted to the data, or a transfer-learning model.

``TrainConfig.model`` is one of

- a zoo preset name (``"simplecnn"``, ``"resnet20"`` ...), a model spec dict, JSON text or the
  path of a JSON spec file: built by ``playground.models.zoo.build_model`` with the number of classes,
  the input channels and the image size fitted to the data (after the pipeline);
- a transfer-learning dict, the contract the Transfer page launches runs with::

      {"kind": "transfer", **TransferConfig fields, "weights_file": "", "from_run": ""}

  ``weights`` says where the backbone's weights come from: ``"imagenet"`` (torchvision's, from
  the torch cache or downloaded; offline without the file the run fails with
  ``WeightsUnavailable``'s sentence), ``"bundled"`` (a backbone pre-trained here, read from
  ``assets/<backbone>.safetensors``), ``"upload"`` (``weights_file``: a state_dict file the page
  saved, read with ``weights_only=True``), ``"run"`` (``from_run``: a run folder; its model is
  rebuilt from its config and loaded from its ``weights.pt``, and its classifier -- the last
  Linear -- is replaced) or ``"random"``. ``num_classes`` is always the dataset's. The built
  ``TransferModel`` keeps frozen stages frozen and offers ``param_groups(lr, backbone_lr_scale)``;
  the trainer gives those groups to the optimizer, so the backbone learns at ``lr x
  backbone_lr_scale``. ``backbone_lr_scale`` is also set as an attribute on the model.

``resolve_model(..., load_weights=False)`` builds the same architecture without fetching any
weights: what ``results.load_run_model`` needs before loading the run's own ``weights.pt``.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import fields
from pathlib import Path
from typing import Any

import torch.nn as nn

from playground.common.jsontext import loads as json_loads

# Beside TransferConfig's fields; "role" is the runs table's word for the run (labs.transfer.run_configs).
TRANSFER_KEYS = ("weights_file", "from_run", "source", "role")


def as_model_config(model: Any) -> Any:
    """A transfer dict given as JSON text or a JSON file becomes the dict; anything else is returned as is."""
    if isinstance(model, str) and model.strip().startswith("{"):
        try:
            obj = json_loads(model)
        except ValueError:
            return model
        return obj if isinstance(obj, dict) and obj.get("kind") == "transfer" else model
    if isinstance(model, (str, Path)) and str(model).endswith(".json") and Path(model).is_file():
        try:
            obj = json_loads(Path(model).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return model  # the zoo's loader says what is wrong with it
        return obj if isinstance(obj, dict) and obj.get("kind") == "transfer" else model
    return model


def is_transfer(model: Any) -> bool:
    """Is ``model`` a transfer-learning dict (``{"kind": "transfer", ...}``)?"""
    return isinstance(model, dict) and model.get("kind") == "transfer"


def transfer_config(model: dict, num_classes: int | None = None):
    """The ``TransferConfig`` inside a transfer dict (unknown keys refused with a sentence)."""
    from playground.models.transfer import MODES, WEIGHT_SOURCES, TransferConfig

    names = {f.name for f in fields(TransferConfig)}
    unknown = sorted(set(model) - names - set(TRANSFER_KEYS) - {"kind"})
    if unknown:
        raise ValueError(
            f"The transfer model has an unknown setting {unknown[0]!r}; its settings are: "
            f"{', '.join(sorted(names | set(TRANSFER_KEYS[:2])))}."
        )
    cfg = TransferConfig(**{k: v for k, v in model.items() if k in names})
    if num_classes is not None:
        cfg.num_classes = int(num_classes)
    if cfg.weights not in WEIGHT_SOURCES:
        raise ValueError(f"Unknown weights source {cfg.weights!r}; use one of {', '.join(WEIGHT_SOURCES)}.")
    if cfg.mode not in MODES:
        raise ValueError(f"Unknown mode {cfg.mode!r}; use one of {', '.join(MODES)}.")
    if not 0 <= float(cfg.backbone_lr_scale) <= 10:
        raise ValueError(f"backbone_lr_scale must be between 0 and 10, not {cfg.backbone_lr_scale}.")
    return cfg


def _source_run(model: dict) -> dict:
    """What a "run" weights source needs about the earlier run: its model and the input it was built for."""
    if isinstance(model.get("source"), dict):
        return model["source"]  # recorded when this run was created, so it outlives the earlier run
    run = Path(str(model.get("from_run") or ""))
    if not model.get("from_run") or not (run / "config.json").is_file() or not (run / "dataset.json").is_file():
        raise ValueError(
            f"The run to start from ({model.get('from_run') or 'none given'}) is not a finished run "
            "folder with a config and a dataset: pick a run from the list."
        )
    config = json.loads((run / "config.json").read_text())
    ds = json.loads((run / "dataset.json").read_text())
    return {
        "run": run.name,
        "model": config.get("model", "simplecnn"),
        "num_classes": len(ds["classes"]),
        "input_shape": ds.get("model_input") or [ds["in_channels"], *ds["image_size"]],
    }


def describe_source(model: dict) -> dict:
    """``model`` with its "run" source recorded (``source``), so the run stays rebuildable on its own."""
    model = as_model_config(model)
    if is_transfer(model) and model.get("weights") == "run" and "source" not in model:
        return {**model, "source": _source_run(model)}
    return model


def _source_net(model: dict, load_weights: bool):
    """The earlier run's model (weights loaded from its weights.pt when asked) and its input channels."""
    from playground.training.checkpoints import load_checkpoint

    src = _source_run(model)
    c, h, w = src["input_shape"]
    net = resolve_model(
        src["model"], num_classes=src["num_classes"], in_channels=c, input_size=(h, w), load_weights=False
    )
    if isinstance(net, nn.Module) and hasattr(net, "net") and hasattr(net, "head_name"):
        net = net.net  # a transfer model trained earlier: start from its inner network
        prefix = "net."
    else:
        prefix = ""
    state = None
    if load_weights:
        weights = Path(str(model.get("from_run") or "")) / "weights.pt"
        if not weights.is_file():
            raise ValueError(
                f"Run {src['run']} has no saved weights (weights.pt) to start from: pick a run that "
                "trained at least one epoch."
            )
        state = load_checkpoint(weights)
        state = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
    return net, state


def _transfer_model(model: dict, num_classes: int, load_weights: bool) -> nn.Module:
    from playground.models import transfer

    cfg = transfer_config(model, num_classes)
    net, state = None, None
    if cfg.weights == "run":
        net, state = _source_net(model, load_weights)
    elif load_weights and cfg.weights in ("imagenet", "bundled"):
        state = transfer.backbone_state_dict(cfg, allow_download=not os.environ.get("PLAYGROUND_OFFLINE"))
    elif load_weights and cfg.weights == "upload":
        path = Path(str(model.get("weights_file") or ""))
        if not model.get("weights_file") or not path.is_file():
            raise ValueError(
                f"The uploaded weights file ({model.get('weights_file') or 'none given'}) is not "
                "there any more: upload it again."
            )
        state = transfer.read_weights_file(path.read_bytes(), path.name)
    built = transfer.build_transfer_model(cfg, net=net, state_dict=state)
    built.backbone_lr_scale = float(cfg.backbone_lr_scale)
    return built


def resolve_model(
    model: Any, *, num_classes: int, in_channels: int, input_size: tuple[int, int], load_weights: bool = True
) -> nn.Module:
    """Build the model a config names, fitted to the dataset's classes, channels and image size.

    ValueError with a sentence for an unknown name, a spec that breaks on this input, or
    transfer weights that cannot be had (see the module docstring).
    """
    if isinstance(model, nn.Module):
        return model
    model = as_model_config(model)
    if is_transfer(model):
        return _transfer_model(model, num_classes, load_weights)
    from playground.models.zoo import build_model

    return build_model(model, num_classes=num_classes, in_channels=in_channels, input_size=input_size)


def check_model(model: Any) -> None:
    """Raise ValueError with a sentence when ``model`` cannot be built (cheap: builds nothing)."""
    if isinstance(model, nn.Module):
        return
    model = as_model_config(model)
    if is_transfer(model):
        from playground.models.transfer import BACKBONES

        cfg = transfer_config(model)
        if cfg.weights != "run":
            BACKBONES.get(cfg.backbone)  # ValueError listing the choices
        if cfg.weights == "upload" and not Path(str(model.get("weights_file") or "")).is_file():
            raise ValueError("Weights source 'upload' needs weights_file: the path of a saved state_dict file.")
        if cfg.weights == "run":
            _source_run(model)
        return
    from playground.models.zoo import model_spec

    model_spec(model)


def model_label(model: Any) -> str:
    """A short name for lists and run ids: the preset, the spec's name, or ``<backbone>-transfer``."""
    model = as_model_config(model)
    if is_transfer(model):
        return "transfer-from-run" if model.get("weights") == "run" else f"{model.get('backbone', 'backbone')}-transfer"
    if isinstance(model, dict):
        return str(model.get("name") or "custom")
    text = str(model)
    if text.endswith(".json"):
        return Path(text).stem
    return text if len(text) < 40 else "custom"


def save_upload_file(data: bytes, folder: str | Path, suffix: str) -> Path:
    """Store uploaded bytes (a weights file, a spec) by content under ``folder``; returns the path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{hashlib.sha256(data).hexdigest()[:16]}{suffix}"
    if not target.exists():
        tmp = target.with_name(target.name + ".part")
        tmp.write_bytes(data)
        os.replace(tmp, target)
    return target
