"""Kernels on real photos and the translation-invariance study."""

import pytest
import torch
import torch.nn.functional as F

from playground.common.images import load_sample, to_tensor
from playground.labs import conv as kernels
from playground.models.arithmetic import ConvSpec, LayerError, PoolSpec


@pytest.fixture(scope="module")
def cat():
    return to_tensor(load_sample("chelsea.png", max_side=256).image, gray=True)  # (1, H, W)


def test_every_preset_is_registered_with_a_label_and_builds_any_size():
    assert set(kernels.KERNELS.names()) == set(kernels.KERNEL_LABELS)
    for name in kernels.KERNELS.names():
        for size in ((3, 3), (5, 5), (2, 4)):
            assert kernels.make_kernel(name, size, seed=1).shape == size
    with pytest.raises(ValueError, match="Choose one of: identity"):
        kernels.make_kernel("blurry", (3, 3))


def test_identity_copies_box_averages_and_gaussian_sums_to_one(cat):
    same = ConvSpec(1, 3, 1, 1)
    assert torch.allclose(kernels.conv_with_kernel(cat, kernels.make_kernel("identity", (3, 3)), same), cat[0])
    box = kernels.conv_with_kernel(cat, kernels.make_kernel("box_blur", (3, 3)), ConvSpec(1, 3, 1, 0))
    assert torch.isclose(box[10, 10], cat[0, 10:13, 10:13].mean())
    assert torch.isclose(kernels.make_kernel("gaussian", (5, 5)).sum(), torch.tensor(1.0))


def test_sobel_x_finds_a_vertical_edge_and_sobel_y_does_not():
    img = torch.zeros(1, 16, 16)
    img[:, :, 8:] = 1.0  # dark left half, bright right half: one vertical edge
    spec = ConvSpec(1, 3, 1, 0)
    gx = kernels.conv_with_kernel(img, kernels.make_kernel("sobel_x", (3, 3)), spec)
    gy = kernels.conv_with_kernel(img, kernels.make_kernel("sobel_y", (3, 3)), spec)
    assert gx.abs().max() == 4 and gy.abs().max() == 0
    assert set(torch.nonzero(gx)[:, 1].tolist()) == {6, 7}  # output columns whose window straddles the edge


@pytest.mark.parametrize(
    "spec",
    [
        ConvSpec(1, 3, 2, 1, (2, 1), padding_mode="reflect"),
        ConvSpec(1, 4, 1, "same"),
        ConvSpec(1, (3, 5), 1, "same", padding_mode="circular"),
    ],
)
def test_conv_with_kernel_equals_a_real_conv_layer(cat, spec):
    k = kernels.make_kernel("random", spec.kernel, seed=3)
    layer = torch.nn.Conv2d(
        1, 1, spec.kernel, spec.stride, spec.padding, spec.dilation, bias=False, padding_mode=spec.padding_mode
    )
    layer.weight.data = k.reshape(1, 1, *k.shape)
    expected = layer(cat.unsqueeze(0))[0, 0]
    assert torch.allclose(kernels.conv_with_kernel(cat, k, spec), expected, atol=1e-5)


def test_pool_map_matches_pytorch_and_explains_a_misfit(cat):
    fmap = cat[0]
    out = kernels.pool_map(fmap, PoolSpec("max", 3, 2, 1, ceil_mode=True))
    assert torch.equal(out, F.max_pool2d(fmap[None, None], 3, 2, 1, ceil_mode=True)[0, 0])
    with pytest.raises(LayerError, match="does not fit"):
        kernels.pool_map(torch.zeros(2, 2), PoolSpec("avg", 3))


def test_pooling_makes_small_shifts_matter_less_and_conv_is_equivariant(cat):
    results = kernels.translation_study(
        cat, kernels.make_kernel("sobel_x", (3, 3)), ConvSpec(1, 3, 1, 1), PoolSpec("max", 2), 4
    )
    assert [r.shift for r in results] == [0, 1, 2, 3, 4]
    assert results[0].conv_change == results[0].pooled_change == 0
    one = results[1]
    assert one.pooled_change < one.conv_change  # what the page tells the user
    assert all(r.conv_change_aligned < 1e-5 for r in results)  # shifted input -> shifted output


def test_translation_study_explains_a_too_small_image():
    with pytest.raises(LayerError, match="too small to shift"):
        kernels.translation_study(torch.zeros(1, 10, 10), torch.ones(3, 3), ConvSpec(1, 3), PoolSpec("max", 2), 6)


def test_a_typed_kernel_grid_becomes_a_kernel_with_empty_cells_as_zero():
    import numpy as np

    cells = np.array([[1.0, float("nan")], [0.5, -2.0]], dtype="float32")
    cells.setflags(write=False)  # as a data editor's frame hands it over
    k = kernels.kernel_from_cells(cells)
    assert k.dtype == torch.float32 and k.tolist() == [[1.0, 0.0], [0.5, -2.0]]


def test_a_big_kernel_filters_a_smaller_photo_within_the_work_budget():
    from playground.labs.conv import PHOTO_CONV_MACS, PHOTO_SIDE, photo_side

    assert photo_side((3, 3)) == PHOTO_SIDE
    side = photo_side((64, 64))
    assert side < PHOTO_SIDE and side * side * 64 * 64 <= PHOTO_CONV_MACS
