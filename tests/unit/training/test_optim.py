"""Optimisers and schedules as registries, against PyTorch's own optimisers and schedulers.
Registry-driven: every registered name is covered, so a new one is tested the moment it is added."""

from __future__ import annotations

import pytest
import torch

from playground.training.loop import TrainConfig
from playground.training.optim import (
    OPTIMIZER_REGISTRY,
    OPTIMIZERS,
    SCHEDULE_REGISTRY,
    SCHEDULES,
    lr_factor,
    make_optimizer,
)


def test_the_menus_list_the_registries_in_order():
    assert OPTIMIZERS == tuple(OPTIMIZER_REGISTRY.names()) == ("sgd", "adam", "adamw")
    assert SCHEDULES == tuple(SCHEDULE_REGISTRY.names()) == ("constant", "step", "cosine", "onecycle")


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_every_optimizer_is_the_torch_one_with_the_configs_settings(name):
    cfg = TrainConfig(optimizer=name, lr=0.03, weight_decay=1e-4, momentum=0.9, nesterov=True)
    opt = make_optimizer(cfg, [torch.nn.Parameter(torch.zeros(2))])
    assert type(opt) is {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[name]
    assert opt.defaults["lr"] == 0.03 and opt.defaults["weight_decay"] == 1e-4
    if name == "sgd":
        assert opt.defaults["momentum"] == 0.9 and opt.defaults["nesterov"]
        no_momentum = make_optimizer(TrainConfig(optimizer="sgd", momentum=0.0, nesterov=True), opt.param_groups)
        assert not no_momentum.defaults["nesterov"]  # torch refuses Nesterov without momentum


@pytest.mark.parametrize("name", SCHEDULES)
def test_every_schedule_starts_at_the_peak_or_warms_up_and_stays_in_range(name):
    factors = [lr_factor(name, s, 50) for s in range(-1, 52)]
    assert all(0 <= f <= 1 for f in factors)
    assert factors[1] == (pytest.approx(1 / 25) if name == "onecycle" else 1.0)
    assert lr_factor(name, 7, 50) == SCHEDULE_REGISTRY.get(name)(7, 50)


@pytest.mark.parametrize(
    "name, scheduler",
    [
        ("step", lambda opt: torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[50, 75], gamma=0.1)),
        ("cosine", lambda opt: torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=100)),
    ],
)
def test_schedules_match_torchs_schedulers(name, scheduler):
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched, expected = scheduler(opt), []
    for _ in range(101):
        expected.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert [lr_factor(name, s, 100) for s in range(101)] == pytest.approx(expected, abs=1e-12)


def test_unknown_names_list_the_choices():
    with pytest.raises(ValueError, match=r"Unknown optimizer 'rmsprop'\. Choose one of: sgd, adam, adamw\."):
        make_optimizer(TrainConfig(optimizer="rmsprop"), [torch.nn.Parameter(torch.zeros(1))])
    with pytest.raises(ValueError, match=r"Unknown optimizer 'rmsprop'\. Choose one of: sgd, adam, adamw\."):
        TrainConfig(optimizer="rmsprop").validate()
    with pytest.raises(
        ValueError, match=r"Unknown schedule 'warp'\. Choose one of: constant, step, cosine, onecycle\."
    ):
        lr_factor("warp", 0, 10)


def test_a_taken_name_is_refused():
    with pytest.raises(ValueError, match="The optimizer 'adam' is already registered"):
        OPTIMIZER_REGISTRY.register("adam", OPTIMIZER_REGISTRY.get("adamw"))
    with pytest.raises(ValueError, match="The schedule 'cosine' is already registered"):
        SCHEDULE_REGISTRY.register("cosine", lambda step, total: 1.0)
    assert len(OPTIMIZER_REGISTRY) == 3 and len(SCHEDULE_REGISTRY) == 4
