"""The work a preview asks for, estimated before any pixel is touched, and refused with a sentence when too much.

Every widget of the studio has a sane range, but their product does not: 32 samples of a 2048-pixel photo
resized to 4096 and then elastically warped took 89 s and 1.5 GB per sample. ``estimate_seconds`` follows the
image's size through the enabled steps (as ``validate`` does) and adds each step's cost per pixel, measured
on this machine (``bench/`` style: one torch thread, 512x512 uint8, nanoseconds per output pixel).
"""

from __future__ import annotations

from playground.augment.pipelines import per_image_steps
from playground.augment.spec import PipelineError

MAX_PREVIEW_SECONDS = 20.0  # what one preview may cost, estimated; a default grid is well under a second
MAX_PREVIEW_PIXELS = 64 * 2**20  # one sample's largest intermediate image: 64 MP of uint8 RGB is 192 MiB

# ns per pixel of the step's output, one thread (measured with preview_grid on a 512x512 photo).
_NS_PER_PIXEL = {
    "ElasticTransform": 2400.0,
    "ColorJitter": 210.0,
    "AugMix": 600.0,
    "AutoAugment": 60.0,
    "RandAugment": 40.0,  # per op
    "TrivialAugmentWide": 40.0,
    "RandomRotation": 50.0,
    "RandomAffine": 60.0,
    "RandomPerspective": 80.0,
    "Resize": 60.0,
    "RandomResizedCrop": 60.0,
    "GaussianNoise": 40.0,
    "RandomEqualize": 40.0,
    "RandomAdjustSharpness": 40.0,
}
_DEFAULT_NS = 20.0  # flips, crops, dtype changes, Normalize...


def _pair(v) -> tuple[int, int]:
    return (int(v[0]), int(v[1])) if isinstance(v, (list, tuple)) else (int(v), int(v))


def _cost_ns(name: str, params: dict) -> float:
    ns = _NS_PER_PIXEL.get(name, _DEFAULT_NS)
    if name == "GaussianBlur":
        ns = 20.0 * int(params.get("kernel_size", 3))  # separable: ~2k taps per pixel
    elif name == "RandAugment":
        ns *= int(params.get("num_ops", 2))
    elif name == "AugMix":
        ns *= max(1, int(params.get("mixture_width", 3))) / 3
    return ns


def estimate(spec: dict, image_hw: tuple[int, int], n: int) -> tuple[float, tuple[int, int], str]:
    """``(seconds, largest (h, w) of one sample on the way, costliest step)`` for ``n`` samples of ``spec``."""
    h, w = int(image_hw[0]), int(image_hw[1])
    largest, seconds, worst, worst_cost = (h, w), 0.0, "", 0.0
    for _, step in per_image_steps(spec):
        name, prm = step["name"], step["params"]
        if name == "Resize":
            s = prm["size"]
            if isinstance(s, list):
                h, w = int(s[0]), int(s[1])
            else:  # the shorter side becomes s
                h, w = (int(s), max(1, int(s * w / h))) if h <= w else (max(1, int(s * h / w)), int(s))
        elif name in ("CenterCrop", "RandomCrop", "RandomResizedCrop"):
            h, w = _pair(prm["size"])
            if name == "RandomCrop" and prm.get("padding"):
                h, w = h + 0, w + 0  # padding is cropped away again
        elif name == "RandomRotation" and prm.get("expand"):
            h = w = int((h * h + w * w) ** 0.5) + 1  # the rotated bounding box, at most the diagonal
        largest = max(largest, (h, w), key=lambda hw: hw[0] * hw[1])
        cost = _cost_ns(name, prm) * h * w * 1e-9
        seconds += cost
        if cost > worst_cost:
            worst, worst_cost = name, cost
    return seconds * int(n), largest, worst


def check_budget(spec: dict, image_hw: tuple[int, int], n: int) -> None:
    """PipelineError with what to lower if ``n`` samples of ``spec`` on an ``image_hw`` photo are too much work."""
    seconds, (h, w), worst = estimate(spec, image_hw, n)
    if h * w > MAX_PREVIEW_PIXELS:
        raise PipelineError(
            f"This pipeline makes a {w}x{h} image ({h * w / 1e6:,.0f} MP) out of each sample, over the preview's "
            f"{MAX_PREVIEW_PIXELS / 2**20:.0f} MP: lower the Resize or crop size."
        )
    if seconds > MAX_PREVIEW_SECONDS:
        raise PipelineError(
            f"This preview would take about {seconds:,.0f} s of computing ({n} samples of a "
            f"{image_hw[1]}x{image_hw[0]} photo; {worst} is the costliest step), over the "
            f"{MAX_PREVIEW_SECONDS:.0f} s a preview may take: lower the number of samples, the photo's max side "
            f"or the Resize size, or switch {worst} off."
        )
