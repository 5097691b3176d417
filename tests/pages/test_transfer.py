"""The Transfer Learning page through AppTest: the article's numbers, freezing and toggles, the head designer,
every source of weights, launching the fine-tuning and from-scratch runs, and comparing them."""

from __future__ import annotations

import io
import json

import pytest
import torch
import torchvision

from playground.labs import transfer as tl
from playground.models import transfer
from playground.runs import store as runs
from playground.runs.worker import StopFlag, execute_run
from playground.training.loop import TrainConfig

PAGE = "pages/transfer.py"
ARTICLE = "Trainable: 525,829 / 24,033,861 parameters"
# Offline the page defaults to the bundled backbone; these tests are about the article's ImageNet setup.
IMAGENET_SETUP = {k: str(v) for k, v in tl.IMAGENET_EXPERIMENT.items()}


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_RUNS_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """An empty torch hub cache, and no network: the ImageNet weights cannot be had."""
    hub = tmp_path / "hub"
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(hub))
    return hub


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def article_line(at) -> str:
    return next(c.value for c in at.code if c.value.startswith("Trainable:"))


def stage_boxes(at) -> dict[str, bool]:
    return {
        cb.key[len("transfer_stage_") :]: cb.value
        for cb in at.checkbox
        if cb.key and cb.key.startswith("transfer_stage_")
    }


def test_the_articles_numbers_and_the_offline_sentence(app_page, store, offline):
    at = app_page(PAGE, query=IMAGENET_SETUP)
    assert not at.exception and at.title[0].value == "Transfer learning"
    assert article_line(at) == ARTICLE
    assert metrics(at) == {
        "Trainable": "525,829",
        "Frozen": "23,508,032",
        "Total": "24,033,861",
        "Share that trains": "2.2%",
    }
    assert stage_boxes(at) == {"stem": False, "layer1": False, "layer2": False, "layer3": False, "layer4": False}
    warning = at.warning[0].value
    assert "not in the torch cache and cannot be downloaded" in warning and "resnet50-11ad3fa6.pth" in warning
    assert at.button(key="transfer_launch").disabled
    head_code = next(c.value for c in at.code if c.value.startswith("model.fc"))
    assert "Linear(in_features=2048, out_features=256, bias=True)" in head_code
    # Offline, the page offers random initialisation in one click.
    at.button(key="transfer_to_random").click().run()
    assert at.radio(key="transfer_weights").value == "random" and not at.button(key="transfer_launch").disabled
    assert article_line(at) == ARTICLE  # the weights do not change the counts
    # ... and says plainly what a frozen random backbone can show: random features, not transfer learning.
    note = " ".join(w.value for w in at.warning)
    assert "never learn" in note and "it is not transfer learning" in note and "stem, layer1" in note
    at.radio(key="transfer_mode").set_value("fine_tuning").run()
    at.slider(key="transfer_unfrozen_stages").set_value(5).run()
    assert "never learn" not in " ".join(w.value for w in at.warning)  # every stage trains: from scratch


def test_cached_imagenet_weights_are_found(app_page, store, offline):
    (offline / "checkpoints").mkdir(parents=True)
    torch.save({}, transfer.imagenet_weights_file("resnet50"))
    at = app_page(PAGE, query=IMAGENET_SETUP)
    assert "are in the torch cache" in at.success[0].value and not at.warning
    assert not at.button(key="transfer_launch").disabled


def test_stage_toggles_and_fine_tuning_update_the_counts_at_once(app_page, store, offline):
    at = app_page(PAGE, query=IMAGENET_SETUP)
    at.checkbox(key="transfer_stage_layer4").check().run()
    assert metrics(at)["Trainable"] == "15,490,565"
    assert article_line(at) == "Trainable: 15,490,565 / 24,033,861 parameters"
    assert json.loads(at.query_params["stage_overrides"]) == {"layer4": True}
    assert at.radio(key="transfer_mode").value == "fine_tuning"  # a stage trains: that is fine-tuning now
    at.checkbox(key="transfer_stage_layer4").uncheck().run()
    assert article_line(at) == ARTICLE and "stage_overrides" not in at.query_params
    assert at.radio(key="transfer_mode").value == "feature_extraction"  # nothing in the backbone trains again
    at.radio(key="transfer_mode").set_value("fine_tuning").run()
    at.slider(key="transfer_unfrozen_stages").set_value(2).run()
    assert [k for k, v in stage_boxes(at).items() if v] == ["layer3", "layer4"]
    expected = transfer.describe(transfer.TransferConfig(mode="fine_tuning", unfrozen_stages=2))
    assert metrics(at)["Trainable"] == f"{expected['trainable']:,}"
    at.checkbox(key="transfer_stage_layer3").uncheck().run()  # a toggle wins over the strategy
    assert [k for k, v in stage_boxes(at).items() if v] == ["layer4"]
    at.select_slider(key="transfer_backbone_lr_scale").set_value(0.01).run()
    assert at.query_params["backbone_lr_scale"] == "0.01" and at.radio(key="transfer_mode").value == "fine_tuning"


def test_the_head_designer(app_page, store, offline):
    at = app_page(PAGE, query=IMAGENET_SETUP)
    at.number_input(key="transfer_h0_1").set_value(64).run()  # Linear(2048 -> 64)
    assert metrics(at)["Trainable"] == f"{2048 * 64 + 64 + 64 * 5 + 5:,}"
    at.button(key="transfer_h0_0_rm").click().run()  # drop the first Dropout: no parameters, same count
    assert metrics(at)["Trainable"] == f"{2048 * 64 + 64 + 64 * 5 + 5:,}"
    at.selectbox(key="transfer_add_kind").set_value("batchnorm").run()
    at.button(key="transfer_add").click().run()  # BatchNorm1d(64) before the last layer: 128 more
    assert metrics(at)["Trainable"] == f"{2048 * 64 + 64 + 128 + 64 * 5 + 5:,}"
    assert [layer["type"] for layer in json.loads(at.query_params["head"])] == [
        "linear",
        "relu",
        "dropout",
        "batchnorm",
        "linear",
    ]
    # A head that does not end in the classes gets a sentence that says how to fix it.
    at.checkbox(key="transfer_h2_4_classes").uncheck().run()
    assert not at.exception and "make its last Linear layer output 'classes'" in at.error[0].value
    assert at.button(key="transfer_launch").disabled
    at.button(key="transfer_head_reset").click().run()
    assert article_line(at) == ARTICLE and not at.error
    at.number_input(key="transfer_num_classes").set_value(10).run()
    assert metrics(at)["Trainable"] == f"{2048 * 256 + 256 + 256 * 10 + 10:,}"


def test_uploaded_weights_are_checked(app_page, store, offline):
    at = app_page(PAGE, query={**IMAGENET_SETUP, "backbone": "resnet18"})
    at.radio(key="transfer_weights").set_value("upload").run()
    assert "Upload a state_dict" in at.info[0].value
    buf = io.BytesIO()
    torch.save(torchvision.models.resnet18().state_dict(), buf)
    at.file_uploader(key="transfer_weights_file").upload("r18.pth", buf.getvalue(), "application/octet-stream").run()
    assert not at.exception and "all 120 tensors fit resnet18's backbone" in at.success[0].value
    at.selectbox(key="transfer_backbone").set_value("resnet34").run()
    assert "These weights do not fit this backbone" in at.error[0].value and at.button(key="transfer_launch").disabled
    at.file_uploader(key="transfer_weights_file").upload("cat.pth", b"GIF89a", "application/octet-stream").run()
    assert "cat.pth is not a PyTorch weights file" in at.error[0].value


def test_a_model_trained_here_as_the_backbone(app_page, store, offline):
    run = runs.create_run(TrainConfig(dataset="digits", epochs=1, device="cpu"), store)
    assert execute_run(run, stop_flag=StopFlag())["status"] == "completed"
    at = app_page(PAGE, query=IMAGENET_SETUP)
    at.radio(key="transfer_weights").set_value("run").run()
    assert not at.exception and at.selectbox(key="transfer_run").value == run.name
    assert list(stage_boxes(at)) == ["block1", "block2", "block3"]
    head = 128 * 256 + 256 + 256 * 5 + 5  # SimpleCNN's 128 features -> 256 -> 5
    body = 93_120  # SimpleCNN's conv blocks (its classifier replaced)
    assert article_line(at) == f"Trainable: {head:,} / {body + head:,} parameters"
    at.radio(key="transfer_dataset").set_value("digits").run()
    assert not at.button(key="transfer_launch").disabled  # grey digits suit a backbone trained on grey digits


def test_launch_starts_the_fine_tuning_run_and_its_from_scratch_twin(app_page, store, offline, monkeypatch):
    launched = []

    def fake_launch(config, runs_root=None, **_):
        launched.append(config)
        return runs.create_run(config, runs_root)

    monkeypatch.setattr(runs, "launch", fake_launch)
    at = app_page(
        PAGE,
        query={**IMAGENET_SETUP, "backbone": "resnet18", "weights": "random", "mode": "fine_tuning", "epochs": "3"},
    )
    at.radio(key="transfer_dataset").set_value("digits").run()
    note = "These images have 1 channel and the backbone takes 3: both runs convert them with torchvision's Grayscale"
    assert any(note in c.value for c in at.caption) and not at.button(key="transfer_launch").disabled
    at.radio(key="transfer_dataset").set_value("shapes").run()
    assert not any(note in c.value for c in at.caption)
    at.button(key="transfer_launch").click().run()
    assert not at.exception and "Launched" in at.success[0].value
    tune, scratch = launched
    assert tune.model["kind"] == scratch.model["kind"] == "transfer" and tune.model["num_classes"] == 10
    assert (tune.epochs, tune.dataset, tune.image_size, tune.dataset_size) == (3, "shapes", 32, 1000)
    assert tune.model["unfrozen_stages"] == 1 and scratch.model["unfrozen_stages"] == 5
    assert scratch.model["weights"] == "random" and scratch.model["backbone_lr_scale"] == 1.0
    assert tune.augment == tune.val_augment == scratch.augment == "none"  # RGB shapes for an RGB backbone
    # Both appear in the comparison, as queued runs with no curves yet.
    assert len(at.multiselect(key="transfer_compare_runs").value) == 2
    text = " ".join(m.value for m in at.markdown)
    assert "**fine-tuned**" in text and "**from scratch**" in text


def test_the_comparison_overlays_the_runs_curves(app_page, store, offline):
    for role, accs in (("tune", [0.6, 0.8]), ("scratch", [0.3, 0.4])):
        tc = transfer.TransferConfig(backbone="resnet18")
        if role == "scratch":
            tc = tl.scratch_config(tc, 5)
        run = runs.create_run(TrainConfig(model=tl.model_dict(tc), dataset="shapes"), store)
        w = runs.EventWriter(run / "events.jsonl")
        for e, acc in enumerate(accs, start=1):
            w.write({"type": "step", "step": e, "epoch": e, "loss": 1 - acc})
            w.write({"type": "epoch", "epoch": e, "val_accuracy": acc})
        w.close()
        runs.set_status(run, "completed", "", epoch=2, epochs=2, val_accuracy=accs[-1])
    at = app_page(PAGE, query=IMAGENET_SETUP)
    assert not at.exception
    spec = json.loads(at.get("plotly_chart")[-1].proto.spec)
    accuracy = {t["name"].split(" · ")[0]: t["y"] for t in spec["data"] if t["xaxis"] == "x"}
    assert accuracy == {"from scratch": [0.3, 0.4], "feature extraction": [0.6, 0.8]}
    assert "validation accuracy 80.0%" in " ".join(m.value for m in at.markdown)
    # The gap, from the runs' own curves: at the same epoch, and how soon scratch's best was passed.
    gap = " ".join(s.value for s in at.success)
    assert "Pre-trained: 80% after 2 epochs; from scratch: 40% after 2 epochs — 40 points ahead." in gap
    assert "reached scratch's best (40%) after 1 epoch" in gap


def test_offline_the_page_defaults_to_the_bundled_backbone(app_page, store, offline):
    at = app_page(PAGE)
    assert not at.exception
    assert at.radio(key="transfer_weights").value == "bundled"
    assert at.selectbox(key="transfer_backbone").value == "shapes_resnet8"
    assert at.radio(key="transfer_dataset").value == "digits" and at.radio(key="transfer_mode").value == "fine_tuning"
    assert "pre-trained here on 40,000 generated images" in at.success[0].value
    assert not at.button(key="transfer_launch").disabled and not at.warning
    # ImageNet offline: its sentence, and one click back to the bundled backbone.
    at.radio(key="transfer_weights").set_value("imagenet").run()
    assert at.selectbox(key="transfer_backbone").value == "resnet50" and "cannot be downloaded" in at.warning[0].value
    at.button(key="transfer_to_bundled").click().run()
    assert at.radio(key="transfer_weights").value == "bundled" and not at.button(key="transfer_launch").disabled
