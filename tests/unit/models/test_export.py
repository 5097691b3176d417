"""Model files other tools open, checked with those tools: onnx.checker and onnxruntime, safetensors,
torch.export.load, each against the PyTorch model's own logits."""

from __future__ import annotations

import io

import pytest
import torch

from playground.models import export
from playground.models.spec import build
from playground.models.transfer import read_weights_file
from playground.models.zoo import model_spec


def _net(spec, seed=0):
    torch.manual_seed(seed)
    return build(spec).eval()


@pytest.mark.slow
@pytest.mark.parametrize("preset, opset", [("simplecnn", 18), ("resnet20", 20)])
def test_onnx_passes_the_checker_and_gives_pytorchs_logits_at_any_batch_size(preset, opset):
    import onnx
    import onnxruntime as ort

    spec = model_spec(preset)
    f = export.export_spec(spec, "onnx", opset=opset)
    assert f.file_name.endswith(".onnx")
    proto = onnx.load_from_string(f.data)
    onnx.checker.check_model(proto, full_check=True)
    assert [o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")] == [opset]
    session = ort.InferenceSession(f.data, providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["images"]
    assert session.get_inputs()[0].shape[1:] == list(spec["input"]) and isinstance(
        session.get_inputs()[0].shape[0], str
    )
    net = _net(spec)
    for batch in (1, 7):  # the batch dimension is dynamic: neither is the size it was traced with
        x = torch.randn(batch, *spec["input"])
        (logits,) = session.run(["logits"], {"images": x.numpy()})
        with torch.no_grad():
            expected = net(x)
        assert logits.shape == tuple(expected.shape)
        assert torch.allclose(torch.from_numpy(logits), expected, atol=1e-4, rtol=0)


def test_safetensors_round_trip_and_the_upload_reader_takes_it():
    from safetensors.torch import load

    spec = model_spec("resnet20", num_classes=4)
    net = _net(spec, seed=3)
    f = export.export_spec(spec, "safetensors", seed=3)
    assert export.is_safetensors(f.data)
    for sd in (load(f.data), read_weights_file(f.data, "resnet20.safetensors")):  # safetensors itself, and the app
        own = net.state_dict()
        assert sd.keys() == own.keys()
        assert all(torch.equal(sd[k], own[k]) for k in own)
    fresh = build(spec)
    fresh.load_state_dict(read_weights_file(f.data, "named.pt"), strict=True)  # told apart by content, not name
    x = torch.randn(2, *spec["input"])
    with torch.no_grad():
        assert torch.equal(fresh.eval()(x), net(x))


def test_a_torch_save_file_is_not_taken_for_safetensors():
    buf = io.BytesIO()
    torch.save({"w": torch.ones(2)}, buf)
    assert not export.is_safetensors(buf.getvalue())
    assert not export.is_safetensors(b"\xff" * 8 + b"{" + b"x")  # a header longer than the file
    with pytest.raises(ValueError, match="is not a PyTorch weights file"):
        read_weights_file((20).to_bytes(8, "little") + b'{"a": nonsense}     ', "broken.safetensors")


def test_pt2_is_a_torch_export_program_with_a_dynamic_batch():
    spec = model_spec("lenet5")
    f = export.export_spec(spec, "pt2")
    program = torch.export.load(io.BytesIO(f.data))
    net = _net(spec)
    for batch in (1, 5):
        x = torch.randn(batch, *spec["input"])
        with torch.no_grad():
            assert torch.allclose(program.module()(x), net(x), atol=1e-5)


def test_py_and_json_are_the_spec_and_its_source():
    import json

    from playground.models.codegen import pytorch_source

    spec = model_spec("simplecnn", num_classes=3)
    assert json.loads(export.export_spec(spec, "json").data) == spec
    assert export.export_spec(spec, "py").data.decode() == pytorch_source(spec)


def test_refusals_are_sentences(monkeypatch):
    spec = model_spec("simplecnn")
    with pytest.raises(ValueError, match="opset 9 is not offered: choose one from 18 to 23"):
        export.export_spec(spec, "onnx", opset=9)
    with pytest.raises(ValueError, match="Unknown export format 'tflite'"):
        export.export_spec(spec, "tflite")
    monkeypatch.setattr(export, "MAX_EXPORT_PARAMS", 1000)
    with pytest.raises(ValueError, match="more than the 1,000 this server exports"):
        export.export_spec(spec, "onnx")
