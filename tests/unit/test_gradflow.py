"""Plain vs residual at depth 32: the vanishing gradient is measured, not told."""

import pytest
import torch

from playground.gradflow import DEPTHS, GradFlowConfig, build_pair, run_study, weight_layers


@pytest.fixture(scope="module")
def toy_data():
    # Four classes decided by the mean of two colour channels: learnable, and cheap.
    g = torch.Generator().manual_seed(0)
    x = torch.randn(256, 3, 32, 32, generator=g)
    y = (x[:, 0].mean((1, 2)) > 0).long() + 2 * (x[:, 1].mean((1, 2)) > 0).long()
    return x, y


def test_twins_start_identical_and_differ_only_in_the_skips(toy_data):
    pair = build_pair(GradFlowConfig(depth=14), num_classes=4, in_channels=3)
    sd_p, sd_r = pair["plain"].state_dict(), pair["residual"].state_dict()
    assert sd_p.keys() == sd_r.keys() and all(torch.equal(sd_p[k], sd_r[k]) for k in sd_p)
    x = toy_data[0][:2]
    assert not torch.allclose(pair["plain"](x), pair["residual"](x))  # the skips change the function
    assert len(weight_layers(pair["plain"])) == 14  # 13 convs + the fc: depth counts weight layers


def test_depth_32_gradients_vanish_without_skips_and_flow_with_them(toy_data):
    x, y = toy_data
    cfg = GradFlowConfig(depth=32, steps=3, batch_size=16, record_steps=[0, 2])
    result = run_study(cfg, x, y, num_classes=4)
    assert len(result.layer_names) == 32
    for step in (0, 2):
        plain, residual = result.first_to_last("plain", step), result.first_to_last("residual", step)
        # Residual: the first layer gets a gradient of the same order as the last one.
        assert residual > 1e-2
        # Plain: it gets a vanishing fraction, many orders of magnitude less.
        assert plain < 1e-6 and residual / plain > 1e5
    assert len(result.losses["plain"]) == len(result.losses["residual"]) == 3


def test_bad_settings_are_explained():
    with pytest.raises(ValueError, match="not 6n\\+2"):
        GradFlowConfig(depth=30).validate()
    with pytest.raises(ValueError, match="outside the run"):
        GradFlowConfig(steps=5, record_steps=[0, 9]).validate()
    assert DEPTHS[0] == 8 and DEPTHS[-1] == 56
