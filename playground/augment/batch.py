"""Batched, on-device augmentation for training (after airbench's loader).

``batch_augmenter(pipeline, device)`` turns a pipeline spec into a function
that augments a whole batch ``(B, C, H, W)`` already on ``device`` with one
random draw per sample, using batched tensor math instead of a Python loop
over images. Every op mirrors its ``torchvision.transforms.v2`` transform: the
same parameter distributions (a flip with probability p, crop offsets uniform
over the valid positions, ColorJitter factors uniform and its four operations
in a random order per sample, RandomErasing's ten tries ...) and the same
arithmetic for a given draw, including uint8 rounding. When the pipeline holds
a step with no faithful batched form (RandomResizedCrop, rotations, the
auto-augment policies ...) it returns None and the caller falls back to
per-sample v2 transforms (``playground.augment.pipelines.build_transform``).

MixUp/CutMix need labels, so they are not part of the returned function:
apply ``playground.augment.pipelines.build_batch_transform(spec, num_classes)`` to
``(images, labels)`` after it. The device is chosen by the caller and passed
in; nothing here calls ``.cuda()``.

Input: uint8 (values 0..255, as the per-sample pipeline sees decoded images)
or float (taken as already scaled to 0..1; ToTensor then only casts to float32).
"""

from __future__ import annotations

import math
from typing import Any, Callable

import torch
from torch import Tensor

from playground.augment.pipelines import load_pipeline, per_image_steps
from playground.augment.validate import check

Op = Callable[[Tensor], Tensor]


def _bound(x: Tensor) -> float:
    return 1.0 if x.is_floating_point() else 255.0


def _where(mask: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """Per-sample choice: ``a`` where ``mask`` (B,) is set, else ``b``."""
    return torch.where(mask.view(-1, 1, 1, 1), a, b)


def _coin(x: Tensor, p: float) -> Tensor:
    # v2 skips a random-apply transform when torch.rand(1) >= p, i.e. applies it with probability p.
    return torch.rand(x.shape[0], device=x.device) < p


def _randint(high: Tensor) -> Tensor:
    """Uniform integers in [0, high) per sample (high (B,) >= 1), like torch.randint one sample at a time."""
    return (torch.rand(high.shape, device=high.device) * high).floor().long().clamp_max(high - 1)


def crop_batch(x: Tensor, top: Tensor, left: Tensor, h: int, w: int) -> Tensor:
    """Crop an ``h`` x ``w`` window at (top[b], left[b]) out of each sample of ``x`` (B, C, H, W)."""
    rows = (top.view(-1, 1) + torch.arange(h, device=x.device)).view(-1, 1, h, 1)  # (B, 1, h, 1)
    cols = (left.view(-1, 1) + torch.arange(w, device=x.device)).view(-1, 1, 1, w)  # (B, 1, 1, w)
    b = torch.arange(x.shape[0], device=x.device).view(-1, 1, 1, 1)
    c = torch.arange(x.shape[1], device=x.device).view(1, -1, 1, 1)
    return x[b, c, rows, cols]  # (B, C, h, w)


# -- ops: each factory takes the step's v2 kwargs and returns a batch op (or None: not batchable) ---


def _to_tensor(kw: dict) -> Op:
    def op(x: Tensor) -> Tensor:
        # v2.ToDtype(float32, scale=True): uint8 -> float32 times 1/255 (the same multiplication v2 does).
        return x.to(torch.float32).mul_(1.0 / 255) if not x.is_floating_point() else x.to(torch.float32)

    return op


def _normalize(kw: dict) -> Op:
    def op(x: Tensor) -> Tensor:
        mean = torch.tensor(kw["mean"], dtype=x.dtype, device=x.device).view(-1, 1, 1)
        std = torch.tensor(kw["std"], dtype=x.dtype, device=x.device).view(-1, 1, 1)
        return x.sub(mean).div_(std)

    return op


def _flip(dim: int) -> Callable[[dict], Op]:
    def factory(kw: dict) -> Op:
        return lambda x: _where(_coin(x, kw["p"]), x.flip(dim), x)

    return factory


def _random_crop(kw: dict) -> Op:
    size = kw["size"]
    ch, cw = (size, size) if isinstance(size, int) else size
    pad = kw["padding"] or 0

    def op(x: Tensor) -> Tensor:
        from torchvision.transforms.v2 import functional as F

        H, W = x.shape[-2:]
        pl = pr = pt = pb = pad
        if kw["pad_if_needed"]:  # as v2.RandomCrop.make_params: grow both sides by the shortfall
            if H + 2 * pad < ch:
                pt += ch - (H + 2 * pad)
                pb += ch - (H + 2 * pad)
            if W + 2 * pad < cw:
                pl += cw - (W + 2 * pad)
                pr += cw - (W + 2 * pad)
        if pl or pr or pt or pb:
            x = F.pad(x, [pl, pt, pr, pb], fill=0, padding_mode=kw["padding_mode"])
        PH, PW = x.shape[-2:]
        if PH < ch or PW < cw:
            raise ValueError(f"A {cw}x{ch} crop is larger than the {PW}x{PH} (padded) images.")
        B = x.shape[0]
        top = _randint(torch.full((B,), PH - ch + 1, device=x.device))
        left = _randint(torch.full((B,), PW - cw + 1, device=x.device))
        return crop_batch(x, top, left, ch, cw)

    return op


def shift_batch(x: Tensor, tx: Tensor, ty: Tensor) -> Tensor:
    """Move sample b of ``x`` (B, C, H, W) right by tx[b] and down by ty[b] whole pixels, filling with 0."""
    B, _, H, W = x.shape
    px, py = int(tx.abs().max()) if B else 0, int(ty.abs().max()) if B else 0
    padded = torch.nn.functional.pad(x, (px, px, py, py))  # zeros, as v2's default fill
    return crop_batch(padded, py - ty, px - tx, H, W)  # out(y, x) = in(y - ty, x - tx)


def _translate(kw: dict) -> Op | None:
    # Only a pure shift is batched: with no rotation, zoom or shear v2.RandomAffine moves pixels by whole
    # numbers (tx, ty are rounded) and fills with 0, whatever the interpolation.
    if kw["degrees"] != 0 or kw["scale"] is not None or kw["shear"] is not None:
        return None
    if kw["translate"] is None:
        return lambda x: x

    def op(x: Tensor) -> Tensor:
        B, _, H, W = x.shape
        max_dx, max_dy = float(kw["translate"][0] * W), float(kw["translate"][1] * H)
        u = torch.rand(B, 2, device=x.device)
        tx = torch.round(u[:, 0] * 2 * max_dx - max_dx).long()  # round half to even, like Python's round
        ty = torch.round(u[:, 1] * 2 * max_dy - max_dy).long()
        return shift_batch(x, tx, ty)

    return op


def _deterministic(name: str) -> Callable[[dict], Op]:
    def factory(kw: dict) -> Op:
        from torchvision.transforms import v2

        t = getattr(v2, name)(**kw)  # no randomness: the v2 transform itself runs on the whole batch
        return lambda x: t(x)

    return factory


def _random_apply(fn_name: str, arg: str | None = None) -> Callable[[dict], Op]:
    def factory(kw: dict) -> Op:
        from torchvision.transforms.v2 import functional as F

        fn = getattr(F, fn_name)

        def op(x: Tensor) -> Tensor:
            y = fn(x, kw[arg]) if arg else fn(x)  # the whole batch, then keep it where the coin says so
            return _where(_coin(x, kw["p"]), y, x)

        return op

    return factory


def _random_grayscale(kw: dict) -> Op:
    from torchvision.transforms.v2 import functional as F

    return lambda x: _where(_coin(x, kw["p"]), F.rgb_to_grayscale(x, num_output_channels=x.shape[1]), x)


def _gaussian_noise(kw: dict) -> Op:
    from torchvision.transforms.v2 import functional as F

    return lambda x: F.gaussian_noise(x, mean=kw["mean"], sigma=kw["sigma"], clip=kw["clip"])


def _uniform(x: Tensor, lo: float, hi: float) -> Tensor:
    return torch.empty(x.shape[0], device=x.device).uniform_(lo, hi)


def _blend(img: Tensor, other: Tensor, ratio: Tensor) -> Tensor:
    """v2's _blend with one ratio per sample: ratio * img + (1 - ratio) * other, clamped, back to uint8 by truncation."""
    r = ratio.view(-1, 1, 1, 1)
    # v2 runs image1.mul(ratio).add_(image2, alpha=1 - ratio): the add is one fused multiply-add in float32
    # (rounded once), so a separate ``other * (1 - r)`` step rounds twice and can land one uint8 level off.
    # In float64 the product other * alpha is exact (24 + 24 bits); the sum, rounded to float64 and then to
    # float32, equals the single rounding (tests/unit/augment/test_batch.py: every sample, uint8 and float).
    alpha = (1.0 - r.double()).float().double()  # v2's Python-float alpha, as float32 reaches the kernel
    out = (img.mul(r).double() + other.double() * alpha).float().clamp_(0, _bound(img))
    return out if img.is_floating_point() else out.to(img.dtype)


def _gray(x: Tensor) -> Tensor:
    from torchvision.transforms.v2.functional._color import _rgb_to_grayscale_image

    g = _rgb_to_grayscale_image(x, num_output_channels=1, preserve_dtype=False)
    return g if x.is_floating_point() else g.floor_()


def _brightness(x: Tensor, f: Tensor) -> Tensor:
    out = x.mul(f.view(-1, 1, 1, 1)).clamp_(0, _bound(x))
    return out if x.is_floating_point() else out.to(x.dtype)


def _contrast(x: Tensor, f: Tensor) -> Tensor:
    g = _gray(x) if x.shape[1] == 3 else x.to(torch.float32)
    return _blend(x, g.mean(dim=(-3, -2, -1), keepdim=True), f)


def _saturation(x: Tensor, f: Tensor) -> Tensor:
    return x if x.shape[1] == 1 else _blend(x, _gray(x), f)


def _hue(x: Tensor, f: Tensor) -> Tensor:
    from torchvision.transforms.v2 import functional as F
    from torchvision.transforms.v2.functional._color import _hsv_to_rgb, _rgb_to_hsv

    if x.shape[1] == 1:
        return x
    hsv = _rgb_to_hsv(F.to_dtype(x, torch.float32, scale=True))
    h, s, v = hsv.unbind(dim=-3)
    h = (h + f.view(-1, 1, 1)).remainder_(1.0)
    return F.to_dtype(_hsv_to_rgb(torch.stack((h, s, v), dim=-3)), x.dtype, scale=True)


_JITTER_FNS = (_brightness, _contrast, _saturation, _hue)  # v2.ColorJitter's fn_idx order


def jitter_params(x: Tensor, ranges: list) -> tuple[Tensor, list[Tensor | None]]:
    """Per-sample ColorJitter draws: an order of the four operations (B, 4) and each factor (B,) or None (off).

    Sorting uniform noise gives a uniform random permutation per sample, as v2's torch.randperm(4) per call.
    """
    order = torch.argsort(torch.rand(x.shape[0], 4, device=x.device), dim=1)
    return order, [None if r is None else _uniform(x, r[0], r[1]) for r in ranges]


def jitter_apply(x: Tensor, order: Tensor, factors: list[Tensor | None]) -> Tensor:
    """Apply brightness/contrast/saturation/hue to each sample in its own order with its own factors."""
    for pos in range(4):
        for k, fn in enumerate(_JITTER_FNS):
            if factors[k] is None:
                continue
            idx = (order[:, pos] == k).nonzero().flatten()  # the samples whose pos-th operation is k
            if idx.numel():
                x = x.index_copy(0, idx, fn(x.index_select(0, idx), factors[k][idx]))
    return x


def _color_jitter(kw: dict) -> Op:
    from torchvision.transforms import v2

    t = v2.ColorJitter(**kw)  # its checked (min, max) ranges; None where a factor is off
    ranges = [t.brightness, t.contrast, t.saturation, t.hue]
    return lambda x: jitter_apply(x, *jitter_params(x, ranges))


def blur_batch(x: Tensor, kernel_size: int, sigma: Tensor) -> Tensor:
    """v2.functional.gaussian_blur with one sigma per sample: ``x`` (B, C, H, W), ``sigma`` (B,)."""
    B, C = x.shape[:2]
    k = int(kernel_size)
    dtype = x.dtype if x.is_floating_point() else torch.float32
    lim = (k - 1) / (2.0 * math.sqrt(2.0))
    grid = torch.linspace(-lim, lim, steps=k, dtype=dtype, device=x.device)
    k1 = torch.softmax(grid.view(1, -1).div(sigma.view(-1, 1).to(dtype)).pow(2).neg(), dim=1)  # (B, k), as v2's
    k2 = k1.unsqueeze(-1) * k1.unsqueeze(1)  # (B, k, k): the outer product, as v2's 2-D kernel
    weight = k2.repeat_interleave(C, dim=0).unsqueeze(1)  # (B*C, 1, k, k): one depthwise filter per sample-channel
    out = x if x.is_floating_point() else x.to(torch.float32)
    out = torch.nn.functional.pad(out.reshape(1, B * C, *x.shape[-2:]), [k // 2] * 4, mode="reflect")
    out = torch.nn.functional.conv2d(out, weight, groups=B * C).reshape(x.shape)
    return out if x.is_floating_point() else out.round_().to(x.dtype)


def _gaussian_blur(kw: dict) -> Op:
    lo, hi = kw["sigma"]
    return lambda x: blur_batch(x, kw["kernel_size"], _uniform(x, lo, hi))


def _erasing(kw: dict) -> Op:
    lo, hi = kw["scale"]
    log_r = torch.log(torch.tensor(kw["ratio"])).tolist()

    def op(x: Tensor) -> Tensor:
        B, _, H, W = x.shape
        dev = x.device
        apply = _coin(x, kw["p"])
        # v2 tries up to 10 (area, aspect) draws and erases with the first that fits; draw all 10 at once.
        area = H * W * torch.empty(B, 10, device=dev).uniform_(lo, hi)
        aspect = torch.exp(torch.empty(B, 10, device=dev).uniform_(log_r[0], log_r[1]))
        h = torch.round(torch.sqrt(area * aspect)).long()
        w = torch.round(torch.sqrt(area / aspect)).long()
        fits = (h < H) & (w < W)
        first = fits.int().argmax(dim=1, keepdim=True)  # index of the first try that fits
        apply &= fits.any(dim=1)
        h, w = h.gather(1, first).squeeze(1), w.gather(1, first).squeeze(1)
        h, w = torch.where(apply, h, 0), torch.where(apply, w, 0)
        top = _randint((H - h + 1).clamp_min(1))
        left = _randint((W - w + 1).clamp_min(1))
        ys = torch.arange(H, device=dev).view(1, H, 1)
        xs = torch.arange(W, device=dev).view(1, 1, W)
        box = (
            (ys >= top.view(-1, 1, 1))
            & (ys < (top + h).view(-1, 1, 1))
            & (xs >= left.view(-1, 1, 1))
            & (xs < (left + w).view(-1, 1, 1))
        )  # (B, H, W)
        value = torch.tensor(kw["value"], device=dev).to(x.dtype)
        return torch.where(box.unsqueeze(1), value, x)

    return op


_BATCHERS: dict[str, Callable[[dict], Op | None]] = {
    "ToTensor": _to_tensor,
    "Normalize": _normalize,
    "RandomHorizontalFlip": _flip(-1),
    "RandomVerticalFlip": _flip(-2),
    "RandomCrop": _random_crop,
    "RandomAffine": _translate,
    "Resize": _deterministic("Resize"),
    "CenterCrop": _deterministic("CenterCrop"),
    "Grayscale": _deterministic("Grayscale"),
    "RandomGrayscale": _random_grayscale,
    "RandomInvert": _random_apply("invert"),
    "RandomPosterize": _random_apply("posterize", "bits"),
    "RandomSolarize": _random_apply("solarize", "threshold"),
    "RandomAdjustSharpness": _random_apply("adjust_sharpness", "sharpness_factor"),
    "RandomAutocontrast": _random_apply("autocontrast"),
    "RandomEqualize": _random_apply("equalize"),
    "GaussianNoise": _gaussian_noise,
    "GaussianBlur": _gaussian_blur,
    "ColorJitter": _color_jitter,
    "RandomErasing": _erasing,
}


def batch_augmenter(pipeline: Any, device: torch.device | str) -> Callable[[Tensor], Tensor] | None:
    """A function augmenting a batch ``(B, C, H, W)`` on ``device`` with per-sample randomness, or None.

    ``pipeline``: anything ``playground.augment.pipelines.load_pipeline`` accepts. None means some
    enabled step has no faithful batched form; use per-sample v2 transforms then.
    MixUp/CutMix steps are left to ``build_batch_transform`` (they need labels).
    """
    from playground.augment.transforms import step_kwargs

    spec = check(load_pipeline(pipeline))
    device = torch.device(device)
    ops: list[Op] = []
    for _, step in per_image_steps(spec):
        factory = _BATCHERS.get(step["name"])
        op = factory(step_kwargs(step)) if factory else None
        if op is None:
            return None
        ops.append(op)

    def augment(x: Tensor) -> Tensor:
        """Augment ``x`` (B, C, H, W), uint8 or float, on the augmenter's device."""
        if x.ndim != 4:
            raise ValueError(f"batch_augmenter expects a (B, C, H, W) batch, got shape {tuple(x.shape)}.")
        if x.device.type != device.type:
            raise ValueError(
                f"The batch is on {x.device}, but this augmenter was made for {device}: move it there first."
            )
        x = x.as_subclass(Tensor)
        for op in ops:
            x = op(x)
        return x

    return augment
