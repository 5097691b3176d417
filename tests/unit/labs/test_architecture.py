"""The Architecture Lab's config and edits, without streamlit: links, layer edits, typed values."""

from __future__ import annotations

from dataclasses import replace

import pytest

from playground.labs.architecture import (
    ArchConfig,
    config_from_query,
    config_query,
    config_spec,
    default_layer,
    edit,
    outline,
    parse_value,
    preset_config,
    set_setting,
    with_layers,
)
from playground.models.spec import trace
from playground.models.vocab import LAYER_TYPES, SpecError
from playground.models.zoo import MODELS, model_spec


@pytest.mark.parametrize("name", ["", *MODELS.names()])
def test_a_presets_link_names_only_what_differs_from_the_preset(name):
    cfg = preset_config(name)
    query = config_query(cfg)
    assert set(query) <= {"preset"}
    back, problems = config_from_query(query)
    assert back == cfg and problems == []
    if name:
        assert config_spec(back)[0] == model_spec(name)


def test_edited_models_and_knobs_survive_the_link():
    cfg = replace(preset_config("lenet5"), width_mult=0.5, batch_size=8, table="top")
    spec, _ = config_spec(cfg)
    layers = set_setting(spec["layers"], (0, 0), "out_channels", 12)
    edited = with_layers(cfg, spec, layers, (0, 0))
    back, problems = config_from_query(config_query(edited))
    assert problems == [] and back == edited
    assert config_spec(back)[0]["layers"] == layers
    assert config_spec(back)[0]["layers"][0]["layers"][1]["fn"] == "tanh"  # LeNet's tanh, not the dataclass's ReLU


def test_hostile_links_fall_back_with_sentences():
    cfg, problems = config_from_query({"preset": "nope", "width_mult": "wide", "batch_size": "-5", "layers": "[1,"})
    assert cfg.preset == "simplecnn" and cfg.width_mult == 1.0 and cfg.batch_size == 1 and cfg.layers == []
    assert any("no preset called 'nope'" in p for p in problems)
    assert any("'width_mult' was ignored" in p for p in problems)
    spec, problems = config_spec(ArchConfig(custom=True, layers=[{"type": "conv", "kernal": 3}]))
    assert spec["layers"] == [] and "has no setting 'kernal'" in problems[0]


def test_edits_move_remove_insert_and_select_the_moved_layer():
    layers = model_spec("simplecnn")["layers"]
    up, sel = edit(layers, "up", (0, 3))
    assert [x["type"] for x in up[0]["layers"][2:4]] == ["maxpool", "activation"] and sel == (0, 2)
    gone, sel = edit(layers, "remove", (1,))
    assert [x["type"] for x in gone] == ["sequential", "linear"] and sel == (1,)
    added, sel = edit(layers, "insert_after", (0, 0), default_layer("batchnorm"))
    assert added[0]["layers"][1]["type"] == "batchnorm" and sel == (0, 1) and len(added[0]["layers"]) == 13
    inside, sel = edit(layers, "append_inside", (0,), default_layer("dropout"))
    assert inside[0]["layers"][-1]["type"] == "dropout" and sel == (0, 12)
    assert layers == model_spec("simplecnn")["layers"]  # edits never change their input


def test_every_new_layer_type_can_be_added_after_a_conv():
    for kind in LAYER_TYPES:
        layers, _ = edit([default_layer("conv")], "append", (), default_layer(kind))
        tr = trace({"input": [3, 32, 32], "layers": layers}, raise_errors=False)
        assert tr.error is None or kind == "linear", kind  # a linear needs a flatten first: explained, not crashed
    labels = [label for _, label in outline(model_spec("resnet18")["layers"])]
    assert labels[4] == "layer1 · stage: 2 x basic_block(64), stride 1"


@pytest.mark.parametrize(
    "field, raw, value",
    [
        ("kernel", "3", 3),
        ("kernel", "3x5", [3, 5]),
        ("kernel", " 3, 5 ", [3, 5]),
        ("padding", "same", "same"),
        ("in_channels", "", None),
        ("in_channels", "auto", None),
        ("in_channels", "12", 12),
    ],
)
def test_typed_values(field, raw, value):
    f = next(f for f in LAYER_TYPES["conv"].fields if f.name == field)
    assert parse_value(f, raw) == value


def test_unusable_typed_values_are_explained():
    f = next(f for f in LAYER_TYPES["conv"].fields if f.name == "kernel")
    with pytest.raises(SpecError, match="kernel must be a number or HxW like 3x5, not 'big'"):
        parse_value(f, "big")
    with pytest.raises(SpecError, match="kernel must be a whole number from 1 to 1024"):
        set_setting(model_spec("simplecnn")["layers"], (0, 0), "kernel", "0")


def test_a_links_class_count_beyond_what_a_spec_allows_is_pulled_back_and_still_builds():
    cfg, problems = config_from_query({"num_classes": "99999999"})
    assert cfg.num_classes == 65536 and any("num_classes = 99999999" in p for p in problems)
    spec, problems = config_spec(cfg)
    assert problems == [] and spec["layers"]
