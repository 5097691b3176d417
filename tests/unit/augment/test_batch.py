"""Batched on-device augmentation: same arithmetic as v2 for a given draw, same distributions over draws.

Distribution tests compare a few thousand batched draws against as many per-sample
``torchvision.transforms.v2`` draws (and, where it is simple, against the exact
distribution), with fixed seeds: deterministic, and far from the tolerance.
Images are tiny so the per-sample loop stays fast.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F

from playground.augment.batch import (
    _brightness,
    _contrast,
    _hue,
    _saturation,
    batch_augmenter,
    blur_batch,
    crop_batch,
    jitter_apply,
    jitter_params,
    shift_batch,
)
from playground.augment.pipelines import build_transform, load_pipeline
from playground.augment.spec import make_step

N = 3000  # draws per distribution test


@pytest.fixture(autouse=True)
def one_thread():
    """Thousands of tiny per-sample reference calls: one torch thread each is faster (much faster on a busy
    machine, where two OpenMP threads spin against other processes)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def spec_of(*steps) -> dict:
    return {"steps": list(steps)}


def ks(a, b) -> float:
    """Two-sample Kolmogorov-Smirnov distance between two samples of numbers."""
    a, b = np.sort(np.asarray(a, float)), np.sort(np.asarray(b, float))
    grid = np.concatenate([a, b])
    return float(np.abs(np.searchsorted(a, grid, "right") / len(a) - np.searchsorted(b, grid, "right") / len(b)).max())


KS_LIMIT = 1.95 * np.sqrt(2 / N)  # the 0.1% critical value: larger would mean different distributions


def both(step: dict, x0: torch.Tensor, n: int = N, seed: int = 0, tail=()) -> tuple[torch.Tensor, torch.Tensor]:
    """n batched draws and n per-sample v2 draws of one step applied to image x0 (C, H, W)."""
    spec = spec_of(step, *tail)
    torch.manual_seed(seed)
    batched = batch_augmenter(spec, "cpu")(x0.expand(n, *x0.shape).clone())
    t = build_transform(spec)
    torch.manual_seed(seed + 1)
    single = torch.stack([t(x0) for _ in range(n)])
    return batched, single.as_subclass(torch.Tensor)


def ramp(h=8, w=8, c=3) -> torch.Tensor:
    """uint8 (c, h, w) where every pixel's value says where it came from."""
    return (torch.arange(h * w).view(1, h, w).repeat(c, 1, 1) % 251 + 1).to(torch.uint8)


# -- which pipelines can be batched ----------------------------------------------------------------


@pytest.mark.parametrize(
    "preset,batchable",
    [
        ("cifar", True),
        ("article-val", True),
        ("imagenet-val", True),
        ("none", True),
        ("article-train", False),
        ("imagenet-train", False),
        ("autoaugment", False),
        ("randaugment", False),
        ("trivialaugment", False),
        ("augmix", False),
    ],
)
def test_presets_batch_or_fall_back(preset, batchable):
    assert (batch_augmenter(preset, "cpu") is not None) == batchable


def test_affine_batches_only_as_a_pure_shift():
    assert batch_augmenter(spec_of(make_step("RandomAffine", degrees=0, translate=[0.1, 0.1])), "cpu") is not None
    assert batch_augmenter(spec_of(make_step("RandomAffine", degrees=10)), "cpu") is None
    assert batch_augmenter(spec_of(make_step("RandomAffine", degrees=0, scale=[0.9, 1.1])), "cpu") is None


def test_bad_batches_get_a_sentence():
    aug = batch_augmenter("cifar", "cpu")
    with pytest.raises(ValueError, match=r"expects a \(B, C, H, W\) batch"):
        aug(torch.zeros(3, 32, 32, dtype=torch.uint8))
    with pytest.raises(ValueError, match="crop is larger"):
        aug(torch.zeros(2, 3, 16, 16, dtype=torch.uint8))
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="made for cuda"):
            batch_augmenter("cifar", "cuda")(torch.zeros(2, 3, 32, 32, dtype=torch.uint8))


def test_mixup_is_left_to_the_batch_transform():
    spec = spec_of(make_step("RandomCrop", size=8), make_step("ToTensor"), make_step("MixUp"))
    out = batch_augmenter(spec, "cpu")(torch.zeros(4, 3, 8, 8, dtype=torch.uint8))
    assert out.shape == (4, 3, 8, 8) and out.dtype == torch.float32


# -- the same arithmetic as v2 for a given draw ---------------------------------------------------------


def test_deterministic_pipeline_equals_v2_exactly():
    x = torch.randint(0, 256, (6, 3, 40, 50), dtype=torch.uint8)
    ours = batch_augmenter("article-val", "cpu")(x)
    t = build_transform("article-val")
    assert torch.equal(ours, torch.stack([t(img) for img in x]).as_subclass(torch.Tensor))


def test_crop_shift_and_blur_equal_v2_functionals():
    x = torch.randint(0, 256, (4, 3, 10, 12), dtype=torch.uint8)
    top, left = torch.tensor([0, 2, 5, 1]), torch.tensor([3, 0, 6, 2])
    crops = crop_batch(x, top, left, 5, 6)
    tx, ty = torch.tensor([0, 3, -2, 5]), torch.tensor([1, -4, 0, 2])
    shifted = shift_batch(x, tx, ty)
    sigma = torch.tensor([0.3, 0.8, 1.4, 2.0])
    for dtype in (torch.uint8, torch.float32):
        xs = x if dtype == torch.uint8 else x.float() / 255
        blurred = blur_batch(xs, 5, sigma)
        for b in range(4):
            assert torch.allclose(blurred[b], F.gaussian_blur(xs[b], [5, 5], [float(sigma[b])] * 2), atol=1e-6)
    for b in range(4):
        assert torch.equal(crops[b], F.crop(x[b], int(top[b]), int(left[b]), 5, 6))
        affine = F.affine(x[b], angle=0.0, translate=[int(tx[b]), int(ty[b])], scale=1.0, shear=[0.0, 0.0])
        assert torch.equal(shifted[b], affine)


@pytest.mark.parametrize(
    "ours,theirs",
    [
        (_brightness, F.adjust_brightness),
        (_contrast, F.adjust_contrast),
        (_saturation, F.adjust_saturation),
        (_hue, F.adjust_hue),
    ],
)
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_colour_ops_with_per_sample_factors_equal_v2(ours, theirs, dtype):
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (8, 3, 6, 7), generator=g, dtype=torch.uint8)
    x = x if dtype == torch.uint8 else x.float() / 255
    f = torch.linspace(-0.45, 0.45, 8) if ours is _hue else torch.linspace(0.2, 1.8, 8)
    out = ours(x, f)
    for b in range(8):
        ref = theirs(x[b], float(f[b]))
        # float rounding of (1 - ratio) differs in the last bit, which can move a uint8 truncation by one level
        assert (out[b].double() - ref.double()).abs().max() <= (1 if dtype == torch.uint8 else 1e-5)


# -- the same distributions -------------------------------------------------------------------------


def test_random_crop_offsets_are_uniform_like_v2():
    x0 = ramp(8, 8)
    batched, single = both(make_step("RandomCrop", size=8, padding=2), x0)

    # Where did source pixel (0, 0) (value 1) land? That is (top, left) reversed through the padding.
    def offsets(out):
        pos = (out[:, 0] == 1).flatten(1).float().argmax(1)
        found = (out[:, 0] == 1).flatten(1).any(1)
        return torch.where(found, pos, torch.full_like(pos, -1))  # -1: cropped away

    hb, hs = torch.bincount(offsets(batched) + 1, minlength=65), torch.bincount(offsets(single) + 1, minlength=65)
    assert hb.sum() == hs.sum() == N
    # 25 offsets equally likely: source (0, 0) lands at (2 - top, 2 - left) for top, left in 0..4
    for counts in (hb, hs):
        visible = counts[1:].view(8, 8)[:3, :3] / N  # landing spots (0..2, 0..2)
        assert torch.allclose(visible, torch.tensor([[1.0, 1, 1], [1, 1, 1], [1, 1, 1]]) / 25, atol=0.012)
    assert (hb - hs).abs().max() / N < 0.02


@pytest.mark.parametrize("name", ["RandomHorizontalFlip", "RandomVerticalFlip"])
@pytest.mark.parametrize("p", [0.2, 0.5])
def test_flip_rate_is_p_like_v2(name, p):
    x0 = ramp(4, 4)
    batched, single = both(make_step(name, p=p), x0)
    dim = -1 if "Horizontal" in name else -2
    for out in (batched, single):
        flipped = (out == x0.flip(dim)).flatten(1).all(1).float().mean().item()
        assert abs(flipped - p) < 0.03


def test_translation_draws_match_v2():
    x0 = torch.zeros(1, 21, 31, dtype=torch.uint8)
    x0[0, 10, 15] = 255
    batched, single = both(make_step("RandomAffine", degrees=0, translate=[0.2, 0.1]), x0)

    def shifts(out):
        pos = out[:, 0].flatten(1).argmax(1)
        return (pos % 31 - 15).numpy(), (pos // 31 - 10).numpy()

    (bx, by), (sx, sy) = shifts(batched), shifts(single)
    assert set(np.unique(bx)) == set(np.unique(sx)) == set(range(-6, 7))  # round(U(-6.2, 6.2))
    assert ks(bx, sx) < KS_LIMIT and ks(by, sy) < KS_LIMIT


def test_color_jitter_order_is_a_uniform_permutation_per_sample():
    order, factors = jitter_params(torch.zeros(24_000, 3, 1, 1), [(0.5, 1.5), None, (0.0, 2.0), (-0.1, 0.1)])
    codes = (order * torch.tensor([64, 16, 4, 1])).sum(1)  # each permutation as one number
    counts = torch.bincount(codes, minlength=256)
    counts = counts[counts > 0]
    assert len(counts) == 24 and (counts.float() / 24_000 - 1 / 24).abs().max() < 0.006  # all 24 orders, equally often
    assert factors[1] is None and 0.5 <= factors[0].min() and factors[0].max() <= 1.5
    assert abs(factors[2].mean().item() - 1.0) < 0.02 and abs(factors[3].mean().item()) < 0.002


def test_color_jitter_with_given_draws_equals_v2s_transform():
    # Clipping makes the order matter: bright pixels pushed past 255 before a contrast change.
    g = torch.Generator().manual_seed(4)
    x = (torch.rand(24, 3, 5, 6, generator=g) * 120 + 135).to(torch.uint8)
    t = v2.ColorJitter(brightness=0.8, contrast=0.8, saturation=0.8, hue=0.2)
    order, factors = jitter_params(x, [t.brightness, t.contrast, t.saturation, t.hue])
    ours = jitter_apply(x, order, factors)
    names = ("brightness_factor", "contrast_factor", "saturation_factor", "hue_factor")
    reordered = 0
    for b in range(24):
        params = {"fn_idx": order[b].tolist(), **{n: float(f[b]) for n, f in zip(names, factors)}}
        ref = t.transform(x[b], params)
        assert torch.equal(ours[b], ref)
        fixed = t.transform(x[b], {**params, "fn_idx": [0, 1, 2, 3]})
        reordered += int((fixed.int() - ref.int()).abs().max() > 1)
    assert reordered >= 12  # on these pixels the order really changes the result


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
@pytest.mark.parametrize(
    "kw",
    [dict(brightness=0.8, contrast=0.8, saturation=0.8, hue=0.2), dict(saturation=0.9), dict(contrast=0.9)],
    ids=["all four", "saturation", "contrast"],
)
def test_color_jitter_arithmetic_is_exactly_v2s_on_every_sample(kw, dtype):
    # The blends of contrast and saturation: v2 adds with alpha (one rounding), which a two-step
    # ``other * (1 - r)`` missed by one uint8 level on about 3% of samples.
    g = torch.Generator().manual_seed(5)
    x = (torch.rand(512, 3, 8, 8, generator=g) * 255).to(torch.uint8)
    x = x if dtype == torch.uint8 else x.float() / 255
    t = v2.ColorJitter(**kw)
    order, factors = jitter_params(x, [t.brightness, t.contrast, t.saturation, t.hue])
    ours = jitter_apply(x, order, factors)
    names = ("brightness_factor", "contrast_factor", "saturation_factor", "hue_factor")
    differ = 0
    for b in range(x.shape[0]):
        params = {
            "fn_idx": order[b].tolist(),
            **{n: None if f is None else float(f[b]) for n, f in zip(names, factors)},
        }
        differ += int(not torch.equal(ours[b], t.transform(x[b], params)))
    assert differ == 0, f"{differ} of 512 samples differ from v2"


def test_color_jitter_outputs_are_distributed_like_v2():
    g = torch.Generator().manual_seed(1)
    x0 = (torch.rand(3, 6, 6, generator=g) * 200 + 30).to(torch.uint8)
    batched, single = both(make_step("ColorJitter", brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1), x0, n=2000)
    for c in range(3):  # per-channel mean and one pixel: the random order and all four factors shape these
        assert ks(batched[:, c].float().mean((1, 2)), single[:, c].float().mean((1, 2))) < 1.95 * np.sqrt(2 / 2000)
        assert ks(batched[:, c, 2, 3].float(), single[:, c, 2, 3].float()) < 1.95 * np.sqrt(2 / 2000)


def test_random_erasing_area_and_rate_match_v2():
    x0 = torch.full((3, 16, 16), 200, dtype=torch.uint8)
    batched, single = both(make_step("RandomErasing", p=0.6, scale=[0.05, 0.3]), x0, tail=())
    area_b = (batched[:, 0] == 0).flatten(1).float().mean(1)
    area_s = (single[:, 0] == 0).flatten(1).float().mean(1)
    assert abs((area_b > 0).float().mean() - 0.6) < 0.03 and abs((area_s > 0).float().mean() - 0.6) < 0.03
    assert ks(area_b[area_b > 0], area_s[area_s > 0]) < 2.5 * np.sqrt(2 / (0.6 * N))
    rows_b = (batched[:, 0] == 0).any(2).float().argmax(1)[area_b > 0]  # first erased row: the box position
    rows_s = (single[:, 0] == 0).any(2).float().argmax(1)[area_s > 0]
    assert ks(rows_b, rows_s) < 2.5 * np.sqrt(2 / (0.6 * N))


def test_gaussian_blur_sigma_draws_match_v2():
    x0 = torch.zeros(1, 9, 9, dtype=torch.float32)
    x0[0, 4, 4] = 1.0  # an impulse: the output centre is the kernel's peak, a monotone function of sigma
    batched, single = both(make_step("GaussianBlur", kernel_size=5, sigma=[0.3, 2.0]), x0, n=1500)
    assert ks(batched[:, 0, 4, 4], single[:, 0, 4, 4]) < 1.95 * np.sqrt(2 / 1500)


@pytest.mark.parametrize(
    "name,kw",
    [
        ("RandomGrayscale", {"p": 0.3}),
        ("RandomInvert", {"p": 0.3}),
        ("RandomPosterize", {"bits": 2, "p": 0.3}),
        ("RandomSolarize", {"threshold": 100.0, "p": 0.3}),
        ("RandomAutocontrast", {"p": 0.3}),
        ("RandomEqualize", {"p": 0.3}),
        ("RandomAdjustSharpness", {"sharpness_factor": 3.0, "p": 0.3}),
    ],
)
def test_random_apply_steps_apply_with_probability_p_and_the_same_result(name, kw):
    g = torch.Generator().manual_seed(2)
    x0 = (torch.rand(3, 16, 16, generator=g) ** 2 * 150 + 40).to(torch.uint8)  # skewed: equalize has work to do
    batched, single = both(make_step(name, **kw), x0, n=2000)
    changed = [(out != x0).flatten(1).any(1).float().mean().item() for out in (batched, single)]
    assert all(abs(c - 0.3) < 0.035 for c in changed)
    applied_b = batched[(batched != x0).flatten(1).any(1)]
    applied_s = single[(single != x0).flatten(1).any(1)]
    assert torch.equal(applied_b[0], applied_s[0])  # the transformed image itself is identical


def test_gaussian_noise_has_the_same_spread():
    x0 = torch.full((3, 8, 8), 0.5)
    batched, single = both(make_step("GaussianNoise", sigma=0.1), x0, n=500)
    assert abs((batched - 0.5).std().item() - 0.1) < 0.005 and abs((single - 0.5).std().item() - 0.1) < 0.005


def test_cifar_pipeline_end_to_end_matches_v2_statistics():
    g = torch.Generator().manual_seed(3)
    x0 = torch.randint(0, 256, (3, 32, 32), generator=g, dtype=torch.uint8)
    batched, single = both(load_pipeline("cifar")["steps"][0], x0, n=1500, tail=load_pipeline("cifar")["steps"][1:])
    assert batched.shape == single.shape == (1500, 3, 32, 32) and batched.dtype == single.dtype == torch.float32
    # Per-pixel means over the draws agree as closely as two independent v2 runs do (measured: max 0.16,
    # mean 0.037 apart); a wrong offset distribution or flip rate would move whole regions.
    diff = (batched.mean(0) - single.mean(0)).abs()
    assert diff.max() < 0.25 and diff.mean() < 0.05
    assert abs(batched.mean().item() - single.mean().item()) < 0.01


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_runs_on_the_gpu_it_is_given():
    aug = batch_augmenter(
        spec_of(
            make_step("RandomCrop", size=32, padding=4),
            make_step("RandomHorizontalFlip"),
            make_step("ColorJitter", brightness=0.2, contrast=0.2, saturation=0.2, hue=0.05),
            make_step("RandomAffine", degrees=0, translate=[0.1, 0.1]),
            make_step("GaussianBlur", kernel_size=3),
            make_step("ToTensor"),
            make_step("Normalize"),
            make_step("RandomErasing", p=0.5),
        ),
        "cuda",
    )
    x = torch.randint(0, 256, (512, 3, 32, 32), dtype=torch.uint8, device="cuda")
    y = aug(x)
    assert y.device.type == "cuda" and y.shape == (512, 3, 32, 32) and y.dtype == torch.float32
    assert not torch.isnan(y).any()
    flips = batch_augmenter(spec_of(make_step("RandomHorizontalFlip", p=0.25)), "cuda")(x)
    rate = (flips != x).flatten(1).any(1).float().mean().item()
    assert abs(rate - 0.25) < 0.06
