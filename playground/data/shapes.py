"""``shapes``: a procedurally generated, seeded 10-class image dataset (32x32 RGB).

Every image is one shape (circle, ring, triangle, square, star, cross, crescent,
heart, arrow, bow tie) with a random colour, size, aspect, position and rotation,
painted anti-aliased over a textured background (stripes, checks, smooth noise
or a gradient in two random colours) plus pixel noise. Colours are drawn so the
shape always differs clearly from both background colours, so every label is
recognisable by eye.

Why it is hard enough to be interesting: position, colour and rotation change
from image to image, so no single pixel or colour says which class it is; a
linear model on pixels does clearly worse than the article's SimpleCNN, and
rotation/translation augmentation and depth help (measured in tests and bench/).

Generation is vectorised torch on the CPU, a chunk of samples at a time (the
default 12,000 images take about 2 s here), deterministic for a given seed and
sample count, and independent of torch's global RNG (its own ``torch.Generator``).
``cached_shapes`` keeps what it generated on disk, so the next run on the same
``(n, seed)`` starts in milliseconds instead of seconds.
"""

from __future__ import annotations

import hashlib
import math
import os
from pathlib import Path

import torch

SHAPE_CLASSES = ["circle", "ring", "triangle", "square", "star", "cross", "crescent", "heart", "arrow", "bowtie"]
SIZE = 32
_SUPER = 2  # supersampling per axis for anti-aliased edges
_CHUNK = 1024  # samples generated at once: bounds memory to a few tens of MB
# Difficulty knobs (tuned so SimpleCNN learns it in a minute on a CPU while a linear model cannot).
RADIUS = (8.0, 14.0)  # shape radius in pixels
ASPECT = 0.2  # each axis squashed by up to +-10%
TEXTURE_CONTRAST = 0.4  # the second background colour differs from the first by up to +-20% per channel
NOISE = 0.02  # pixel noise (std, on the 0..1 scale)


def _polygon(u: torch.Tensor, v: torch.Tensor, n: int) -> torch.Tensor:
    """Inside a regular n-gon of circumradius 1 (a vertex on +u)."""
    rho = torch.sqrt(u * u + v * v)
    phi = torch.atan2(v, u) % (2 * math.pi / n) - math.pi / n
    return rho * torch.cos(phi) < math.cos(math.pi / n)


def _mask(cls: int, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Boolean inside-test of class ``cls`` in the shape's unit frame (shape fits radius ~1)."""
    rho2 = u * u + v * v
    if cls == 0:  # circle
        return rho2 < 0.85**2
    if cls == 1:  # ring
        return (rho2 < 1.0) & (rho2 > 0.55**2)
    if cls == 2:  # triangle
        return _polygon(u, v, 3)
    if cls == 3:  # square
        return _polygon(u, v, 4)
    if cls == 4:  # five-pointed star: radius follows a triangle wave between 0.42 and 1 over the angle
        t = (torch.atan2(v, u) * 5 / (2 * math.pi)) % 1.0
        w = (2 * t - 1).abs()  # 1 at the points, 0 between them
        return torch.sqrt(rho2) < 0.42 + 0.58 * w**1.6
    if cls == 5:  # plus-shaped cross
        return ((u.abs() < 0.3) & (v.abs() < 0.95)) | ((u.abs() < 0.95) & (v.abs() < 0.3))
    if cls == 6:  # crescent: a disc with an off-centre disc cut out
        return (rho2 < 1.0) & ((u - 0.5) ** 2 + v * v > 0.8**2)
    if cls == 7:  # heart: the classic implicit curve, scaled to the unit frame
        x, y = u * 1.25, -v * 1.25 + 0.25
        return (x * x + y * y - 1) ** 3 - x * x * y**3 < 0
    if cls == 8:  # arrow: a shaft and a triangular head pointing along +u
        shaft = (v.abs() < 0.2) & (u > -1.0) & (u < 0.15)
        head = (u >= 0.05) & (u < 1.0) & (v.abs() < 0.65 * (1.0 - u) / 0.95)
        return shaft | head
    if cls == 9:  # bow tie: two triangles meeting at their tips
        return (u.abs() < 0.95) & (v.abs() < 0.95) & (v.abs() < u.abs() * 0.95)
    raise ValueError(f"no shape class {cls}")


def _background(
    n: int, g: torch.Generator, kinds: torch.Tensor | None = None
) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
    """Texture pattern ``(n, 1, S, S)`` in [0, 1] and its two colours ``(n, 3, 1, 1)`` each.

    ``kinds`` (n,) picks each texture (0 stripes, 1 checks, 2 smooth noise, 3 gradient); None: random."""
    ys, xs = torch.meshgrid(
        torch.arange(SIZE, dtype=torch.float32), torch.arange(SIZE, dtype=torch.float32), indexing="ij"
    )
    kind = torch.randint(0, 4, (n,), generator=g)
    if kinds is not None:
        kind = kinds
    angle = torch.rand(n, generator=g) * math.pi
    freq = 2 * math.pi / (4 + torch.rand(n, generator=g) * 8)  # period 4..12 px
    phase = torch.rand(n, generator=g) * 2 * math.pi
    proj = xs * torch.cos(angle)[:, None, None] + ys * torch.sin(angle)[:, None, None]  # (n, S, S)
    stripes = 0.5 + 0.5 * torch.sin(freq[:, None, None] * proj + phase[:, None, None])
    across = xs * -torch.sin(angle)[:, None, None] + ys * torch.cos(angle)[:, None, None]
    checks = (
        (torch.sin(freq[:, None, None] * proj + phase[:, None, None]) * torch.sin(freq[:, None, None] * across)) > 0
    ).float()
    coarse = torch.rand(n, 1, 5, 5, generator=g)
    noise = torch.nn.functional.interpolate(coarse, size=(SIZE, SIZE), mode="bicubic", align_corners=True)[:, 0].clamp(
        0, 1
    )
    gradient = (proj - proj.amin(dim=(1, 2), keepdim=True)) / (SIZE * 1.5)
    pattern = torch.stack([stripes, checks, noise, gradient.clamp(0, 1)], 1)  # (n, 4, S, S)
    pattern = pattern[torch.arange(n), kind].unsqueeze(1)  # (n, 1, S, S)
    col_a = torch.rand(n, 3, 1, 1, generator=g)
    col_b = (col_a + (torch.rand(n, 3, 1, 1, generator=g) - 0.5) * TEXTURE_CONTRAST).clamp(0, 1)  # related but distinct
    return pattern, (col_a, col_b)


def _shape_colour(col_a: torch.Tensor, col_b: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """A colour ``(n, 3, 1, 1)`` far from both background colours: best of 8 random candidates."""
    n = col_a.shape[0]
    cand = torch.rand(n, 8, 3, generator=g)
    a, b = col_a.view(n, 1, 3), col_b.view(n, 1, 3)
    dist = torch.minimum((cand - a).norm(dim=2), (cand - b).norm(dim=2))  # (n, 8)
    best = dist.argmax(dim=1)
    return cand[torch.arange(n), best].view(n, 3, 1, 1)


def _render_chunk(labels: torch.Tensor, g: torch.Generator, kinds: torch.Tensor | None = None) -> torch.Tensor:
    """Images ``(n, 3, S, S)`` uint8 for the given labels (and background textures ``kinds``, None: random)."""
    n = labels.shape[0]
    pattern, (col_a, col_b) = _background(n, g, kinds)
    radius = RADIUS[0] + torch.rand(n, generator=g) * (RADIUS[1] - RADIUS[0])
    aspect = 1 - ASPECT / 2 + torch.rand(n, 2, generator=g) * ASPECT  # mild squash per axis
    margin = radius * 0.6
    cx = margin + torch.rand(n, generator=g) * (SIZE - 2 * margin)
    cy = margin + torch.rand(n, generator=g) * (SIZE - 2 * margin)
    theta = torch.rand(n, generator=g) * 2 * math.pi
    # Supersampled pixel centres: (S*SUPER,) coordinates in pixel units.
    sub = (torch.arange(SIZE * _SUPER, dtype=torch.float32) + 0.5) / _SUPER
    py, px = torch.meshgrid(sub, sub, indexing="ij")
    dx = px[None] - cx[:, None, None]
    dy = py[None] - cy[:, None, None]
    c, s = torch.cos(theta)[:, None, None], torch.sin(theta)[:, None, None]
    u = (dx * c + dy * s) / (radius[:, None, None] * aspect[:, 0, None, None])
    v = (-dx * s + dy * c) / (radius[:, None, None] * aspect[:, 1, None, None])
    inside = torch.zeros(n, SIZE * _SUPER, SIZE * _SUPER, dtype=torch.bool)
    for cls in range(len(SHAPE_CLASSES)):
        sel = (labels == cls).nonzero().flatten()
        if len(sel):
            inside[sel] = _mask(cls, u[sel], v[sel])
    coverage = torch.nn.functional.avg_pool2d(inside.float().unsqueeze(1), _SUPER)  # (n, 1, S, S) in [0, 1]
    colour = _shape_colour(col_a, col_b, g)
    shade = 0.85 + 0.3 * torch.rand(n, 1, 1, 1, generator=g) * (torch.linspace(0, 1, SIZE).view(1, 1, SIZE, 1))
    background = col_a * (1 - pattern) + col_b * pattern
    image = background * (1 - coverage) + (colour * shade).clamp(0, 1) * coverage
    image = image + torch.randn(image.shape, generator=g) * NOISE
    return (image.clamp(0, 1) * 255).round().to(torch.uint8)


def generate_shapes(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` seeded samples: images uint8 ``(n, 3, 32, 32)`` and labels int64 ``(n,)``.

    Classes are balanced (``n // 10`` each, the remainder to the first classes) and
    shuffled. The same ``(n, seed)`` always gives the same tensors.
    """
    if n < 1:
        raise ValueError("The shapes dataset needs at least 1 sample.")
    g = torch.Generator().manual_seed(int(seed))
    labels = torch.arange(n) % len(SHAPE_CLASSES)
    labels = labels[torch.randperm(n, generator=g)]
    images = torch.empty(n, 3, SIZE, SIZE, dtype=torch.uint8)
    for start in range(0, n, _CHUNK):
        stop = min(n, start + _CHUNK)
        images[start:stop] = _render_chunk(labels[start:stop], g)
    return images, labels.to(torch.int64)


TEXTURE_CLASSES = ["stripes", "checks", "noise", "gradient"]


def generate_shape_textures(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """The bundled backbone's source task: ``n`` seeded images ``(n, 3, 32, 32)`` uint8 labelled by
    shape x background texture, ``label = shape * 4 + texture`` (40 balanced classes; names in
    ``shape_texture_classes()``), so the features learn both outlines and textures."""
    if n < 1:
        raise ValueError("The shape-texture dataset needs at least 1 sample.")
    g = torch.Generator().manual_seed(int(seed))
    k = len(SHAPE_CLASSES) * len(TEXTURE_CLASSES)
    labels = (torch.arange(n) % k)[torch.randperm(n, generator=g)]
    images = torch.empty(n, 3, SIZE, SIZE, dtype=torch.uint8)
    for start in range(0, n, _CHUNK):
        stop = min(n, start + _CHUNK)
        lab = labels[start:stop]
        images[start:stop] = _render_chunk(lab // len(TEXTURE_CLASSES), g, lab % len(TEXTURE_CLASSES))
    return images, labels.to(torch.int64)


def shape_texture_classes() -> list[str]:
    """The 40 class names of ``generate_shape_textures``: ``"circle/stripes"`` ..."""
    return [f"{s}/{t}" for s in SHAPE_CLASSES for t in TEXTURE_CLASSES]


CACHE_MAX_BYTES = 64 * 2**20  # a cached set is at most this big (about 21,000 images) ...
CACHE_FILES = 8  # ... and at most this many are kept, the most recently used


def _source_key() -> str:
    """A digest of this module's source: a changed generator never reads a set the old one made."""
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]


def cached_shapes(n: int, seed: int = 0, cache_dir: Path | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``generate_shapes(n, seed)``, made once and kept in ``cache_dir`` (None: no cache).

    Only sets up to ``CACHE_MAX_BYTES`` are kept, and the ``CACHE_FILES`` most recently used;
    a missing, unreadable or foreign file is regenerated, and a cache that cannot be written
    is skipped (the tensors are the same either way).
    """
    if cache_dir is None or n * 3 * SIZE * SIZE > CACHE_MAX_BYTES:
        return generate_shapes(n, seed)
    path = Path(cache_dir) / f"shapes-{int(n)}-{int(seed)}-{_source_key()}.pt"
    try:
        saved = torch.load(path, weights_only=True)
        x, y = saved["x"], saved["y"]
        if x.shape == (n, 3, SIZE, SIZE) and x.dtype == torch.uint8 and y.shape == (n,) and y.dtype == torch.int64:
            os.utime(path)  # recently used: kept when older sets are pruned
            return x, y
    except Exception:  # noqa: BLE001 - not there yet, damaged or not ours (pickle errors included): make it
        pass
    x, y = generate_shapes(n, seed)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        torch.save({"x": x, "y": y}, tmp)
        os.replace(tmp, path)  # atomic: a concurrent run reads the whole file or none
        kept = sorted(path.parent.glob("shapes-*.pt"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in kept[CACHE_FILES:]:
            old.unlink(missing_ok=True)
    except OSError:
        pass  # a read-only data folder: no cache, same data
    return x, y
