"""After training: confusion matrix, per-class accuracy, misclassified examples, top-k predictions.

All functions take a trained model and uint8 images (the dataset's own format) and
return plain numbers, so the page can draw them and ``runs`` can store them as JSON
(``evaluation.json`` in the run folder).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn as nn
from PIL import Image, ImageOps

from playground.training.inputs import Inputs


@torch.no_grad()
def predict_probs(model: nn.Module, x: torch.Tensor, inputs: Inputs, batch_size: int = 512) -> torch.Tensor:
    """Class probabilities ``(N, K)`` (float32, CPU) for uint8 images ``x`` ``(N, C, H, W)``."""
    model.eval()
    device = inputs.device
    out = []
    for i in range(0, len(x), batch_size):
        logits = model(inputs(x[i : i + batch_size].to(device)))
        out.append(torch.softmax(logits.float(), dim=1).cpu())
    return torch.cat(out) if out else torch.zeros(0, 0)


def confusion_matrix(y_true: torch.Tensor, y_pred: torch.Tensor, num_classes: int) -> torch.Tensor:
    """``(K, K)`` counts: row = true class, column = predicted class."""
    idx = y_true.to(torch.int64) * num_classes + y_pred.to(torch.int64)
    return torch.bincount(idx, minlength=num_classes * num_classes).view(num_classes, num_classes)


def per_class_accuracy(cm: torch.Tensor) -> list[float | None]:
    """Fraction right per true class (None for a class with no validation images)."""
    totals = cm.sum(dim=1)
    return [None if int(t) == 0 else float(cm[i, i]) / float(t) for i, t in enumerate(totals)]


@dataclass
class Evaluation:
    """What the page shows after training; JSON-able through ``to_dict``."""

    class_names: list[str]
    accuracy: float
    confusion: list[list[int]]  # rows true, columns predicted
    per_class_accuracy: list[float | None]
    misclassified: list[dict] = field(default_factory=list)  # index (into the validation split), true, pred, confidence
    val_size: int = 0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Evaluation":
        return cls(
            **{
                k: d[k]
                for k in ("class_names", "accuracy", "confusion", "per_class_accuracy", "misclassified", "val_size")
                if k in d
            }
        )


def evaluate_model(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    class_names: list[str],
    inputs: Inputs,
    max_misclassified: int = 100,
) -> Evaluation:
    """Score ``model`` on uint8 images ``x`` with labels ``y``; misclassified listed most confident first."""
    probs = predict_probs(model, x, inputs)
    k = len(class_names)
    conf, pred = probs.max(dim=1)
    y = y.cpu()
    cm = confusion_matrix(y, pred, k)
    wrong = (pred != y).nonzero().flatten()
    wrong = wrong[conf[wrong].argsort(descending=True)][:max_misclassified]
    missed = [
        {
            "index": int(i),
            "true": int(y[i]),
            "pred": int(pred[i]),
            "confidence": round(float(conf[i]), 4),
            "true_prob": round(float(probs[i, y[i]]), 4),
        }
        for i in wrong
    ]
    acc = float((pred == y).float().mean()) if len(y) else 0.0
    return Evaluation(list(class_names), acc, cm.tolist(), per_class_accuracy(cm), missed, len(y))


def image_to_input(
    image: Image.Image | torch.Tensor | np.ndarray, in_channels: int, image_size: tuple[int, int]
) -> torch.Tensor:
    """Any picture -> uint8 ``(1, C, H, W)`` in the dataset's format (centre-cropped, resized, grey or RGB)."""
    if isinstance(image, torch.Tensor):
        arr = image.detach().cpu()
        if arr.dtype != torch.uint8:
            arr = (arr.float().clamp(0, 1) * 255).round().to(torch.uint8)
        image = Image.fromarray(arr.permute(1, 2, 0).squeeze(-1).numpy() if arr.ndim == 3 else arr.numpy())
    elif isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    image = image.convert("L" if in_channels == 1 else "RGB")
    h, w = image_size
    arr = np.asarray(ImageOps.fit(image, (w, h), Image.Resampling.BILINEAR))
    t = torch.from_numpy(arr.copy())
    t = t.unsqueeze(0) if t.ndim == 2 else t.permute(2, 0, 1)  # (C, H, W)
    return t.unsqueeze(0)


def top_k(
    model: nn.Module,
    image,
    class_names: list[str],
    inputs: Inputs,
    *,
    in_channels: int,
    image_size: tuple[int, int],
    k: int = 5,
) -> list[tuple[str, float]]:
    """The ``k`` most probable classes for one picture: ``[(class name, probability), ...]``."""
    probs = predict_probs(model, image_to_input(image, in_channels, image_size), inputs)[0]
    values, idx = probs.topk(min(k, len(class_names)))
    return [(class_names[int(i)], float(v)) for v, i in zip(values, idx)]
