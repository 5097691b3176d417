"""The transfer-training contract the Transfer page launches runs with:
``TrainConfig.model = {"kind": "transfer", **TransferConfig fields, "weights_file": "", "from_run": ""}``."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
import torchvision

from playground.data.datasets import load_dataset
from playground.runs import store as runs
from playground.runs.results import load_run_model, predict
from playground.runs.worker import StopFlag, execute_run
from playground.training.checkpoints import load_checkpoint
from playground.training.loop import TrainConfig, train
from playground.training.models import check_model, resolve_model

HEAD = [{"type": "linear", "out": "classes"}]


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", size=400)


def transfer(**kw) -> dict:
    return {
        "kind": "transfer",
        "backbone": "resnet18",
        "weights": "random",
        "head": HEAD,
        "weights_file": "",
        "from_run": "",
        **kw,
    }


def quick(model, **kw) -> TrainConfig:
    return TrainConfig(
        **{
            **dict(dataset="digits", dataset_size=400, epochs=1, batch_size=64, lr=0.05, device="cpu", model=model),
            **kw,
        }
    )


def recorded_model(run) -> dict:
    return json.loads((run / "config.json").read_text())["model"]


def test_a_run_fine_tunes_an_earlier_run_and_frozen_weights_stay_bitwise(tmp_path):
    source = runs.create_run(TrainConfig(dataset="digits", epochs=1, lr=0.05, device="cpu"), tmp_path)
    assert execute_run(source, stop_flag=StopFlag())["status"] == "completed"
    before = load_checkpoint(source / "weights.pt")

    run = runs.create_run(quick(transfer(weights="run", from_run=str(source)), dataset_size=0, epochs=2), tmp_path)
    recorded = recorded_model(run)["source"]
    assert recorded == {"run": source.name, "model": "simplecnn", "num_classes": 10, "input_shape": [1, 8, 8]}
    summary = execute_run(run, stop_flag=StopFlag())
    assert summary["status"] == "completed"
    start = runs.read_events(run)[0][0]
    assert start["trainable_params"] == 128 * 10 + 10 and start["params"] == 94_410  # only the new head trains
    assert start["param_groups"] == [{"name": "head", "lr": 0.05, "params": 1290}]

    after = load_checkpoint(run / "weights.pt")
    body = [k for k in before if not k.startswith("classifier.")]
    assert body and all(torch.equal(before[k], after[f"net.{k}"]) for k in body)  # weights and BN statistics
    torch.manual_seed(0)  # as train() does before building the model: the head's starting weights
    initial = resolve_model(recorded_model(run), num_classes=10, in_channels=1, input_size=(8, 8)).state_dict()
    assert torch.equal(initial["net.features.0.weight"], after["net.features.0.weight"])
    assert not torch.equal(initial["net.classifier.0.weight"], after["net.classifier.0.weight"])  # the head learned
    assert summary["final_val_accuracy"] > 0.3  # the frozen features of a one-epoch model already carry the digits

    shutil.rmtree(source)  # the run stays usable on its own: its config recorded what the backbone was
    loaded = load_run_model(run)
    assert len(predict(loaded, torch.zeros(1, 8, 8, dtype=torch.uint8), k=3)) == 3


def test_fine_tuning_gives_the_backbone_a_lower_rate_and_keeps_frozen_stages(digits):
    events = []
    result = train(
        quick(transfer(mode="fine_tuning", unfrozen_stages=1, backbone_lr_scale=0.1), schedule="constant"),
        data=digits,
        emit=events.append,
    )
    start = events[0]
    groups = {g["name"]: g for g in start["param_groups"]}
    assert groups["head"]["lr"] == 0.05 and groups["backbone"]["lr"] == pytest.approx(0.005)
    assert start["trainable_params"] == groups["head"]["params"] + groups["backbone"]["params"] < start["params"]
    assert start["input_shape"] == [1, 8, 8]  # grey digits, repeated to 3 channels for the RGB backbone
    model = result.model
    torch.manual_seed(0)  # train() seeds with config.seed before building: rebuild the same start
    fresh = torchvision.models.resnet18()
    frozen = [k for k in fresh.state_dict() if k.startswith(("conv1.", "bn1.", "layer1.", "layer2.", "layer3."))]
    state = {k[4:]: v for k, v in model.state_dict().items()}
    assert all(torch.equal(fresh.state_dict()[k], state[k]) for k in frozen)
    assert not torch.equal(fresh.state_dict()["layer4.0.conv1.weight"], state["layer4.0.conv1.weight"])


def test_uploaded_weights_start_the_backbone(tmp_path, digits):
    weights = torchvision.models.resnet18(num_classes=1000).state_dict()
    path = tmp_path / "r18.pth"
    torch.save({"state_dict": weights}, path)  # the shape people often save, unwrapped by read_weights_file
    result = train(quick(transfer(weights="upload", weights_file=str(path))), data=digits)
    state = {k[4:]: v for k, v in result.model.state_dict().items()}
    assert all(torch.equal(weights[k], state[k]) for k in weights if not k.startswith("fc."))  # frozen, as uploaded
    assert state["fc.0.weight"].shape == (10, 512)


def test_offline_imagenet_fails_the_run_with_the_sentence(tmp_path, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_OFFLINE", "1")
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    run = runs.create_run(quick(transfer(weights="imagenet")), tmp_path / "runs")
    summary = execute_run(run, stop_flag=StopFlag())
    assert summary["status"] == "failed"
    assert "ImageNet weights for resnet18 are not in the torch cache" in summary["reason"]
    assert runs.read_status(run)["reason"] == summary["reason"]


def test_bad_transfer_setups_are_sentences(tmp_path):
    with pytest.raises(ValueError, match="Unknown backbone 'resnet9000'|resnet9000"):
        check_model(transfer(backbone="resnet9000"))
    with pytest.raises(ValueError, match="needs weights_file"):
        check_model(transfer(weights="upload"))
    with pytest.raises(ValueError, match="not a finished run folder"):
        check_model(transfer(weights="run", from_run=str(tmp_path)))
    with pytest.raises(ValueError, match="unknown setting 'colour'"):
        check_model(transfer(colour="blue"))
    with pytest.raises(ValueError, match="Unknown weights source"):
        check_model(transfer(weights="hope"))
