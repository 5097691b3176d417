"""A finished run's results for the page: its model with trained weights, evaluation, predictions.

Everything is read back from the run folder (``config.json``, ``dataset.json``,
``weights.pt``, ``evaluation.json``); the weights load with ``weights_only=True``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn as nn

from playground.data.datasets import ImageDataset
from playground.models.export import ModelFile
from playground.training.checkpoints import load_checkpoint
from playground.training.evaluation import Evaluation, evaluate_model, top_k
from playground.training.inputs import Inputs, first_conv_channels, make_inputs, resolve_pipeline
from playground.training.loop import TrainConfig, load_data
from playground.training.models import resolve_model


@dataclass
class LoadedRun:
    """A run's trained model, ready to predict, and what it was trained on."""

    model: nn.Module
    config: TrainConfig
    dataset: dict  # dataset.json: classes, in_channels, image_size, mean, std, ...
    inputs: Inputs  # uint8 batches -> model inputs, with the run's validation pipeline


def build_run_model(
    run_dir: str | Path, device: torch.device | str = "cpu", state_dict: dict | None = None
) -> LoadedRun:
    """The run's architecture (no pre-trained weights fetched) with ``state_dict`` loaded, ready to predict.

    ``state_dict`` defaults to the run's own ``weights.pt``; a mismatch is a ValueError with a sentence.
    """
    run = Path(run_dir)
    device = torch.device(device)
    if state_dict is None:
        weights = run / "weights.pt"
        if not weights.is_file():
            raise ValueError(f"Run {run.name} has no saved weights yet: it saves them after its first epoch.")
        state_dict = load_checkpoint(weights)
    config = TrainConfig.from_dict(json.loads((run / "config.json").read_text()))
    ds = json.loads((run / "dataset.json").read_text())
    image_shape = (ds["in_channels"], *ds["image_size"])
    pipe = resolve_pipeline(config.val_augment, device, image_shape=image_shape)
    shape = tuple(ds.get("model_input") or image_shape)
    model = resolve_model(
        config.model, num_classes=len(ds["classes"]), in_channels=shape[0], input_size=shape[1:], load_weights=False
    )
    if hasattr(model, "head_name") and not any(k.startswith("net.") for k in state_dict):
        state_dict = {f"net.{k}": v for k, v in state_dict.items()}  # a transfer model's file, without its wrapper
    try:
        model.load_state_dict(state_dict)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        detail = " ".join(line.strip() for line in first[1:3])[:300]
        raise ValueError(
            f"These weights do not fit run {run.name}'s model ({detail}). Load weights saved from this run's model."
        ) from None
    model = model.to(device).eval()
    if config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    inputs = make_inputs(
        pipe,
        ds["mean"],
        ds["std"],
        device,
        normalize=config.normalize,
        channels_last=config.channels_last,
        model_channels=first_conv_channels(model, shape[0]),
        data_channels=shape[0],
    )
    return LoadedRun(model, config, ds, inputs)


def load_run_model(run_dir: str | Path, device: torch.device | str = "cpu") -> LoadedRun:
    """Rebuild the run's model and load its saved weights (ValueError if the run saved none)."""
    return build_run_model(run_dir, device)


def load_weights_file(
    run_dir: str | Path, data: bytes, name: str = "weights file", device: torch.device | str = "cpu"
) -> LoadedRun:
    """The run's model with weights from an uploaded file (``torch.load(..., weights_only=True)``)."""
    from playground.models.transfer import read_weights_file

    state = read_weights_file(data, name)
    return build_run_model(run_dir, device, state_dict=state)


def run_evaluation(
    run_dir: str | Path, data: ImageDataset | None = None, loaded: LoadedRun | None = None
) -> Evaluation:
    """The run's evaluation: ``evaluation.json`` when the run wrote one, else computed from its weights now.

    ``loaded``: evaluate this model (e.g. with uploaded weights) instead, always computed.
    """
    path = Path(run_dir) / "evaluation.json"
    if loaded is None and path.is_file():
        return Evaluation.from_dict(json.loads(path.read_text()))
    loaded = loaded or load_run_model(run_dir)
    data = data or load_data(loaded.config)
    return evaluate_model(loaded.model, data.val_x, data.val_y, data.class_names, loaded.inputs)


def misclassified_gallery(evaluation: Evaluation, data: ImageDataset, limit: int = 32) -> list[dict]:
    """``[{image: uint8 (C, H, W), true, pred, confidence}, ...]`` for the page's gallery (most confident first).

    ``data`` is the run's dataset (``load_data(config)``: the same seed gives the same validation split).
    """
    names = evaluation.class_names
    return [
        {
            "image": data.val_x[m["index"]],
            "true": names[m["true"]],
            "pred": names[m["pred"]],
            "confidence": m["confidence"],
        }
        for m in evaluation.misclassified[:limit]
    ]


def run_mistakes(run_dir: str | Path, limit: int = 24) -> list[tuple]:
    """``(uint8 numpy (C, H, W), "true → predicted (confidence)")`` for a run's most confident mistakes.

    The run's config regenerates the data with the same seed: the same validation split the run scored.
    """
    from playground.runs.store import config_file

    ev = run_evaluation(run_dir)
    data = load_data(TrainConfig.from_dict(json.loads(config_file(run_dir).read_text())))
    return [
        (m["image"].numpy(), f"{m['true']} → {m['pred']} ({m['confidence']:.0%})")
        for m in misclassified_gallery(ev, data, limit)
    ]


def predict(run_dir: str | Path | LoadedRun, image, k: int = 5) -> list[tuple[str, float]]:
    """Top-``k`` ``(class, probability)`` for one picture (PIL image, uint8/float tensor or array)."""
    loaded = run_dir if isinstance(run_dir, LoadedRun) else load_run_model(run_dir)
    ds = loaded.dataset
    return top_k(
        loaded.model,
        image,
        ds["classes"],
        loaded.inputs,
        in_channels=ds["in_channels"],
        image_size=tuple(ds["image_size"]),
        k=k,
    )


def export_run(run_dir: str | Path, fmt: str, *, opset: int | None = None) -> ModelFile:
    """The run's trained model as a file (``playground.models.export``): onnx, safetensors or pt2 with its
    trained weights; py or json for the architecture (spec models; a transfer model has no spec).

    ONNX and safetensors files carry the class names and the input normalisation in their metadata, since
    the model expects images standardised with the run's mean/std (``dataset.json``).
    """
    from playground.models.export import DEFAULT_OPSET, MIME, SUFFIX, check_format, export_module, export_spec
    from playground.models.zoo import model_spec
    from playground.training.models import is_transfer

    opset = DEFAULT_OPSET if opset is None else opset
    check_format(fmt, opset)
    run = Path(run_dir)
    if fmt in ("py", "json"):
        config = TrainConfig.from_dict(json.loads((run / "config.json").read_text()))
        if is_transfer(config.model):
            raise ValueError(
                f"Run {run.name} fine-tuned a torchvision backbone, which has no model spec: "
                "export it as onnx, safetensors or pt2."
            )
        ds = json.loads((run / "dataset.json").read_text())
        shape = tuple(ds.get("model_input") or (ds["in_channels"], *ds["image_size"]))
        spec = model_spec(config.model, num_classes=len(ds["classes"]), in_channels=shape[0], input_size=shape[1:])
        f = export_spec(spec, fmt)
        return ModelFile(f.data, run.name + SUFFIX[fmt], f.mime)
    loaded = load_run_model(run)
    ds = loaded.dataset
    shape = tuple(ds.get("model_input") or (ds["in_channels"], *ds["image_size"]))
    metadata = {
        "run": run.name,
        "classes": ds["classes"],
        "input_shape": list(shape),
        "normalize": bool(loaded.config.normalize),
        "mean": ds["mean"],
        "std": ds["std"],
    }
    data = export_module(loaded.model, shape, fmt, opset=opset, metadata=metadata)
    return ModelFile(data, run.name + SUFFIX[fmt], MIME[fmt])
