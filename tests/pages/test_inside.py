"""The "Inside a trained network" page through AppTest: a run trained in the app, a zoo model with a
weights file, pictures of every kind, and the sentences for what cannot be shown."""

from __future__ import annotations

import io
import json

import pytest
import torch
from PIL import Image

from playground.models import probe
from playground.runs import store as runs
from playground.runs.worker import StopFlag, execute_run
from playground.training.loop import TrainConfig

PAGE = "pages/inside.py"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A run store holding one SimpleCNN trained for an epoch on the digits."""
    root = tmp_path_factory.mktemp("runs")
    run = runs.create_run(TrainConfig(dataset="digits", epochs=1, device="cpu"), root)
    assert execute_run(run, stop_flag=StopFlag())["status"] == "completed"
    return root


@pytest.fixture
def with_store(store, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_RUNS_DIR", str(store))
    return store


def captions(at) -> list[str]:
    return [i.caption for el in at.get("image") for i in el.proto.imgs]


def png(colour=(200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(buf, "PNG")
    return buf.getvalue()


def weights_file(state: dict) -> bytes:
    buf = io.BytesIO()
    torch.save(state, buf)
    return buf.getvalue()


def test_without_runs_the_page_says_how_to_get_one(app_page, monkeypatch, tmp_path):
    monkeypatch.setenv("PLAYGROUND_RUNS_DIR", str(tmp_path))
    at = app_page(PAGE)
    assert not at.exception and at.title[0].value == "Inside a trained network"
    assert "No run has saved weights yet" in at.info[0].value


def test_a_run_shows_prediction_grad_cam_filters_and_feature_maps(app_page, with_store):
    at = app_page(PAGE)
    assert not at.exception and not at.error
    caps = captions(at)
    assert caps[0].startswith("What the model sees: validation image #1, true class ")
    assert caps[0].endswith("(8x8, 1 channel)")
    assert caps[1].startswith("Grad-CAM for the prediction: ") and caps[2].startswith("Grad-CAM for ")
    assert caps[3].startswith("32 filters of 3x3 over 1 input channel (grey)")
    assert caps[4].startswith("features.0: 32 channels of 8x8")
    assert "normalised with the training set's mean and std" in " ".join(c.value for c in at.caption)
    [chart] = at.get("plotly_chart")
    assert chart.proto.spec.count('"orientation":"h"') == 1  # the top-5 bars
    # Another layer, another class, another validation image: each reruns only what changed.
    at.select_slider(key="inside_layer").set_value(2).run()
    assert captions(at)[4].startswith("features.4: 64 channels of 4x4")
    at.selectbox(key="inside_other").set_value(7).run()
    assert captions(at)[2].startswith("Grad-CAM for 7 ")
    at.select_slider(key="inside_index").set_value(5).run()
    assert "validation image #6" in captions(at)[0]
    assert {k: at.query_params[k] for k in ("layer", "other", "index")} == {"layer": "2", "other": "7", "index": "5"}
    at.radio(key="inside_k").set_value(10).run()
    spec = at.get("plotly_chart")[0].proto.spec
    assert len(json.loads(spec)["data"][0]["y"]) == 10


def test_bundled_photos_and_uploads_are_prepared_like_the_runs_images(app_page, with_store):
    at = app_page(PAGE)
    at.radio(key="inside_picture").set_value("sample").run()
    assert captions(at)[0] == "What the model sees: chelsea.png (8x8, 1 channel)"
    at.radio(key="inside_picture").set_value("upload").run()
    assert "Upload a picture" in at.info[0].value
    at.file_uploader(key="inside_upload").upload("red.png", png(), "image/png").run()
    assert not at.exception and captions(at)[0] == "What the model sees: red.png (8x8, 1 channel)"
    at.file_uploader(key="inside_upload").upload("notes.jpg", b"%PDF-1.4 not an image", "image/jpeg").run()
    assert not at.exception and "notes.jpg is not an image this app can read" in at.error[0].value


def test_a_zoo_model_with_a_weights_file(app_page, with_store):
    from playground.models.zoo import build_model

    at = app_page(PAGE)
    at.radio(key="inside_source").set_value("zoo").run()
    at.selectbox(key="inside_preset").set_value("simplecnn").run()
    assert "Upload the model's weights" in at.info[0].value
    torch.manual_seed(0)
    model = build_model("simplecnn", num_classes=3, in_channels=3)
    data = weights_file(model.state_dict())
    at.file_uploader(key="inside_weights").upload("simple.pt", data, "application/octet-stream").run()
    assert not at.exception and not at.error
    assert captions(at)[0] == "What the model sees: chelsea.png (32x32, 3 channels)"
    assert captions(at)[3].startswith("32 filters of 3x3 over 3 input channels (shown as RGB)")
    assert at.selectbox(key="inside_other").options == ["the runner-up", "class 0", "class 1", "class 2"]
    # Weights of another model: a sentence naming the keys, no traceback.
    at.selectbox(key="inside_preset").set_value("lenet5").run()
    assert not at.exception and "do not fit this model" in at.error[0].value


def test_a_model_too_large_is_refused_with_a_sentence(app_page, with_store, monkeypatch):
    monkeypatch.setattr(probe, "MAX_PARAMS", 10_000)
    at = app_page(PAGE)
    assert not at.exception
    assert "inspecting it needs more memory than this machine allows" in at.error[0].value
    assert not captions(at)


class _StopAfter(StopFlag):
    """Asks the run to stop after a few polls: it saves its weights mid-epoch, untrained."""

    def __init__(self, polls: int):
        super().__init__()
        self.polls = polls

    def __call__(self) -> bool:
        self.polls -= 1
        return self.polls < 0


@pytest.fixture
def with_an_untrained_newest_run(store, tmp_path, monkeypatch):
    import shutil

    root = tmp_path / "runs"
    shutil.copytree(store, root)
    run = runs.create_run(TrainConfig(dataset="digits", epochs=1, device="cpu"), root)  # newer than the trained one
    summary = execute_run(run, stop_flag=_StopAfter(3))
    assert summary["status"] == "stopped" and summary["epochs"] == 0 and runs.has_weights(run)
    monkeypatch.setenv("PLAYGROUND_RUNS_DIR", str(root))
    return run.name


def test_the_page_opens_on_a_trained_run_and_warns_about_an_untrained_one(app_page, with_an_untrained_newest_run):
    at = app_page(PAGE)
    assert not at.exception
    assert at.selectbox(key="inside_run").value != with_an_untrained_newest_run  # not the newest: it never learned
    assert not any("before it finished one epoch" in w.value for w in at.warning)
    at.selectbox(key="inside_run").set_value(with_an_untrained_newest_run).run()
    assert not at.exception
    assert any("before it finished one epoch" in w.value and "untrained network" in w.value for w in at.warning)
    assert "untrained" in at.selectbox(key="inside_run").format_func(with_an_untrained_newest_run)
