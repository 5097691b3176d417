"""Conv/pool arithmetic: the article's numbers, formulas, costs and the explained errors."""

import pytest
import torch
import torch.nn as nn

from playground.models.arithmetic import (
    ConvSpec,
    LayerError,
    PoolSpec,
    analyse_chain,
    analyse_layer,
    chain_to_sequential,
    fc_equivalent_params,
    spec_from_dict,
    spec_to_dict,
    stacked_vs_single,
)


def _out(spec, shape):
    rep = analyse_layer(spec, shape)
    assert rep.error is None, rep.error
    return rep


@pytest.mark.parametrize("stride, expected", [(1, (4, 16, 32, 32)), (2, (4, 16, 16, 16))])
def test_article_examples_come_out_exactly(stride, expected):
    # The article: Conv2d(3, 16, kernel_size=3, stride, padding=1) on torch.randn(4, 3, 32, 32).
    rep = _out(ConvSpec(16, 3, stride, 1), (4, 3, 32, 32))
    assert rep.out_shape == expected
    assert tuple(nn.Conv2d(3, 16, 3, stride=stride, padding=1)(torch.randn(4, 3, 32, 32)).shape) == expected
    assert rep.label == f"Conv2d(3, 16, kernel_size=3, stride={stride}, padding=1)"


def test_params_and_macs_match_pytorch_and_hand_count():
    spec = ConvSpec(16, 3, 1, 1)
    rep = _out(spec, (4, 3, 32, 32))
    assert rep.params == sum(p.numel() for p in nn.Conv2d(3, 16, 3, padding=1).parameters()) == 448
    assert rep.macs == 16 * 32 * 32 * 3 * 3 * 3  # per image: every output value is 27 multiply-adds
    grouped = _out(ConvSpec(8, (3, 5), groups=4, padding=(1, 2), bias=False), (1, 8, 10, 10))
    assert grouped.params == sum(p.numel() for p in nn.Conv2d(8, 8, (3, 5), groups=4, bias=False).parameters())


def test_fully_connected_equivalent_shows_weight_sharing():
    rep = _out(ConvSpec(16, 3, 1, 1), (4, 3, 32, 32))
    n_in, n_out = 3 * 32 * 32, 16 * 32 * 32
    assert (
        rep.fc_params
        == n_in * n_out + n_out
        == sum(p.numel() for p in nn.Linear(n_in, n_out, device="meta").parameters())
    )
    assert rep.fc_params / rep.params > 100_000  # "orders of magnitude more efficient"
    assert fc_equivalent_params((1, 2, 2, 2), (1, 1, 1, 1), bias=False) == 8


def test_formula_shows_the_users_numbers():
    rep = _out(ConvSpec(16, 3, 2, 1), (4, 3, 32, 32))
    assert rep.formulas[0] == "H_out = ⌊(H_in + 2·p − d·(k−1) − 1) / s⌋ + 1 = ⌊(32 + 2·1 − 1·(3−1) − 1) / 2⌋ + 1 = 16"
    same = _out(ConvSpec(4, 4, 1, "same", dilation=1), (1, 1, 9, 9))
    assert "padding='same' pads d·(k−1) = 1·(4−1) = 3 in total (1 before, 2 after)" in same.formulas[0]


def test_ceil_mode_formula_explains_the_dropped_window():
    # 5 wide, kernel 3, stride 3, padding 1: ceil gives 3 windows, but the third would start in the padding.
    rep = _out(PoolSpec("max", 3, 3, 1, ceil_mode=True), (1, 1, 5, 5))
    assert rep.out_shape == tuple(nn.MaxPool2d(3, 3, 1, ceil_mode=True)(torch.zeros(1, 1, 5, 5)).shape) == (1, 1, 2, 2)
    assert "⌈" in rep.formulas[0] and "PyTorch drops it" in rep.formulas[0]
    up = _out(PoolSpec("max", 2, 2, ceil_mode=True), (1, 1, 5, 5))
    assert up.out_shape[2:] == (3, 3)


@pytest.mark.parametrize(
    "spec, shape, words",
    [
        (ConvSpec(4, 7), (1, 3, 5, 5), "the kernel spans 7 pixels but the padded input height is only 5 + 0 = 5"),
        (ConvSpec(4, 3, dilation=3), (1, 3, 5, 5), "dilation 3 stretches the 3-tap kernel to span 7"),
        (
            ConvSpec(4, 3, groups=2),
            (1, 3, 8, 8),
            "groups=2 does not divide the 3 input channels. Choose groups among 1, 3",
        ),
        (ConvSpec(3, 3, groups=2), (1, 4, 8, 8), "Make out_channels a multiple of 2"),
        (ConvSpec(4, 3, 2, "same"), (1, 3, 8, 8), "padding='same' only works with stride 1"),
        (
            ConvSpec(4, 3, 1, 5, padding_mode="reflect"),
            (1, 3, 5, 5),
            "reflect padding of 5 needs an input height above 5",
        ),
        (ConvSpec(4, 3, 1, 6, padding_mode="circular"), (1, 3, 5, 5), "wrap around the 5-pixel height more than once"),
        (PoolSpec("max", 3, padding=2), (1, 3, 8, 8), "padding 2 is more than half the kernel size 3"),
        (PoolSpec("avg", 6), (1, 3, 5, 5), "output would be 0x0"),
        (ConvSpec(0, 3), (1, 3, 8, 8), "out_channels must be at least 1"),
    ],
)
def test_rejections_are_explained_with_a_fix(spec, shape, words):
    rep = analyse_layer(spec, shape)
    assert rep.out_shape is None
    assert words in rep.error
    with pytest.raises((RuntimeError, ValueError)):  # and PyTorch does reject it
        from playground.models.arithmetic import to_module

        to_module(spec, shape[1])(torch.zeros(shape))


def test_chain_stops_at_the_layer_that_breaks():
    layers = [ConvSpec(8, 3, 1, 1), PoolSpec("max", 2), PoolSpec("max", 2), ConvSpec(8, 5), ConvSpec(8, 3)]
    reports = analyse_chain((1, 3, 16, 16), layers)
    assert [r.out_shape for r in reports[:3]] == [(1, 8, 16, 16), (1, 8, 8, 8), (1, 8, 4, 4)]
    assert len(reports) == 4 and reports[3].error and "padded input height is only 4" in reports[3].error
    with pytest.raises(LayerError, match="Layer 4"):
        chain_to_sequential((1, 3, 16, 16), layers)


def test_chain_matches_a_real_sequential_forward():
    layers = [
        ConvSpec(8, 5, 2, 2),
        PoolSpec("max", 3, 2, 1, ceil_mode=True),
        ConvSpec(16, (3, 1), 1, "same", dilation=2),
        PoolSpec("avg", 2),
    ]
    shape = (2, 3, 37, 29)
    reports = analyse_chain(shape, layers)
    model = chain_to_sequential(shape, layers)
    x = torch.randn(shape)
    for rep, layer in zip(reports, model):
        x = layer(x)
        assert tuple(x.shape) == rep.out_shape
    assert sum(r.params for r in reports) == sum(p.numel() for p in model.parameters())


def test_vgg_argument_two_3x3_against_one_5x5():
    res = stacked_vs_single(channels=64, hw=(32, 32))
    assert res["big_kernel"] == 5
    assert res["stacked"][-1].receptive_field == res["single"][-1].receptive_field == (5, 5)
    assert res["stacked_params"] == 2 * (64 * 64 * 9 + 64)
    assert res["single_params"] == 64 * 64 * 25 + 64
    assert res["stacked_params"] < res["single_params"]
    assert stacked_vs_single(16, (16, 16), n_small=3)["single"][-1].receptive_field == (7, 7)


def test_spec_dict_round_trip_and_avg_pool_has_no_dilation():
    for spec in (ConvSpec(8, (3, 5), (1, 2), "same", (2, 1), 2, False, "reflect"), PoolSpec("max", 3, 2, 1, 2, True)):
        assert spec_from_dict(spec_to_dict(spec)) == spec
    assert PoolSpec("avg", 2, dilation=3).dilation == (1, 1)
    with pytest.raises(LayerError, match="Unknown layer kind"):
        spec_from_dict({"kind": "dense"})
