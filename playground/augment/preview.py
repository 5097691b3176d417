"""Previewing a pipeline: independent draws, step-through, what the model receives, MixUp/CutMix on a batch.

How the seed drives the draws (the exported code does exactly the same, see
``playground.augment.codegen``): sample ``i`` of a grid is ``transform(image)``
called right after ``torch.manual_seed(seed + i)``; a mixed batch is mixed
right after ``torch.manual_seed(seed)``. The image is the decoded photo as a
uint8 ``tv_tensors.Image`` of shape (3, H, W): torchvision's tensor fast
paths, decoded once by the caller.

Seeding touches torch's global generator, which every thread of a process
shares; each draw (one sample) holds a lock and restores the generator
afterwards, so two people previewing at once still get reproducible grids and
nobody else's random stream moves. The lock is held per sample, not per grid,
so concurrent previews interleave rather than queue behind each other.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch

from playground.augment.budget import check_budget
from playground.augment.pipelines import build_transform, per_image_steps
from playground.augment.spec import PipelineError
from playground.augment.transforms import TRANSFORMS, build_step
from playground.augment.validate import check

_RNG_LOCK = threading.Lock()
PREVIEW_MAX_SIDE = 1024  # photos are downscaled once on arrival so neither side exceeds this (studio, CLI, export)


@contextmanager
def seeded(seed: int):
    """Run a block with torch's global generator seeded to ``seed``; restores it afterwards.

    It leaves the thread count alone: ``torch.set_num_threads`` is process-wide (every thread
    started while it is lowered, such as another session's script run, keeps the lowered count),
    so lowering it for a preview would slow everyone else's work on the server. Run processes
    are separate processes, and OMP_WAIT_POLICY=PASSIVE (``playground/__init__.py``) keeps idle
    OpenMP threads from spinning, which is what made two threads slow on a busy machine.
    """
    with _RNG_LOCK, torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        yield


def image_tensor(pil_image) -> torch.Tensor:
    """A PIL image -> uint8 ``tv_tensors.Image`` (3, H, W): what previews and exported code both start from."""
    from torchvision import tv_tensors
    from torchvision.transforms.v2 import functional as F

    return tv_tensors.Image(F.pil_to_tensor(pil_image.convert("RGB")))


def _label(i: int, step: dict) -> str:
    return f"Step {i + 1} ({step['name']})"


def _explain_failure(spec: dict, image: torch.Tensor, seed: int, exc: Exception) -> PipelineError:
    """Replay the draw step by step to name the step that failed, as a sentence."""
    x = image
    with seeded(seed):
        for i, step in per_image_steps(spec):
            try:
                for t in build_step(step):
                    x = t(x)
            except Exception as inner:  # noqa: BLE001 - any torchvision failure becomes a sentence
                return PipelineError(
                    f"{_label(i, step)} failed on this {image.shape[-1]}x{image.shape[-2]} image: {inner}. "
                    "Change its parameters or the steps before it."
                )
    return PipelineError(f"The pipeline failed on this image: {exc}.")


def preview_grid(spec: dict, image: torch.Tensor, n: int = 16, seed: int = 0) -> list[torch.Tensor]:
    """``n`` independent draws: sample i = transform(image) after ``torch.manual_seed(seed + i)``.

    Raises PipelineError (a sentence naming the step) for an invalid pipeline or a step that fails on this image.
    """
    spec = check(spec, image_size=tuple(image.shape[-2:]), channels=int(image.shape[-3]))
    check_budget(spec, tuple(image.shape[-2:]), int(n))  # before any draw: a sentence saying what to lower
    transform = build_transform(spec)
    out = []
    for i in range(int(n)):
        try:
            with seeded(seed + i):
                out.append(transform(image))
        except Exception as exc:  # noqa: BLE001
            raise _explain_failure(spec, image, seed + i, exc) from None
    return out


@dataclass
class StepView:
    """The image after one step of a step-through."""

    index: int | None  # step index in the spec (None: the original)
    label: str
    tensor: torch.Tensor


def step_through(spec: dict, image: torch.Tensor, seed: int = 0, sample: int = 0) -> list[StepView]:
    """Grid sample ``sample`` built one step at a time: the original, then the image after each enabled step.

    Same seed, same order of random draws as ``preview_grid``, so the last view equals that grid cell.
    """
    spec = check(spec, image_size=tuple(image.shape[-2:]), channels=int(image.shape[-3]))
    check_budget(spec, tuple(image.shape[-2:]), 1)
    views = [StepView(None, "Original", image)]
    x = image
    with seeded(seed + sample):
        for i, step in per_image_steps(spec):
            try:
                for t in build_step(step):
                    x = t(x)
            except Exception as exc:  # noqa: BLE001
                raise PipelineError(f"{_label(i, step)} failed on this image: {exc}. Change its parameters.") from None
            views.append(StepView(i, _label(i, step), x))
    return views


def last_normalize(spec: dict, upto: int | None = None) -> tuple[list[float], list[float]] | None:
    """(mean, std) of the last enabled Normalize (at or before step ``upto``), or None."""
    found = None
    for i, step in enumerate(spec["steps"]):
        if upto is not None and i > upto:
            break
        if step["enabled"] and step["name"] == "Normalize":
            found = (step["params"]["mean"], step["params"]["std"])
    return found


def display_array(t: torch.Tensor, norm: tuple[list[float], list[float]] | None = None) -> np.ndarray:
    """A (C, H, W) tensor -> (H, W, 3) or (H, W) uint8 array to show; normalised tensors are denormalised with ``norm``."""
    x = t.detach().to("cpu")
    if x.is_floating_point():
        x = x.float()
        if norm is not None:
            mean = torch.tensor(norm[0]).view(-1, 1, 1)
            std = torch.tensor(norm[1]).view(-1, 1, 1)
            x = x * std + mean  # undo (x - mean) / std
        x = (x.clamp(0, 1) * 255).round().to(torch.uint8)
    arr = x.numpy()
    return arr[0] if arr.shape[0] == 1 else np.ascontiguousarray(arr[:3].transpose(1, 2, 0))


@dataclass
class InputStats:
    """What the model receives, over a set of samples."""

    shape: tuple[int, ...]  # (C, H, W) of one sample ("varies" sizes are reported as the first)
    same_shape: bool
    dtype: str
    vmin: float
    vmax: float
    mean: list[float]  # per channel
    std: list[float]  # per channel
    normalized: bool


def input_stats(samples: list[torch.Tensor], spec: dict) -> InputStats:
    """Final size, dtype, value range and per-channel mean/std over ``samples``."""
    first = samples[0]
    same = all(s.shape == first.shape for s in samples)
    flat = torch.cat([s.detach().float().flatten(1) for s in samples], dim=1)  # (C, all pixels of all samples)
    return InputStats(
        shape=tuple(first.shape),
        same_shape=same,
        dtype=str(first.dtype).replace("torch.", ""),
        vmin=float(flat.min()),
        vmax=float(flat.max()),
        mean=[float(v) for v in flat.mean(1)],
        std=[float(v) for v in flat.std(1, unbiased=False)],
        normalized=last_normalize(spec) is not None and first.is_floating_point(),
    )


def mix_batch(spec: dict, images: list[torch.Tensor], labels: list[int], num_classes: int, seed: int = 0):
    """Augment ``images`` (sample i with ``seed + i``), stack them, then MixUp/CutMix after ``torch.manual_seed(seed)``.

    Returns ``(batch (B, C, H, W), soft labels (B, num_classes))``; PipelineError if the pipeline has no batch step
    or the samples come out in different sizes.
    """
    from playground.augment.pipelines import build_batch_transform

    mixer = build_batch_transform(spec, num_classes)
    if mixer is None:
        raise PipelineError("The pipeline has no MixUp or CutMix step: add one to mix a batch.")
    transform = build_transform(spec)
    samples = []
    for i, img in enumerate(images):
        with seeded(seed + i):
            samples.append(transform(img))
    shapes = {tuple(s.shape) for s in samples}
    if len(shapes) > 1:
        raise PipelineError(
            "The samples come out in different sizes, so they cannot form a batch: add a Resize with "
            "height and width, or a fixed-size crop, before MixUp/CutMix."
        )
    batch = torch.stack([s.as_subclass(torch.Tensor) for s in samples])
    with seeded(seed):
        mixed, soft = mixer(batch, torch.tensor(labels, dtype=torch.int64))
    return mixed, soft


def has_batch_step(spec: dict) -> bool:
    """Whether an enabled MixUp/CutMix step is in the pipeline."""
    return any(s["enabled"] and TRANSFORMS.get(s["name"]).batch_level for s in spec["steps"])


def thumbnail(arr: np.ndarray, side: int = 256) -> np.ndarray:
    """Shrink a display array so its longer side is at most ``side`` (display only; the tensors are untouched)."""
    from PIL import Image

    h, w = arr.shape[:2]
    if max(h, w) <= side:
        return arr
    im = Image.fromarray(arr)
    im.thumbnail((side, side), Image.Resampling.BILINEAR)
    return np.asarray(im)


@dataclass
class GridResult:
    """A rendered grid: small pictures to show, what the model receives, and values for histograms."""

    thumbs: list[np.ndarray]
    shapes: list[tuple[int, ...]]
    stats: InputStats
    values: np.ndarray  # (C, K): up to K model-input values per channel, for histograms


def render_grid(
    spec: dict, image: torch.Tensor, n: int = 16, seed: int = 0, side: int = 256, max_values: int = 20_000
) -> GridResult:
    """``preview_grid`` turned into pictures (denormalised where needed) and statistics, ready to draw."""
    samples = preview_grid(spec, image, n, seed)
    norm = last_normalize(spec)
    stats = input_stats(samples, spec)
    thumbs = [thumbnail(display_array(s, norm if stats.normalized else None), side) for s in samples]
    flat = torch.cat([s.detach().float().flatten(1) for s in samples], dim=1)  # (C, all values)
    g = torch.Generator().manual_seed(0)  # a fixed subsample: the histogram does not flicker between reruns
    idx = torch.randperm(flat.shape[1], generator=g)[:max_values]
    return GridResult(thumbs, [tuple(s.shape) for s in samples], stats, flat[:, idx].numpy())
