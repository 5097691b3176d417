"""Plain vs residual at depth 32: the vanishing gradient is measured, not told."""

import pytest
import torch

from playground.labs.gradients import (
    DEPTHS,
    LRS,
    STEP_CHOICES,
    GradFlowConfig,
    build_pair,
    clamp_config,
    run_study,
    weight_layers,
)


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


def test_study_data_is_standardised_and_capped():
    from playground.labs.gradients import study_data

    x, y, classes = study_data(GradFlowConfig(dataset="digits", samples=500))
    assert x.shape == (500, 1, 8, 8) and y.shape == (500,) and classes == [str(d) for d in range(10)]
    assert abs(float(x.mean())) < 0.1 and abs(float(x.std()) - 1) < 0.1
    x, y, classes = study_data(GradFlowConfig(dataset="shapes", samples=64))
    assert x.shape == (64, 3, 32, 32) and len(classes) == 10
    with pytest.raises(ValueError, match="Unknown dataset 'cifar10'"):
        GradFlowConfig(dataset="cifar10").validate()


def test_the_pages_default_study_the_residual_net_learns_and_the_plain_one_does_not():
    # What the page shows by default (depth 32, digits): the loss curves tell the gradients' story.
    from playground.labs.gradients import study_data

    cfg = GradFlowConfig(steps=40, record_steps=[0, 39])
    x, y, classes = study_data(cfg)
    result = run_study(cfg, x, y, len(classes))
    plain, residual = result.losses["plain"], result.losses["residual"]
    # The README quotes these figures: python -m pytest tests/unit/labs/test_gradients.py -k default_study -s
    print(
        f"depth 32, digits, 40 steps: first/last gradient plain {result.first_to_last('plain', 39):.1e}, "
        f"residual {result.first_to_last('residual', 39):.2f}; loss (mean of the last 5 steps) plain "
        f"{sum(plain[-5:]) / 5:.2f}, residual {sum(residual[-5:]) / 5:.2f}, from {plain[0]:.2f} at step 0"
    )
    assert sum(residual[-5:]) / 5 < 1.5 < 2.2 < sum(plain[-5:]) / 5  # chance is ln 10 = 2.30
    assert result.first_to_last("plain", 39) < 1e-6 < 1e-2 < result.first_to_last("residual", 39)


def test_gradient_figures_share_a_log_axis_and_leave_gaps_for_underflow():
    from playground.viz import gradients as viz

    norms = {"plain": {0: [0.0, 1e-9, 1.0]}, "residual": {0: [0.5, 0.7, 1.0]}}
    fig = viz.grad_norms(["conv1", "layer1.0.conv1", "fc"], norms)
    assert fig.layout.yaxis.type == fig.layout.yaxis2.type == "log" and fig.layout.yaxis2.matches == "y"
    assert list(fig.data[0].y) == [None, 1e-9, 1.0]  # a gradient that underflowed to 0 is a gap, not -inf
    loss = viz.loss_curves({"plain": [2.3, 2.3, 2.3], "residual": [2.3, 1.0, 0.5]}, smooth=2)
    assert [t.name for t in loss.data if t.showlegend is not False] == [viz.TITLES["plain"], viz.TITLES["residual"]]
    assert list(loss.data[3].y) == [2.3, 1.65, 0.75]  # the running mean


def test_clamp_config_turns_any_link_into_a_runnable_study_and_says_what_changed():
    hostile = GradFlowConfig(depth=30, steps=7, lr=99.0, record_steps=[0, 500, "x"], seed=-1, dataset="imagenet")
    cfg, problems = clamp_config(hostile)
    cfg.validate()  # raises if the page could not run it
    assert (cfg.depth, cfg.steps, cfg.lr, cfg.dataset, cfg.seed) == (32, 10, 0.2, "digits", 0)
    assert cfg.record_steps == [0]
    assert len(problems) == 6 and all("is not available" in p for p in problems)
    # What the page itself offers passes through untouched.
    fine = GradFlowConfig(depth=DEPTHS[0], steps=STEP_CHOICES[0], lr=LRS[0], record_steps=[0, 9])
    assert clamp_config(fine) == (fine, [])
