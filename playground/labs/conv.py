"""The Convolution & Pooling Explorer (``/conv``): its one config object, its presets, and the
classic image kernels it applies to a real photo.

The page keeps everything it shows in ``ExplorerConfig``; it round-trips through the URL
(``playground.common.urlstate``), so a setup is shared as a link, and each field's ``setting``
gives its range (the page's widgets and a link's values keep to it). Layers are kept as plain dicts
(``spec_to_dict``) so the config stays JSON-friendly; ``layer_specs`` turns them into specs, reporting
(not raising) anything a hand-edited link got wrong.

The "On an image" tab: a registry of kernel presets (identity, box blur, Gaussian, sharpen, Sobel,
Laplacian, emboss, random), applying them with the geometry of the configured conv layer (stride,
padding, dilation, padding mode), then the configured pooling; and the translation-invariance demo
that measures how much conv and pooled outputs change when the input shifts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from playground.common.images import sample_images
from playground.common.registry import Registry
from playground.common.settings import setting
from playground.models.arithmetic import (
    ConvSpec,
    LayerError,
    LayerSpec,
    PoolSpec,
    conv_padding,
    spec_from_dict,
    spec_to_dict,
    validate_conv,
    validate_pool,
)

MAX_LAYERS = 12


def default_layers() -> list[dict]:
    """Conv 3x3 (padding 1) then 2x2 max pooling: the first stage of the article's SimpleCNN."""
    return [spec_to_dict(ConvSpec(16, 3, 1, 1)), spec_to_dict(PoolSpec("max", 2))]


@dataclass
class ExplorerConfig:
    """Everything the explorer page shows; every field has a default, a URL form and a range (``setting``)."""

    batch: int = setting(4, lo=1, hi=4096)
    channels: int = setting(3, lo=1, hi=2048)
    height: int = setting(32, lo=1, hi=4096)
    width: int = setting(32, lo=1, hi=4096)
    layers: list = setting(factory=default_layers)  # read entry by entry by ``layer_specs``
    window_layer: int = setting(1, lo=1, hi=MAX_LAYERS, help="which layer (1-based) the sliding-window view animates")
    # The sliding-window view uses its own small input so cells stay readable.
    window_height: int = setting(7, lo=1, hi=32)
    window_width: int = setting(7, lo=1, hi=32)
    image: str = setting("chelsea.png", choices=lambda: sample_images())
    kernel: str = setting("sobel_x", choices=lambda: KERNELS.names())
    kernel_seed: int = setting(0, lo=0, hi=10_000)
    # The image tab's kernel as typed into its grid (rows of numbers); empty: the preset's. See ``typed_kernel``.
    kernel_cells: list = setting(factory=list)
    max_shift: int = setting(6, lo=1, hi=16, help="the largest shift of the translation study, in pixels")

    @property
    def input_shape(self) -> tuple[int, int, int, int]:
        return (self.batch, self.channels, self.height, self.width)


def layer_specs(cfg: ExplorerConfig) -> tuple[list[LayerSpec], list[str]]:
    """The config's layers as specs, plus a sentence for each entry that could not be read."""
    specs, problems = [], []
    for i, d in enumerate(cfg.layers[:MAX_LAYERS]):
        try:
            if not isinstance(d, dict):
                raise LayerError("not a layer description")
            specs.append(spec_from_dict(d))
        except (LayerError, TypeError, ValueError) as exc:
            problems.append(f"Layer {i + 1} of the link was dropped: {exc}.")
    if len(cfg.layers) > MAX_LAYERS:
        problems.append(f"Only the first {MAX_LAYERS} layers are shown.")
    return specs, problems


def article_example(stride: int) -> ExplorerConfig:
    """The article's first code sample: ``Conv2d(3, 16, 3, stride, padding=1)`` on ``[4, 3, 32, 32]``."""
    return ExplorerConfig(batch=4, channels=3, height=32, width=32, layers=[spec_to_dict(ConvSpec(16, 3, stride, 1))])


def first_conv_and_pool(specs: list[LayerSpec]) -> tuple[ConvSpec, PoolSpec]:
    """The geometry the image tab uses: the chain's first conv and the first pool after it (defaults if absent)."""
    conv = next((s for s in specs if isinstance(s, ConvSpec)), ConvSpec(1, 3, 1, 1))
    after = specs[specs.index(conv) + 1 :] if conv in specs else specs
    pool = next((s for s in after if isinstance(s, PoolSpec)), PoolSpec("max", 2))
    return conv, pool


KERNELS: Registry = Registry("kernel preset")

_FIXED_3x3 = {
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    "sobel_x": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    "sobel_y": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
    "laplacian": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
    "emboss": [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]],
}

KERNEL_LABELS = {
    "identity": "Identity (copies the input)",
    "box_blur": "Box blur (average)",
    "gaussian": "Gaussian blur",
    "sharpen": "Sharpen",
    "sobel_x": "Sobel x (vertical edges)",
    "sobel_y": "Sobel y (horizontal edges)",
    "laplacian": "Laplacian (all edges)",
    "emboss": "Emboss",
    "random": "Random (like an untrained filter)",
}


def _embed(small: list[list[float]], size: tuple[int, int]) -> torch.Tensor:
    """Place a 3x3 kernel in the centre of a zero ``size`` kernel (or crop its centre when smaller)."""
    kh, kw = size
    out = torch.zeros(kh, kw)
    src = torch.tensor(small, dtype=torch.float32)
    for i in range(3):
        for j in range(3):
            y, x = i - 1 + kh // 2, j - 1 + kw // 2
            if 0 <= y < kh and 0 <= x < kw:
                out[y, x] = src[i, j]
    return out


@KERNELS.register("identity")
def identity(size=(3, 3), seed=0) -> torch.Tensor:
    """1 in the centre, 0 elsewhere: the output equals the input."""
    k = torch.zeros(size)
    k[size[0] // 2, size[1] // 2] = 1.0
    return k


@KERNELS.register("box_blur")
def box_blur(size=(3, 3), seed=0) -> torch.Tensor:
    """Every weight 1/(kh*kw): a plain average."""
    return torch.full(size, 1.0 / (size[0] * size[1]))


@KERNELS.register("gaussian")
def gaussian(size=(3, 3), seed=0) -> torch.Tensor:
    """A normalised Gaussian with sigma = size/4 along each axis (a 3x3 gives the familiar 1-2-1 shape)."""
    axes = []
    for n in size:
        sigma = max(n / 4.0, 0.5)
        x = torch.arange(n, dtype=torch.float32) - (n - 1) / 2
        axes.append(torch.exp(-(x**2) / (2 * sigma**2)))
    k = torch.outer(axes[0], axes[1])
    return k / k.sum()


for _name, _grid in _FIXED_3x3.items():
    KERNELS.register(_name, (lambda g: lambda size=(3, 3), seed=0: _embed(g, size))(_grid))


@KERNELS.register("random")
def random_kernel(size=(3, 3), seed=0) -> torch.Tensor:
    """Kaiming-uniform weights, like a freshly initialised ``nn.Conv2d`` with one input channel."""
    gen = torch.Generator().manual_seed(int(seed))
    bound = 1.0 / math.sqrt(size[0] * size[1])
    return (torch.rand(size, generator=gen) * 2 - 1) * bound


def make_kernel(name: str, size: tuple[int, int], seed: int = 0) -> torch.Tensor:
    """Kernel preset ``name`` at ``size`` (fixed 3x3 presets are centred in zeros when larger)."""
    return KERNELS.get(name)(size=tuple(size), seed=seed)


def typed_kernel(cells: list, size: tuple[int, int]) -> torch.Tensor | None:
    """A link's hand-typed kernel: ``size`` rows of finite numbers, as a ``(kh, kw)`` tensor; None when the cells
    do not fit (another kernel size, or not numbers), so the preset's kernel is shown instead."""
    kh, kw = size
    if not isinstance(cells, list) or len(cells) != kh:
        return None
    try:
        rows = [[float(v) for v in row] for row in cells if isinstance(row, list) and len(row) == kw]
    except (TypeError, ValueError):
        return None
    t = torch.tensor(rows, dtype=torch.float32) if len(rows) == kh else None
    return t if t is not None and bool(torch.isfinite(t).all()) and float(t.abs().max()) <= 1e6 else None


def kernel_cells(kernel: torch.Tensor, preset: torch.Tensor) -> list:
    """What the link keeps of a kernel: its rows when they differ from the preset's, else nothing."""
    if kernel.shape == preset.shape and torch.allclose(kernel, preset, atol=1e-4):  # the grid shows 4 decimals
        return []
    return [[round(float(v), 4) for v in row] for row in kernel]


def kernel_from_cells(cells) -> torch.Tensor:
    """A kernel typed into a grid (rows of numbers, NaN where a cell is empty) as a ``(kh, kw)`` float tensor.

    An emptied cell counts as 0 rather than poisoning the whole feature map with NaN.
    """
    return torch.nan_to_num(
        torch.tensor(np.asarray(cells, dtype="float32")), nan=0.0
    )  # a copy: the grid may be read-only


# --------------------------------------------------------------------------- applying


PHOTO_SIDE = 512  # the image tab's photo, longest side
# Work budget of one convolution of the photo (multiply-accumulates): the translation study runs
# max_shift + 2 of them, so 16 shifts of a 64x64 kernel on a 512x512 photo would be 20 G MACs (minutes here).
PHOTO_CONV_MACS = 30_000_000


def photo_side(kernel: tuple[int, int]) -> int:
    """The longest side the image tab gives its photo for this kernel: 512, smaller for big kernels."""
    taps = max(1, int(kernel[0]) * int(kernel[1]))
    return max(32, min(PHOTO_SIDE, int((PHOTO_CONV_MACS / taps) ** 0.5)))


def conv_with_kernel(image: torch.Tensor, kernel: torch.Tensor, spec: ConvSpec) -> torch.Tensor:
    """Convolve a grayscale image ``(1, H, W)`` with one ``(kh, kw)`` kernel using ``spec``'s geometry.

    Returns the feature map ``(H', W')``. ``spec``'s out_channels/groups are ignored: one kernel
    in, one map out. Raises LayerError (with the fix) if the geometry does not fit the image.
    """
    geometry = ConvSpec(1, tuple(kernel.shape), spec.stride, spec.padding, spec.dilation, 1, False, spec.padding_mode)
    validate_conv(geometry, (1, 1, image.shape[-2], image.shape[-1]))
    x = image.reshape(1, 1, image.shape[-2], image.shape[-1])
    (pt, pb), (pl, pr) = conv_padding(geometry)
    if spec.padding_mode != "zeros" and (pt or pb or pl or pr):
        x = F.pad(x, (pl, pr, pt, pb), mode=spec.padding_mode)
        pt = pb = pl = pr = 0
    elif pt != pb or pl != pr:  # asymmetric 'same' padding: pad explicitly
        x = F.pad(x, (pl, pr, pt, pb))
        pt = pb = pl = pr = 0
    out = F.conv2d(x, kernel.reshape(1, 1, *kernel.shape), stride=spec.stride, padding=(pt, pl), dilation=spec.dilation)
    return out[0, 0]


def pool_map(fmap: torch.Tensor, spec: PoolSpec) -> torch.Tensor:
    """Apply the pooling layer to one ``(H, W)`` map; LayerError if it does not fit."""
    validate_pool(spec, (1, 1, fmap.shape[0], fmap.shape[1]))
    x = fmap.reshape(1, 1, *fmap.shape)
    if spec.pool == "max":
        y = F.max_pool2d(x, spec.kernel, spec.stride, spec.padding, spec.dilation, ceil_mode=spec.ceil_mode)
    else:
        y = F.avg_pool2d(x, spec.kernel, spec.stride, spec.padding, ceil_mode=spec.ceil_mode)
    return y[0, 0]


@dataclass
class ShiftResult:
    """How much outputs change when the input moves by ``shift`` pixels (right and down)."""

    shift: int
    conv_change: float  # mean |f(shift x) - f(x)| / mean |f(x)|, position by position
    pooled_change: float  # the same after pooling
    conv_change_aligned: float  # conv output compared after undoing the shift: ~0 (equivariance)


def _relative_change(a: torch.Tensor, b: torch.Tensor) -> float:
    scale = a.abs().mean().item()
    return float((a - b).abs().mean().item() / scale) if scale > 1e-12 else 0.0


def translation_study(
    image: torch.Tensor, kernel: torch.Tensor, conv: ConvSpec, pool: PoolSpec, max_shift: int = 6
) -> list[ShiftResult]:
    """Shift a grayscale image ``(1, H, W)`` by 0..max_shift pixels and measure how outputs change.

    Both views are crops of the same image, so no wrapped-around pixels appear: the shifted view is
    the crop that starts ``shift`` pixels up-left, i.e. the content moves ``shift`` pixels right/down.
    """
    if max_shift < 0:
        raise LayerError("The shift must be 0 or more pixels.")
    _, h, w = image.shape
    if h <= max_shift + 8 or w <= max_shift + 8:
        raise LayerError(f"The image ({w}x{h}) is too small to shift by {max_shift} pixels; use a larger image.")
    base = image[:, max_shift:, max_shift:]
    ref_conv = conv_with_kernel(base, kernel, conv)
    ref_pool = pool_map(ref_conv, pool)
    results = []
    for s in range(max_shift + 1):
        moved = image[:, max_shift - s : h - s, max_shift - s : w - s]
        c = conv_with_kernel(moved, kernel, conv)
        p = pool_map(c, pool)
        # Undo the shift on the conv output (only exact when the stride divides the shift), and
        # leave out a border as wide as the kernel's reach, where padding makes the two views differ.
        sy = s // conv.stride[0] if s % conv.stride[0] == 0 else None
        sx = s // conv.stride[1] if s % conv.stride[1] == 0 else None
        if sy is not None and sx is not None:
            by = (conv.dilation[0] * (kernel.shape[0] - 1)) // conv.stride[0] + 1
            bx = (conv.dilation[1] * (kernel.shape[1] - 1)) // conv.stride[1] + 1
            ref_aligned = ref_conv[: ref_conv.shape[0] - sy, : ref_conv.shape[1] - sx]
            moved_aligned = c[sy:, sx:]
            inner = (slice(by, -by), slice(bx, -bx))
            aligned = _relative_change(ref_aligned[inner], moved_aligned[inner])
        else:
            aligned = float("nan")
        results.append(ShiftResult(s, _relative_change(ref_conv, c), _relative_change(ref_pool, p), aligned))
    return results
