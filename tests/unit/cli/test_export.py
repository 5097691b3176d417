"""`python -m playground export MODEL --format ... --out FILE`: presets, spec files and trained runs."""

from __future__ import annotations

import json

import pytest
import torch

from playground.cli import main


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    from playground.runs import store as runs
    from playground.runs.worker import StopFlag, execute_run
    from playground.training.loop import TrainConfig

    root = tmp_path_factory.mktemp("runs")
    run = runs.create_run(TrainConfig(dataset="digits", epochs=1, device="cpu", lr=0.1, batch_size=64), root)
    assert execute_run(run, stop_flag=StopFlag(), use_queue=False)["status"] == "completed"
    return run


@pytest.mark.slow
def test_a_run_exports_to_onnx_with_its_trained_weights_and_metadata(run_dir, tmp_path, capsys):
    """The ONNX file scores the run's own validation images as the run's model does, within 1e-4."""
    import onnx
    import onnxruntime as ort

    from playground.runs.results import load_run_model
    from playground.training.loop import load_data

    out = tmp_path / "model.onnx"
    assert main(["export", run_dir.name, "--runs-dir", str(run_dir.parent), "--out", str(out), "--opset", "19"]) == 0
    assert f"run {run_dir.name} with its trained weights as onnx, opset 19" in capsys.readouterr().out
    proto = onnx.load(str(out))
    onnx.checker.check_model(proto, full_check=True)
    meta = {p.key: p.value for p in proto.metadata_props}
    loaded = load_run_model(run_dir)
    assert json.loads(meta["classes"]) == loaded.dataset["classes"]
    assert json.loads(meta["mean"]) == loaded.dataset["mean"]
    x = loaded.inputs(load_data(loaded.config).val_x[:9])  # (9, 1, 8, 8) standardised, as the run validates
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    (logits,) = session.run(None, {"images": x.contiguous().numpy()})
    with torch.no_grad():
        expected = loaded.model(x)
    assert torch.allclose(torch.from_numpy(logits), expected, atol=1e-4, rtol=0)
    assert (torch.from_numpy(logits).argmax(1) == expected.argmax(1)).all()


def test_a_runs_safetensors_load_back_into_the_run_model_and_json_is_its_spec(run_dir, tmp_path):
    from playground.models.zoo import model_spec
    from playground.runs.results import load_run_model, load_weights_file

    out = tmp_path / "w.safetensors"
    assert main(["export", str(run_dir), "--out", str(out)]) == 0  # the format from the suffix, the run by folder
    trained = load_run_model(run_dir).model.state_dict()
    reloaded = load_weights_file(run_dir, out.read_bytes(), "w.safetensors").model.state_dict()
    assert all(torch.equal(trained[k], reloaded[k]) for k in trained)
    spec_file = tmp_path / "spec.json"
    assert main(["export", str(run_dir), "--format", "json", "--out", str(spec_file)]) == 0
    assert json.loads(spec_file.read_text()) == model_spec("simplecnn", num_classes=10, in_channels=1, input_size=8)


def test_a_spec_file_exports_to_source_that_builds_the_same_model(tmp_path, capsys):
    from playground.models.zoo import build_model, model_spec

    spec_file = tmp_path / "mine.json"
    spec_file.write_text(json.dumps(model_spec("resnet20", num_classes=7)))
    out = tmp_path / "mine.py"
    assert main(["export", str(spec_file), "--out", str(out)]) == 0
    namespace: dict = {}
    exec(compile(out.read_text(), str(out), "exec"), namespace)  # our own generated file, in a test
    classes = [v for v in namespace.values() if isinstance(v, type) and issubclass(v, torch.nn.Module)]
    net = namespace["ResNet20"]() if "ResNet20" in namespace else classes[-1]()
    assert sum(p.numel() for p in net.parameters()) == sum(p.numel() for p in build_model(spec_file).parameters())


@pytest.mark.parametrize(
    "argv, message",
    [
        (["export", "simplecnn", "--out", "x.bin"], "Say which format to write with --format"),
        (["export", "simplecnn", "--out", "x.onnx", "--opset", "7"], "ONNX opset 7 is not offered"),
        (["export", "no-such-model", "--out", "x.onnx"], "Unknown model 'no-such-model'"),
        (["export", "simplecnn", "--out", "/no/such/dir/x.onnx"], "does not exist"),
    ],
)
def test_bad_input_is_one_line_and_exit_status_2(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not list(tmp_path.iterdir()), "nothing is written for a refused export"
