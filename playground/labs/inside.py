"""What the "Inside a trained network" page looks at: a model, its classes, and its inputs.

A ``Probe`` is a model ready to inspect, with everything needed to feed it a picture the way
it was fed during validation (size, channels, normalisation): a run trained in the app
(``from_run``), or a model-zoo preset with a weights file (``from_zoo``; the classes and input
channels are read off the weights). ``analyse`` then runs ``playground.models.probe`` on one picture:
first-layer filters, the feature maps of one layer, Grad-CAM for two classes and the top-k.

    >>> p = from_run("runs/20260101-120000-simplecnn-digits-ab12")
    >>> x = p.to_input(pil_image)          # uint8 (1, C, H, W), the dataset's format
    >>> a = analyse(p, x, layer=p.layers[0], classes=[3])
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import torch
import torch.nn as nn

from playground.augment.transforms import IMAGENET_MEAN, IMAGENET_STD  # one copy; equal to the weights enums'
from playground.common import settings
from playground.common.images import sample_images
from playground.common.settings import setting
from playground.models import probe

NORMALISATIONS = ("imagenet", "half", "none")  # ImageNet mean/std, (x - 0.5) / 0.5, or plain 0..1
NORMALISATION_WORDS = {"imagenet": "ImageNet's mean and std", "half": "(x - 0.5) / 0.5", "none": "nothing (0..1)"}


PICTURES = ("validation", "sample", "upload")
SOURCES = ("run", "zoo")  # a run trained in the app | a zoo preset with a weights file
VALIDATION_IMAGES = 12  # how many of a run's validation images the page offers
TOP_K = (3, 5, 10)


def _model_names() -> list[str]:
    from playground.models.zoo import MODELS

    return MODELS.names()


@dataclass
class InsideConfig:
    """The page's one config object; every field has a default, a URL form and what it may be (``setting``)."""

    source: str = setting("run", choices=SOURCES)
    run: str = setting("", help='run id; "" = the newest run with weights')  # checked against the store: clamp_config
    preset: str = setting("resnet18", choices=_model_names, help="zoo source: the preset the weights file belongs to")
    image_size: int = setting(0, lo=0, hi=512, step=16, reset=True, help="zoo source: input side; 0 = the preset's own")
    normalise: str = setting("imagenet", choices=NORMALISATIONS)
    picture: str = setting("validation", choices=PICTURES)
    index: int = setting(0, lo=0, hi=VALIDATION_IMAGES - 1, reset=True, help="which validation image")
    sample: str = setting("chelsea.png", choices=lambda: sample_images())
    layer: int = setting(0, lo=0, hi=200, reset=True, help="feature maps: index into Probe.map_shapes()")
    other: int = setting(-1, lo=-1, hi=999, reset=True, help="Grad-CAM's second class; -1 = the runner-up")
    k: int = setting(5, choices=TOP_K, reset=True, help="top-k")


def clamp_config(cfg: InsideConfig, run_ids: list[str]) -> tuple[InsideConfig, list[str]]:
    """A link's values pulled back to what the page offers, with a sentence for each change.

    The settings do the ranges and choices; the run must be one of this store's ``run_ids``.
    """
    cfg, problems = settings.fit(cfg)
    if cfg.run and cfg.run not in run_ids:
        new = run_ids[0] if run_ids else ""
        problems.append(f"The link's run = {cfg.run!r} is not available; using {new!r}.")
        cfg = replace(cfg, run=new)
    return cfg, problems


@dataclass
class Probe:
    """A model to look inside, with its classes and its input format."""

    model: nn.Module
    class_names: list[str]
    in_channels: int
    image_size: tuple[int, int]  # (H, W) the model was trained on
    prepare: Callable[[torch.Tensor], torch.Tensor]  # uint8 (B, C, H, W) -> float model input
    title: str
    notes: list[str] = field(default_factory=list)

    @property
    def layers(self) -> list[str]:
        """Layers whose outputs are shown as feature maps, in forward order."""
        return probe.map_layers(self.model)

    @torch.no_grad()
    def map_shapes(self) -> list[tuple[str, str, tuple[int, int, int]]]:
        """``(layer, type, (C, h, w))`` for every layer whose output is a picture (1x1 outputs left out).

        One forward pass of a blank input records the shapes, so the page can label its layer slider.
        """
        modules = dict(self.model.named_modules())
        shapes: dict[str, tuple] = {}
        hooks = [
            modules[n].register_forward_hook(lambda _m, _i, o, n=n: shapes.__setitem__(n, tuple(o.shape[1:])))
            for n in self.layers
        ]
        try:
            was = self.model.training
            self.model.eval()
            self.model(self.prepare(torch.zeros(1, self.in_channels, *self.image_size, dtype=torch.uint8)))
            self.model.train(was)
        finally:
            for h in hooks:
                h.remove()
        return [
            (n, type(modules[n]).__name__, s)
            for n, s in shapes.items()  # type: ignore[misc]
            if len(s) == 3 and s[1] * s[2] > 1
        ]

    def to_input(self, image) -> torch.Tensor:
        """Any picture (PIL, array, tensor) -> uint8 ``(1, C, H, W)``, centre-cropped and resized to the input."""
        from playground.training.evaluation import image_to_input

        return image_to_input(image, self.in_channels, self.image_size)


# --------------------------------------------------------------------------- sources


def trained_runs(runs_root: str | Path | None = None) -> list:
    """Runs of the store that have saved weights (``RunInfo`` list): those that finished an epoch first, each
    group newest first, so the page opens on a trained network, not on one stopped before it learned."""
    from playground.runs.store import has_weights, list_runs

    found = [r for r in list_runs(runs_root) if has_weights(r.path) and not r.active]
    return sorted(found, key=is_untrained)  # stable: newest first within each group


def is_untrained(info) -> bool:
    """Whether a run (``RunInfo``) stopped before it finished one epoch: its weights are still near their start."""
    epochs = (info.final or {}).get("epochs")
    if epochs is None:
        epochs = int((info.progress or {}).get("epoch") or 0)
    return not epochs or epochs < 1


def untrained_note(info) -> str | None:
    """The warning for a run that never finished an epoch (None for a trained one)."""
    if info is None or not is_untrained(info):
        return None
    return (
        f"Run {info.id} stopped ({info.status}) before it finished one epoch: its weights are still close to their "
        "random start, so the filters, feature maps, predictions and Grad-CAM below show an untrained network. "
        "Pick a run that trained, or train this one longer."
    )


def cam_note(shape: tuple[int, ...] | None, layer: str) -> str | None:
    """The warning for a Grad-CAM layer whose map is too small to say where the model looks (None when fine)."""
    if not shape or len(shape) != 3:
        return None
    h, w = shape[1:]
    if h * w == 1:
        return (
            f"Grad-CAM uses {layer}, whose output is 1x1: the map is one value spread over the whole picture, so it "
            "cannot show where the model looks. Use a larger input (or a model that keeps a spatial map there)."
        )
    if h <= 2 or w <= 2:
        return (
            f"Grad-CAM uses {layer}, whose output is only {h}x{w}: the map is that coarse, blurred up to the "
            "picture's size."
        )
    return None


def run_label(info) -> str:
    """How a run is named in menus: id, model, dataset, accuracy."""
    cfg = info.config or {}
    model = cfg.get("model")
    if isinstance(model, dict) and model.get("kind") == "transfer":
        from playground.labs.transfer import backbone_name

        model = f"{backbone_name(model)} (transfer)"
    elif isinstance(model, dict):
        model = str(model.get("name") or "custom model")
    else:
        model = str(model or "?")
    acc = (info.final or {}).get("final_val_accuracy")
    acc_text = f" · {acc:.0%} val" if isinstance(acc, (int, float)) else ""
    untrained = " · untrained (stopped before an epoch)" if is_untrained(info) else ""
    return f"{info.id} · {model} on {cfg.get('dataset', '?')}{acc_text}{untrained}"


def from_run(run_dir: str | Path) -> Probe:
    """A run trained in the app, with its validation preprocessing (ValueError if it saved no weights)."""
    from playground.runs.results import load_run_model

    loaded = load_run_model(run_dir)
    ds = loaded.dataset
    size = tuple(int(v) for v in ds["image_size"])
    model = loaded.model.to(memory_format=torch.contiguous_format)  # hooks and Grad-CAM want plain layouts
    model.requires_grad_(True)  # Grad-CAM needs gradients, also through layers frozen during training
    inputs = loaded.inputs
    inputs.channels_last = False
    probe.check_size(model, (1, ds["in_channels"], *size))
    return Probe(
        model,
        list(ds["classes"]),
        int(ds["in_channels"]),
        size,
        inputs,  # type: ignore[arg-type]
        f"Run {Path(run_dir).name}",
        [
            f"Inputs: {size[0]}x{size[1]}, {ds['in_channels']} channel(s), "
            "normalised with the training set's mean and std, as in validation."
        ],
    )


def weights_shape(state_dict: dict) -> tuple[int, int]:
    """``(in_channels, num_classes)`` read off a state_dict: its first conv weight and its last 2-D weight."""
    convs = [v for k, v in state_dict.items() if k.endswith("weight") and v.ndim == 4]
    linears = [v for k, v in state_dict.items() if k.endswith("weight") and v.ndim == 2]
    if not convs or not linears:
        raise ValueError("This file holds no convolution and classifier weights: it is not a CNN's state_dict.")
    return int(convs[0].shape[1]), int(linears[-1].shape[0])


def imagenet_classes(num_classes: int) -> list[str] | None:
    """ImageNet's 1,000 category names (shipped inside torchvision, no download) when there are 1,000 classes."""
    if num_classes != 1000:
        return None
    from playground.models.transfer import imagenet_categories

    return imagenet_categories()


def from_zoo(preset: str, state_dict: dict, image_size: int | None = None, normalise: str = "imagenet") -> Probe:
    """A model-zoo preset with weights from a file; classes and input channels are read off the weights.

    Names and shapes are checked on the meta device first, so a file for another model gets a sentence,
    not a traceback, and a model too large for this machine is refused before any memory is spent.
    """
    from playground.models.transfer import check_backbone_weights
    from playground.models.zoo import build_model, preset_info

    if normalise not in NORMALISATIONS:
        raise ValueError(f"Unknown normalisation {normalise!r}; use one of {', '.join(NORMALISATIONS)}.")
    info = preset_info(preset)
    in_channels, num_classes = weights_shape(state_dict)
    size = int(image_size or info["default_input"][1])
    with torch.device("meta"):
        meta = build_model(preset, num_classes=num_classes, in_channels=in_channels, input_size=size)
    probe.check_size(meta, (1, in_channels, size, size))
    check_backbone_weights(meta, state_dict, None)
    model = build_model(preset, num_classes=num_classes, in_channels=in_channels, input_size=size)
    model.load_state_dict(state_dict, strict=True)
    model.eval()
    mean, std = {
        "imagenet": (IMAGENET_MEAN, IMAGENET_STD),
        "half": ([0.5] * 3, [0.5] * 3),
        "none": ([0.0] * 3, [1.0] * 3),
    }[normalise]
    mean_t = torch.tensor(mean[:in_channels] if in_channels <= 3 else [mean[0]] * in_channels).view(1, -1, 1, 1)
    std_t = torch.tensor(std[:in_channels] if in_channels <= 3 else [std[0]] * in_channels).view(1, -1, 1, 1)

    def prepare(x: torch.Tensor) -> torch.Tensor:
        return (x.float() / 255 - mean_t) / std_t  # (B, C, H, W)

    names = imagenet_classes(num_classes) or [f"class {i}" for i in range(num_classes)]
    return Probe(
        model,
        names,
        in_channels,
        (size, size),
        prepare,
        info["title"],
        [f"Inputs: {size}x{size}, {in_channels} channel(s), normalised with " + NORMALISATION_WORDS[normalise] + "."],
    )


def validation_images(run_dir: str | Path, n: int = VALIDATION_IMAGES) -> list[tuple[torch.Tensor, str]]:
    """The first ``n`` validation images of a run's dataset: ``[(uint8 (C, H, W), true class), ...]``.

    The run's config regenerates exactly its split (same data seed), so these are images it never trained on.
    """
    from playground.runs.store import config_file
    from playground.training.loop import TrainConfig, load_data

    config = TrainConfig.from_dict(json.loads(config_file(run_dir).read_text()))
    data = load_data(config)
    return [(data.val_x[i], data.class_names[int(data.val_y[i])]) for i in range(min(n, len(data.val_y)))]


# --------------------------------------------------------------------------- analysis


@dataclass
class Analysis:
    """Everything the page shows for one picture (CPU tensors, ready to draw)."""

    filters: torch.Tensor | None  # (out, in, kh, kw) in [0, 1]
    maps: torch.Tensor | None  # (C, h, w): the chosen layer's output
    layer: str
    top: list  # probe.Prediction, most probable first
    cams: dict[int, torch.Tensor]  # class index -> (H, W) in [0, 1]
    seconds: float
    cam_layer: str = ""  # the layer Grad-CAM weighs
    cam_shape: tuple[int, ...] | None = None  # its output (C, h, w)


def analyse(
    p: Probe, x: torch.Tensor, layer: str | None = None, classes: list[int] | None = None, k: int = 5
) -> Analysis:
    """Filters, one layer's feature maps, top-``k`` and Grad-CAM for the top class and ``classes``.

    ``x``: uint8 ``(1, C, H, W)`` as ``Probe.to_input`` returns it. A class of -1 means the runner-up.
    """
    t0 = time.perf_counter()
    inp = p.prepare(x).contiguous()  # (1, C, H, W) float
    try:
        filters = probe.first_layer_filters(p.model)
    except ValueError:
        filters = None
    maps = None
    if layer:
        found = probe.feature_maps(p.model, inp, [layer])
        maps = found.get(layer)
    top = probe.top_k(p.model, inp, k=k, class_names=p.class_names)
    runner_up = top[1].index if len(top) > 1 else top[0].index
    wanted = [top[0].index] + [runner_up if c == -1 else c for c in (classes or [])]
    wanted = list(dict.fromkeys(wanted))  # unique, in order
    cams = {c: probe.grad_cam(p.model, inp, c) for c in wanted if 0 <= c < len(p.class_names)}
    cam_layer = probe.default_cam_layer(p.model)
    cam_shape = probe.output_shape(p.model, inp, cam_layer)
    return Analysis(filters, maps, layer or "", top, cams, time.perf_counter() - t0, cam_layer, cam_shape)
