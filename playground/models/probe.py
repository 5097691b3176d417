"""A look inside a network: first-layer filters, feature maps, Grad-CAM, top-k predictions.

Model-agnostic: everything works on any ``nn.Module`` made of the usual layers,
through forward hooks (no model surgery). Used by the "Inside a trained
network" page for runs trained in the app and for any model with weights.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

# Layers whose outputs are worth showing as feature maps: every conv, pool and residual block
# output, which is what a person means by "the feature maps of every layer".
_MAP_TYPES = (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)

MAX_PARAMS = 200_000_000  # refuse beyond this on a CPU: it would not fit or take minutes per image
MAX_ACTIVATION_BYTES = 4 * 2**30


class ModelTooLarge(ValueError):
    """The model or input is too large to inspect on this machine; the message says why."""


def conv_layers(model: nn.Module) -> list[tuple[str, nn.Conv2d]]:
    """All ``nn.Conv2d`` layers with their qualified names, in definition order."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Conv2d)]


def map_layers(model: nn.Module) -> list[str]:
    """Names of the layers whose outputs are shown as feature maps, in forward order where possible.

    Residual blocks (any module with a ``downsample`` attribute or named like ``layerN.M``) count
    too, since their output is where the skip connection has been added.
    """
    names = []
    for name, m in model.named_modules():
        if not name:
            continue
        if isinstance(m, _MAP_TYPES) or _is_block(m):
            names.append(name)
    return names


def check_size(model: nn.Module, input_shape: tuple[int, ...]) -> None:
    """Refuse models that cannot be inspected here, with a sentence saying why."""
    n_params = sum(p.numel() for p in model.parameters())
    if n_params > MAX_PARAMS:
        raise ModelTooLarge(
            f"This model has {n_params / 1e6:.0f} M parameters; inspecting it needs more memory than this machine "
            f"allows ({MAX_PARAMS / 1e6:.0f} M). Pick a smaller model."
        )
    # A generous upper bound on activations: every hooked output kept at input resolution x widest conv.
    widest = max((m.out_channels for _, m in conv_layers(model)), default=1)
    pixels = 1
    for v in input_shape[-2:]:
        pixels *= int(v)
    estimate = pixels * widest * 4 * max(len(map_layers(model)), 1) // 4
    if estimate > MAX_ACTIVATION_BYTES:
        raise ModelTooLarge(
            f"Feature maps for a {input_shape[-2]}x{input_shape[-1]} input would take about {estimate / 2**30:.1f} GiB. "
            "Use a smaller image size."
        )


@torch.no_grad()
def first_layer_filters(model: nn.Module) -> torch.Tensor:
    """The first conv's weights ``(out, in, kh, kw)``, each filter scaled to [0, 1] for display."""
    convs = conv_layers(model)
    if not convs:
        raise ValueError("This model has no convolution layer, so there are no filters to show.")
    w = convs[0][1].weight.detach().float().cpu()
    flat = w.reshape(w.shape[0], -1)
    lo, hi = flat.min(1, keepdim=True).values, flat.max(1, keepdim=True).values
    return ((flat - lo) / (hi - lo).clamp_min(1e-12)).reshape(w.shape)


@torch.no_grad()
def feature_maps(model: nn.Module, x: torch.Tensor, names: list[str] | None = None) -> dict[str, torch.Tensor]:
    """Run ``x`` (1, C, H, W) and return ``{layer name: output (C', H', W')}`` for the chosen layers."""
    wanted = names or map_layers(model)
    modules = dict(model.named_modules())
    unknown = [n for n in wanted if n not in modules]
    if unknown:
        raise ValueError(f"Unknown layer(s) {', '.join(unknown)}; choose from {', '.join(map_layers(model))}.")
    out: dict[str, torch.Tensor] = {}
    me = threading.get_ident()

    def keep(name, o):
        if threading.get_ident() == me:  # not another session's forward through the same model
            out[name] = o.detach()[0].float().cpu().clone()  # a copy: an in-place layer after it would overwrite it

    hooks = [modules[n].register_forward_hook(lambda _m, _i, o, n=n: keep(n, o)) for n in wanted]
    try:
        with _eval(model):
            model(x)
    finally:
        for h in hooks:
            h.remove()
    # 1x1 maps (after global pooling) carry no spatial picture: leave them out.
    return {n: out[n] for n in wanted if n in out and out[n].ndim == 3 and out[n].shape[1] * out[n].shape[2] > 1}


@torch.no_grad()
def output_shape(model: nn.Module, x: torch.Tensor, layer: str) -> tuple[int, ...] | None:
    """The per-sample shape of ``layer``'s output on ``x`` (None if it never runs)."""
    found: dict[str, tuple[int, ...]] = {}
    me = threading.get_ident()

    def keep(_m, _i, o):
        if threading.get_ident() == me:
            found["shape"] = tuple(o.shape[1:])

    handle = dict(model.named_modules())[layer].register_forward_hook(keep)
    try:
        with _eval(model):
            model(x)
    finally:
        handle.remove()
    return found.get("shape")


def _is_block(m: nn.Module) -> bool:
    return hasattr(m, "downsample") or type(m).__name__ in ("BasicBlock", "Bottleneck", "ResidualBlock")


def default_cam_layer(model: nn.Module) -> str:
    """The layer Grad-CAM uses by default: the last residual block if there are any, else the last conv."""
    modules = list(model.named_modules())
    blocks = [n for n, m in modules if n and _is_block(m)]
    if blocks:
        return blocks[-1]
    convs = [n for n, _ in conv_layers(model)]
    if not convs:
        raise ValueError("Grad-CAM needs a convolutional layer, and this model has none.")
    return convs[-1]


def grad_cam(model: nn.Module, x: torch.Tensor, class_index: int, layer: str | None = None) -> torch.Tensor:
    """Grad-CAM (Selvaraju et al. 2017) for ``class_index`` on ``x`` (1, C, H, W).

    Weights each channel of ``layer``'s output by the spatial mean of the class score's gradient,
    sums, applies ReLU, upsamples to the input size and scales to [0, 1]. Returns ``(H, W)``.

    The layer's output is kept as its own tensor and the rest of the network runs on a copy, so an
    in-place layer after it (VGG's and AlexNet's ``ReLU(inplace=True)`` after the last conv) cannot
    write over it: the map is the conv's, not the ReLU's. The gradient comes from
    ``torch.autograd.grad`` on that tensor: nothing is written into the model (no ``.grad``, no
    mode change for a model already in eval mode), so sessions sharing a model can run it at once.
    """
    cams, _ = grad_cams(model, x, torch.tensor([class_index]), layer)
    return cams[0]


def grad_cams(
    model: nn.Module, x: torch.Tensor, classes: torch.Tensor | None = None, layer: str | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Grad-CAM for a batch at once: ``x`` (N, C, H, W), ``classes`` (N,) (None: each image's predicted class)
    -> ``(maps (N, H, W) each in [0, 1], logits (N, classes))``.

    The same maps as ``grad_cam`` image by image, from one forward and one backward pass: in eval mode
    the images do not interact, so the gradient of the summed class scores with respect to the layer's
    output is, image by image, the gradient of that image's own score. No ``.grad`` is written.
    """
    layer = layer or default_cam_layer(model)
    modules = dict(model.named_modules())
    if layer not in modules:
        raise ValueError(f"Unknown layer {layer!r}; choose from {', '.join(map_layers(model))}.")
    store: dict[str, torch.Tensor] = {}
    me = threading.get_ident()

    def hook(_m, _i, o):
        if threading.get_ident() != me or "act" in store:  # another session's forward, or a second call
            return None
        store["act"] = o.detach().requires_grad_(True)  # (N, K, h, w): a leaf, the gradient stops here
        return store["act"].clone()  # what the following layers see, and may overwrite in place

    handle = modules[layer].register_forward_hook(hook)
    try:
        with _eval(model), torch.enable_grad():
            logits = model(x.detach())  # (N, classes)
            if classes is None:
                classes = logits.detach().argmax(1)
            bad = [int(c) for c in classes if not 0 <= int(c) < logits.shape[1]]
            if bad:
                raise ValueError(f"Class {bad[0]} does not exist: the model has {logits.shape[1]} classes.")
            picked = logits.gather(1, classes.to(logits.device).long().view(-1, 1)).sum()
            act = store["act"]
            (grad,) = torch.autograd.grad(picked, act)
    finally:
        handle.remove()
    with torch.no_grad():
        weights = grad.mean(dim=(2, 3), keepdim=True)  # (N, K, 1, 1)
        cam = F.relu((weights * act).sum(1, keepdim=True))  # (N, 1, h, w)
        cam = F.interpolate(cam, size=x.shape[-2:], mode="bilinear", align_corners=False)[:, 0]
        cam = cam - cam.amin(dim=(1, 2), keepdim=True)
        return cam / cam.amax(dim=(1, 2), keepdim=True).clamp_min(1e-12), logits.detach()


@contextmanager
def _eval(model: nn.Module):
    """Evaluation mode for the block; a model already in it is left untouched (it may be shared)."""
    if not model.training:
        yield
        return
    model.eval()
    try:
        yield
    finally:
        model.train()


@dataclass
class Prediction:
    index: int
    label: str
    probability: float


@torch.no_grad()
def top_k(model: nn.Module, x: torch.Tensor, k: int = 5, class_names: list[str] | None = None) -> list[Prediction]:
    """The ``k`` most probable classes for one input ``(1, C, H, W)``."""
    with _eval(model):
        probs = model(x).float().softmax(1)[0]
    k = min(k, probs.numel())
    values, idx = probs.topk(k)
    names = class_names or [str(i) for i in range(probs.numel())]
    return [
        Prediction(int(i), names[int(i)] if int(i) < len(names) else str(int(i)), float(v)) for v, i in zip(values, idx)
    ]
