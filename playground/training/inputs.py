"""What the model sees: augmentation pipelines resolved for a run, and uint8 batches made model-ready.

A run has two pipelines (``TrainConfig.augment`` for training, ``val_augment`` for validation),
each anything ``playground.augment.pipelines.load_pipeline`` accepts: a preset name, a spec dict, JSON
text or a JSON file. ``resolve_pipeline`` turns one into a ``Pipeline``:

- ``batch``: the batched on-device augmenter (``augment_batch.batch_augmenter``) when every
  step has a faithful batched form, else ``per_sample``: the real ``v2.Compose``, one image at
  a time on the CPU (RandomResizedCrop, rotations, auto-augment policies ...);
- ``mix``: MixUp/CutMix (``augment.build_batch_transform``) for ``(images, labels)`` after the
  per-image part, giving soft labels; training only;
- ``normalizes``: the pipeline holds its own Normalize.

Scaling and normalising happen exactly once (``Inputs``): a pipeline that ends in ToTensor
hands over floats in 0..1 and the trainer does not divide by 255 again; a pipeline with its own
Normalize switches the trainer's normalisation (the training set's mean/std) off. The ``none``
preset is only ToTensor, so it costs nothing: uint8 batches are scaled and normalised in one go.

A pipeline that resizes (the article's ``RandomResizedCrop(224)``) changes the model's input:
``output_shape`` runs it on a blank image of the dataset's shape and reads the result, and the
model is built for that shape. Training and validation pipelines must agree on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch
import torch.nn as nn

NO_AUGMENT = (None, "", "none")


@dataclass
class Pipeline:
    """One resolved pipeline (see the module docstring); all None for no augmentation."""

    per_sample: Callable | None = None  # uint8 (C, H, W) CPU tensor -> tensor (C', H', W')
    batch: Callable | None = None  # (B, C, H, W) on the device -> (B, C', H', W')
    mix: Callable | None = None  # (float images (B, C, H, W), labels (B,)) -> (images, soft labels (B, K))
    normalizes: bool = False  # holds its own Normalize: the trainer must not normalise again
    steps: tuple[str, ...] = ()  # names of the enabled steps, for messages
    varies: bool = False  # output size changes from image to image (RandomRotation with expand, not cropped after)


def resolve_pipeline(
    pipeline: Any,
    device: torch.device,
    *,
    num_classes: int | None = None,
    image_shape: tuple[int, int, int] | None = None,
) -> Pipeline:
    """Resolve a pipeline for ``device`` (PipelineError, a ValueError, with a sentence if it cannot run).

    ``num_classes``: build MixUp/CutMix (training); None leaves them out (validation).
    ``image_shape``: ``(C, H, W)`` of the dataset's images, so the checks can say "a 32x32 crop is
    larger than the 8x8 image" or "mean has 3 values but the image has 1 channel".
    """
    if pipeline in NO_AUGMENT:
        return Pipeline()
    from playground.augment.batch import batch_augmenter
    from playground.augment.pipelines import batch_steps, build_batch_transform, build_transform, load_pipeline
    from playground.augment.validate import check

    user = load_pipeline(pipeline)
    names = tuple(s["name"] for s in user["steps"] if s["enabled"])
    spec = check(user) if image_shape is None else _check_for_dataset(user, image_shape)
    if names in ((), ("ToTensor",)):
        return Pipeline(steps=names)  # scaling to 0..1 is what Inputs does anyway, on the whole batch
    mix = build_batch_transform(spec, num_classes) if num_classes and batch_steps(spec) else None
    batch = batch_augmenter(spec, device)
    per_sample = None if batch is not None else build_transform(spec)
    return Pipeline(per_sample, batch, mix, "Normalize" in names, names, _size_varies(user))


def _size_varies(spec: dict) -> bool:
    """Does the output size vary per image? Only RandomRotation(expand=True) does, unless a fixed size follows."""
    varies = False
    for s in spec["steps"]:
        if not s["enabled"]:
            continue
        if s["name"] == "RandomRotation" and s["params"].get("expand"):
            varies = True
        elif s["name"] in ("CenterCrop", "RandomCrop", "RandomResizedCrop") or (
            s["name"] == "Resize" and isinstance(s["params"]["size"], list)
        ):
            varies = False
    return varies


def _check_for_dataset(spec: dict, image_shape: tuple[int, int, int]) -> dict:
    """``augment.check`` for a dataset's images, which all share one size; returns the spec to build.

    The studio's checks ask for a fixed-size step before MixUp/CutMix because photos differ in
    size; a dataset tensor never does. A pipeline that fails only that way runs here with a Resize
    to the dataset's own size in front, which torchvision skips (same size: the image itself).
    """
    from playground.augment.spec import PipelineError, make_step
    from playground.augment.validate import check

    h, w = int(image_shape[1]), int(image_shape[2])
    try:
        return check(spec, image_size=(h, w), channels=int(image_shape[0]))
    except PipelineError as original:
        same_size = {"steps": [make_step("Resize", size=[h, w]), *spec["steps"]]}
        try:
            return check(same_size, image_size=(h, w), channels=int(image_shape[0]))
        except PipelineError:
            raise original from None  # its step numbers match the user's pipeline


@torch.no_grad()
def output_shape(pipe: Pipeline, image_shape: tuple[int, int, int], device: torch.device) -> tuple[int, int, int]:
    """``(C, H, W)`` the pipeline hands on for images of ``image_shape``; ValueError if it varies.

    Runs the pipeline three times on a blank uint8 image; torch's random state is left as it was.
    """
    if pipe.per_sample is None and pipe.batch is None:
        return tuple(int(v) for v in image_shape)  # type: ignore[return-value]
    seen = set()
    with torch.random.fork_rng(devices=[]):
        for _ in range(3):
            blank = torch.zeros(image_shape, dtype=torch.uint8)
            out = pipe.batch(blank[None].to(device))[0] if pipe.batch else pipe.per_sample(blank)
            seen.add(tuple(int(v) for v in out.shape))
    if len(seen) > 1 or pipe.varies:
        sizes = ", ".join(f"{w}x{h}" for _, h, w in sorted(seen))
        raise ValueError(
            f"The pipeline gives images of different sizes (e.g. {sizes}), which cannot form a batch: "
            "end it with a fixed-size step (Resize with height and width, CenterCrop or "
            "RandomResizedCrop), or turn off RandomRotation's expand."
        )
    return seen.pop()


def model_input_shape(
    train: Pipeline, val: Pipeline, image_shape: tuple[int, int, int], device: torch.device
) -> tuple[int, int, int]:
    """The ``(C, H, W)`` the model receives; ValueError when the two pipelines disagree."""
    a = output_shape(train, image_shape, device)
    b = output_shape(val, image_shape, device)
    if a != b:
        raise ValueError(
            f"The training pipeline gives {a[2]}x{a[1]} images with {a[0]} channel(s) but the validation "
            f"pipeline gives {b[2]}x{b[1]} with {b[0]}: the model needs one input size. Make both end at "
            "the same size (for example article-train with article-val, or none with none)."
        )
    return a


def first_conv_channels(model: nn.Module, default: int) -> int:
    """Input channels of the model's first Conv2d (``default`` when it has none)."""
    conv = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
    return int(conv.in_channels) if conv is not None else int(default)


class Inputs:
    """uint8 batches -> model-ready float batches on the device: augment, scale, normalise, layout.

    ``expand_to``: repeat a one-channel image to this many channels after normalising (a grey
    dataset fed to an RGB backbone). Mean/std with one value per dataset channel collapse to one
    value when the pipeline turned colour images grey.
    """

    def __init__(
        self,
        mean: list[float],
        std: list[float],
        device: torch.device,
        *,
        normalize: bool,
        channels_last: bool,
        per_sample: Callable | None = None,
        batch: Callable | None = None,
        expand_to: int | None = None,
    ):
        self.mean = torch.tensor(mean, device=device).view(1, -1, 1, 1)  # (1, C, 1, 1)
        self.std = torch.tensor(std, device=device).view(1, -1, 1, 1)
        self.device, self.normalize, self.channels_last = device, normalize, channels_last
        self.per_sample, self.batch, self.expand_to = per_sample, batch, expand_to

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """uint8 ``(B, C, H, W)`` on the device -> float32 ``(B, C', H', W')``."""
        if self.batch is not None:
            x = self.batch(x)
        elif self.per_sample is not None:
            x = torch.stack([self.per_sample(img) for img in x.cpu()]).to(self.device)
        x = x.as_subclass(torch.Tensor)  # v2 hands back tv_tensors.Image; plain tensors from here on
        if x.dtype == torch.uint8:
            x = x.float().div_(255)  # 0..255 -> 0..1 (a pipeline ending in ToTensor already did it)
        elif x.dtype != torch.float32:
            x = x.float()
        if self.normalize:
            mean, std = self.mean, self.std
            if mean.shape[1] != x.shape[1]:  # a Grayscale step turned colour into grey
                mean, std = mean.mean(1, keepdim=True), std.mean(1, keepdim=True)
            x = (x - mean) / std
        if self.expand_to and x.shape[1] == 1 and self.expand_to != 1:
            x = x.expand(-1, self.expand_to, -1, -1)  # (B, 1, H, W) -> (B, 3, H, W), no copy
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x.contiguous()


def make_inputs(
    pipe: Pipeline,
    mean: list[float],
    std: list[float],
    device: torch.device,
    *,
    normalize: bool,
    channels_last: bool,
    model_channels: int | None = None,
    data_channels: int | None = None,
) -> Inputs:
    """``Inputs`` for a pipeline: the trainer normalises only when the pipeline does not.

    ``model_channels`` / ``data_channels``: a grey dataset for a 3-channel model is repeated to 3
    channels; a colour dataset for a 1-channel model is a ValueError with a sentence.
    """
    expand = None
    if model_channels is not None and data_channels is not None and model_channels != data_channels:
        if data_channels != 1:
            raise ValueError(
                f"The model takes {model_channels}-channel images but the data has {data_channels} "
                f"channels: pick a model made for {data_channels}-channel images, or add Grayscale "
                f"with {model_channels} output channel(s) to both pipelines."
            )
        expand = model_channels
    return Inputs(
        mean,
        std,
        device,
        normalize=normalize and not pipe.normalizes,
        channels_last=channels_last,
        per_sample=pipe.per_sample,
        batch=pipe.batch,
        expand_to=expand,
    )
