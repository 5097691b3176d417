"""The Architecture Lab through AppTest: presets, knobs, edits with explained errors, exports, links."""

from __future__ import annotations

import json

import pytest

from playground.models.vocab import dumps
from playground.models.zoo import model_spec

PAGE = "pages/architecture.py"


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _table(at):
    return at.dataframe[0].value


def _errors(at) -> str:
    return " ".join(e.value for e in at.error)


@pytest.fixture
def lab(app_page):
    def _open(query: dict | None = None):
        at = app_page(PAGE, query=query)
        assert not at.exception
        return at

    return _open


def test_opens_on_the_articles_simplecnn(lab):
    at = lab()
    assert at.title[0].value == "Architecture Lab"
    m = _metrics(at)
    assert m["Output shape"] == "[32, 10]" and m["Parameters"] == "94,986"
    table = _table(at)
    assert list(table["Layer"][:4]) == ["features.0", "features.1", "features.2", "features.3"]
    assert table["Output shape"][3] == "[32, 32, 16, 16]"  # 32x32 -> 16x16, as the article's comment says
    assert list(table.columns) == [
        "Layer",
        "Type",
        "Output shape",
        "Trainable",
        "Frozen",
        "MACs",
        "FLOPs (2×MACs)",
        "Activations",
        "RF",
        "Jump",
    ]
    assert list(table["RF"][:4]) == ["3", "3", "3", "4"] and table["RF"].iloc[-1] == "all"
    assert "[8, 3, 32, 32] batch to [8, 10]" in " ".join(md.value for md in at.markdown)


def test_resnet50_table_totals_diagram_and_link(lab):
    at = lab()
    at.selectbox(key="architecture_preset").set_value("resnet50").run()
    assert not at.exception
    m = _metrics(at)
    assert m["Parameters"] == "25,557,032" and m["MACs per image"] == "4.089 G" and m["Receptive field"] == "427 px"
    assert m["Output shape"] == "[32, 1000]"
    assert at.query_params["preset"] == "resnet50"
    diagram = json.loads(at.get("plotly_chart")[0].proto.spec)
    arcs = [s for s in diagram["layout"]["shapes"] if s["type"] == "path"]
    assert len(arcs) == 16  # one skip connection per bottleneck block
    at.selectbox(key="architecture_table").set_value("blocks").run()
    assert list(_table(at)["Type"]).count("Bottleneck") == 16


def test_knobs_rebuild_the_preset(lab):
    at = lab({"preset": "resnet18", "num_classes": "1000", "height": "224", "width": "224"})
    at.number_input(key="architecture_width_mult").set_value(0.5).run()
    at.number_input(key="architecture_num_classes").set_value(5).run()
    assert _metrics(at)["Output shape"] == "[32, 5]"
    at.toggle(key="architecture_batch_norm").set_value(False).run()
    assert "BatchNorm2d" not in set(_table(at)["Type"])
    at.text_input(key="architecture_blocks").input("1,1,1,1").run()
    assert not at.exception
    assert list(_table(at)["Layer"]).count("layer1.0.conv1") == 1 and "layer1.1.conv1" not in set(_table(at)["Layer"])
    at.text_input(key="architecture_blocks").input("1,1").run()
    assert "must be 4 whole numbers" in " ".join(w.value for w in at.warning)


def test_editing_a_layer_explains_the_break_and_the_fix(lab):
    at = lab()
    at.selectbox(key="architecture_selected").set_value("0.8").run()  # features.8, the 128-channel conv
    at.number_input(key="architecture_f_0_8_out_channels").set_value(256).run()
    assert not at.exception
    assert "Layer classifier (Linear) expects 128 inputs, it gets 256: set in_features=256" in _errors(at)
    assert _table(at)["Output shape"].iloc[-1] == "[32, 256]"  # the rows stop before the broken layer
    at.button(key="architecture_goto_error").click().run()
    assert at.selectbox(key="architecture_selected").value == "2"
    at.text_input(key="architecture_f_2_in_features").input("256").run()
    assert _errors(at) == "" and _metrics(at)["Output shape"] == "[32, 10]"
    assert at.query_params["custom"] == "1" and "layers" in at.query_params


def test_building_from_nothing_and_reordering(lab):
    at = lab({"preset": "", "channels": "1", "height": "28", "width": "28"})
    for kind in ("conv", "activation", "maxpool", "flatten", "linear"):
        at.selectbox(key="architecture_add_type").set_value(kind).run()
        at.button(key="architecture_add").click().run()
        assert not at.exception
    table = _table(at)
    assert list(table["Type"]) == ["Conv2d", "ReLU", "MaxPool2d", "Flatten", "Linear"]
    assert _metrics(at)["Output shape"] == "[32, 10]"
    at.selectbox(key="architecture_selected").set_value("3").run()  # the flatten
    at.button(key="architecture_down").click().run()
    assert "gets a 64x14x14 feature map, not a flat vector" in _errors(at) and "add a flatten before it" in _errors(at)
    at.button(key="architecture_up").click().run()
    assert _errors(at) == ""
    at.button(key="architecture_remove").click().run()
    assert "add a flatten before it" in _errors(at)
    assert _metrics(at) == {}  # broken: no totals that would sum only the layers before the break


def test_a_model_broken_at_its_first_layer_shows_no_totals(lab):
    at = lab({"preset": "", "channels": "1", "height": "28", "width": "28"})
    at.selectbox(key="architecture_add_type").set_value("linear").run()
    at.button(key="architecture_add").click().run()
    assert not at.exception
    assert "not a flat vector" in _errors(at)
    assert _metrics(at) == {}  # no output shape = the input, no 0 parameters
    shown = " ".join(m.value for m in at.markdown)
    assert "Training needs" not in shown
    assert sum("No totals while the model is broken" in i.value for i in at.info) == 1


def test_exports_source_json_and_a_link_that_reproduces_the_model(lab, app_page):
    at = lab()
    at.selectbox(key="architecture_selected").set_value("0.0").run()
    at.number_input(key="architecture_f_0_0_out_channels").set_value(48).run()
    codes = " ".join(c.value for c in at.code)
    assert "class SimpleCNNEdited(nn.Module):" in codes and "nn.Conv2d(3, 48, kernel_size=3, padding=1)" in codes
    link = next(c.value for c in at.code if "layers=" in c.value)
    query = dict(pair.split("=", 1) for pair in link.split("?", 1)[1].split("&"))
    from urllib.parse import unquote_plus

    shared = app_page(PAGE, query={k: unquote_plus(v) for k, v in query.items()})
    assert not shared.exception
    assert list(_table(shared)["Output shape"]) == list(_table(at)["Output shape"])
    assert _metrics(shared)["Parameters"] == _metrics(at)["Parameters"]
    at.button(key="architecture_check").click().run()
    assert any("PyTorch agrees" in s.value for s in at.success)


def test_uploading_a_json_spec(lab, tmp_path):
    at = lab()
    spec = model_spec("resnet20", num_classes=7)
    at.file_uploader(key="architecture_upload").upload("resnet20.json", dumps(spec).encode(), "application/json").run()
    assert not at.exception
    assert _metrics(at)["Output shape"] == "[32, 7]" and _metrics(at)["Parameters"] == f"{269_722 - 3 * 65:,}"
    assert any("Loaded ResNet-20" in s.value for s in at.success)
    at.file_uploader(key="architecture_upload").upload("broken.json", b'{"layers": [', "application/json").run()
    assert not at.exception
    assert "broken.json: The spec is not valid JSON (line 1, column" in _errors(at)


def test_training_memory_warns_when_it_will_not_fit(lab):
    at = lab({"preset": "vgg16", "num_classes": "1000", "height": "224", "width": "224"})
    at.number_input(key="architecture_batch_size").set_value(65536).run()
    assert any("lower the batch size" in w.value for w in at.warning)
    at.number_input(key="architecture_batch_size").set_value(1).run()
    assert not any("lower the batch size" in w.value for w in at.warning)


def test_hostile_links_never_break_the_page(lab):
    at = lab(
        {
            "preset": "nope",
            "width_mult": "-3",
            "layers": "[1, 2",
            "batch_size": "abc",
            "custom": "1",
            "optimizer": "lbfgs",
        }
    )
    assert not at.exception
    assert _metrics(at)["Output shape"].startswith("[")
    assert any("no preset called 'nope'" in w.value for w in at.warning)
    at = lab({"custom": "1", "layers": json.dumps([{"type": "conv", "kernal": 3}])})
    assert not at.exception
    assert any("has no setting 'kernal'" in w.value for w in at.warning)


def test_lenet5_exports_its_tanh_and_average_pooling(lab):
    at = lab({"preset": "lenet5", "num_classes": "10", "channels": "1", "height": "32", "width": "32"})
    assert _metrics(at)["Parameters"] == "61,706"
    code = next(c.value for c in at.code if c.value.startswith('"""LeNet-5'))
    assert "nn.AvgPool2d(kernel_size=2, stride=2)" in code and "nn.Tanh()" in code
    labels = [d.proto.label for d in at.get("download_button")]
    assert labels == ["Download .py", "Download .json", "Download .onnx"]  # the model file: ONNX first


def test_model_file_picker_offers_onnx_safetensors_and_pt2_and_refuses_a_model_too_big(lab, monkeypatch):
    at = lab({"preset": "resnet20"})
    picker = at.selectbox(key="architecture_export_format")
    assert picker.options == [
        "ONNX (.onnx: Netron, onnxruntime)",
        "safetensors (.safetensors: the weights)",
        "torch.export program (.pt2)",
    ]
    assert at.selectbox(key="architecture_export_opset").value == 18
    picker.select("pt2").run()
    assert [d.proto.label for d in at.get("download_button")][-1] == "Download .pt2"
    assert at.selectbox(key="architecture_export_opset").disabled  # the opset is ONNX's alone

    from playground.models import export

    monkeypatch.setattr(export, "MAX_EXPORT_PARAMS", 1000)
    at = lab({"preset": "resnet20"})
    assert [d.proto.label for d in at.get("download_button")] == ["Download .py", "Download .json"]
    assert any("more than the 1,000 this server exports" in c.value for c in at.caption)


def test_a_field_edit_and_a_preset_change_in_one_rerun_do_not_crash(lab):
    # A layer's name typed, then another preset picked before the name box lost focus: both callbacks fire
    # in the same rerun, the preset's first (it drops the old model's field widgets). Was a KeyError page.
    at = lab()
    name_box = next(t for t in at.text_input if t.key.startswith("architecture_f_0"))
    name_box.set_value("renamed")
    at.selectbox(key="architecture_preset").set_value("lenet5").run()
    assert not at.exception
    assert at.selectbox(key="architecture_preset").value == "lenet5"
