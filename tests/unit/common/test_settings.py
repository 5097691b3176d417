"""The config protocol: one ``setting`` declaration per field drives validation, link clamping, the URL
round trip, widget bounds and command-line flags."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, fields

import pytest

from playground.common import settings
from playground.common.settings import add_flags, fit, flag_values, setting, setting_of
from playground.common.urlstate import from_query, to_query


@dataclass
class Knobs:
    size: int = setting(32, lo=1, hi=128, flag=True, help="side in pixels")
    rate: float = setting(0.1, lo=0.0, lo_open=True, hi=10.0, page_hi=1.0, flag=True, help="how fast")
    stops: int = setting(20, lo=1, hi=500, page_choices=(10, 20, 40))
    kind: str = setting("max", choices=("max", "avg"), flag=True)
    seed: int = setting(0, page_lo=0, page_hi=99, reset=True)
    tags: list = setting(factory=lambda: ["a"], check=lambda v: all(isinstance(t, str) for t in v))
    on: bool = setting(False, flag=True)


def test_a_link_value_above_a_fields_max_is_clamped_to_it_with_a_sentence():
    cfg, problems = from_query(Knobs, {"size": "5000"})
    assert cfg.size == 128
    assert problems == ["The link's size = 5000 is not available (between 1 and 128); using 128."]
    cfg, problems = from_query(Knobs, {"size": "0", "rate": "0"})
    assert cfg.size == 1 and cfg.rate == 0.1  # an open bound cannot be clamped onto: the default
    assert len(problems) == 2


def test_links_use_what_the_page_offers_and_names_outside_the_choices_reset():
    cfg, problems = from_query(Knobs, {"rate": "5", "stops": "33", "kind": "lp", "seed": "-4", "tags": "[1]"})
    # rate: valid up to 10, the page offers up to 1; stops: snapped to the nearest stop; seed: reset=True.
    assert (cfg.rate, cfg.stops, cfg.kind, cfg.seed, cfg.tags) == (1.0, 40, "max", 0, ["a"])
    assert len(problems) == 5 and all(p.startswith("The link's ") for p in problems)


def test_url_round_trip_of_usable_values_is_exact():
    cfg = Knobs(size=64, rate=0.5, stops=10, kind="avg", seed=7, tags=["x", "y"], on=True)
    back, problems = from_query(Knobs, to_query(cfg))
    assert back == cfg and problems == []
    assert fit(cfg) == (cfg, [])


def test_fit_pulls_a_config_built_anywhere_into_range():
    cfg, problems = fit(Knobs(size=-3, kind="lp", tags=[3]))
    assert (cfg.size, cfg.kind, cfg.tags) == (1, "max", ["a"]) and len(problems) == 3


def test_validation_checks_what_the_core_accepts_not_what_the_page_offers():
    settings.validate(Knobs(rate=5.0, stops=300))  # beyond the page's offer, within what is valid
    assert settings.problems(Knobs(size=0)) == ["Size must be between 1 and 128, not 0."]
    assert settings.problems(Knobs(rate=0.0)) == ["Rate must be in (0, 10], not 0."]
    assert settings.problems(Knobs(kind="lp")) == ["Unknown kind 'lp'. Choose one of: max, avg."]
    assert settings.problems(Knobs(size="big")) == ["Size must be a whole number, not 'big'."]
    with pytest.raises(ValueError, match="Size must be between 1 and 128"):
        settings.validate(Knobs(size=500))


def test_widget_bounds_come_from_the_declaration():
    s = setting_of(Knobs, "rate")
    assert s.offered_range() == (0.0, 1.0) and s.valid_range() == (0.0, 10.0)
    assert setting_of(Knobs, "stops").offered_choices() == (10, 20, 40)
    assert setting_of(Knobs, "kind").offered_choices() == ("max", "avg")


def test_flags_are_generated_with_type_choices_help_and_default():
    parser = argparse.ArgumentParser()
    add_flags(parser, Knobs)
    assert flag_values(Knobs, parser.parse_args([])) == {"size": 32, "rate": 0.1, "kind": "max", "on": False}
    args = parser.parse_args(["--size", "64", "--kind", "avg", "--on"])
    assert Knobs(**flag_values(Knobs, args)) == Knobs(size=64, kind="avg", on=True)
    text = parser.format_help()
    assert "--size SIZE" in text and "side in pixels (default: 32)" in text and "{max,avg}" in text
    assert "--stops" not in text  # declared without flag=True
    with pytest.raises(SystemExit):
        parser.parse_args(["--kind", "lp"])


def test_every_train_config_flag_field_is_a_cli_flag_with_its_default():
    from playground.cli import build_parser
    from playground.training.loop import TrainConfig

    parser = build_parser()
    train = parser._subparsers._group_actions[0].choices["train"]  # argparse keeps sub-parsers here
    actions = {a.dest: a for a in train._actions}
    flagged = [f.name for f in fields(TrainConfig) if settings.settings_of(TrainConfig)[f.name].flag]
    assert len(flagged) == 19  # with --compile and --deterministic
    defaults, text = TrainConfig(), train.format_help()
    for name in flagged:
        action = actions[name]
        flag = settings.flag_name(name)
        on_off = [flag, "--no-" + flag[2:]] if isinstance(getattr(defaults, name), bool) else [flag]  # --compile
        assert action.option_strings == on_off and flag in text
        assert action.default == getattr(defaults, name)
    args = parser.parse_args(["train"])
    assert TrainConfig(**flag_values(TrainConfig, args)) == defaults
    assert actions["optimizer"].choices == tuple(setting_of(TrainConfig, "optimizer").choices)


def test_train_config_links_reset_to_the_default_and_runs_validate_wider():
    from playground.training.loop import TrainConfig

    cfg, problems = from_query(TrainConfig, {"lr": "50", "epochs": "100000", "optimizer": "rmsprop"})
    assert (cfg.lr, cfg.epochs, cfg.optimizer) == (0.8, 5, "sgd") and len(problems) == 3
    TrainConfig(lr=50.0).validate()  # the command line may (the page's widget stops at 10)
    with pytest.raises(ValueError, match="learning rate must be a positive number"):
        TrainConfig(lr=-1.0).validate()
