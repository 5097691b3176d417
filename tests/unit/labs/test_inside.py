"""Inside a trained network: a run's model fed exactly like its validation data, zoo models with weight
files, the analysis of one picture, the size guard and the pictures drawn from it."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torchvision

from playground.labs import inside
from playground.models import probe
from playground.runs import store as runs
from playground.runs.results import load_run_model, predict
from playground.runs.worker import StopFlag, execute_run
from playground.training.loop import TrainConfig
from playground.viz import inside as viz


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    run = runs.create_run(TrainConfig(dataset="digits", epochs=2, device="cpu"), root)
    assert execute_run(run, stop_flag=StopFlag())["status"] == "completed"
    return run


def test_a_run_is_fed_like_its_validation_data(digits_run):
    p = inside.from_run(digits_run)
    assert (p.in_channels, p.image_size, p.class_names) == (1, (8, 8), [str(d) for d in range(10)])
    images = inside.validation_images(digits_run, 12)
    assert len(images) == 12 and images[0][0].shape == (1, 8, 8) and images[0][0].dtype == torch.uint8
    loaded = load_run_model(digits_run)
    correct = 0
    for img, label in images:
        x = p.to_input(img)
        assert torch.equal(x[0], img)  # already the dataset's format: nothing changes on the way in
        a = inside.analyse(p, x, None, [], k=3)
        # The same probabilities as the run's own prediction path (results.predict, independent code).
        ref = predict(loaded, img, k=3)
        assert [q.label for q in a.top] == [name for name, _ in ref]
        assert [q.probability for q in a.top] == pytest.approx([v for _, v in ref], abs=1e-5)
        correct += a.top[0].label == label
    assert correct >= 8  # two epochs on the digits: most validation images come out right


def test_analysis_of_one_picture(digits_run):
    p = inside.from_run(digits_run)
    shapes = p.map_shapes()
    assert [s[0] for s in shapes] == ["features.0", "features.3", "features.4", "features.7", "features.8"]
    assert shapes[0] == ("features.0", "Conv2d", (32, 8, 8)) and shapes[-1][2] == (128, 2, 2)
    x = p.to_input(inside.validation_images(digits_run, 1)[0][0])
    a = inside.analyse(p, x, "features.4", [-1, 7], k=5)
    assert a.filters.shape == (32, 1, 3, 3) and a.maps.shape == (64, 4, 4)
    assert len(a.top) == 5 and a.top[0].probability >= a.top[1].probability
    assert list(a.cams) == list(dict.fromkeys([a.top[0].index, a.top[1].index, 7]))  # prediction, runner-up, asked
    for cam in a.cams.values():
        assert cam.shape == (8, 8) and float(cam.min()) >= 0 and float(cam.max()) <= 1
    assert a.seconds < 5


def test_a_zoo_model_with_torchvisions_file_gets_imagenet_names_and_normalisation():
    torch.manual_seed(0)
    sd = torchvision.models.resnet18().state_dict()
    p = inside.from_zoo("resnet18", sd, image_size=64)
    assert (p.in_channels, p.image_size, len(p.class_names)) == (3, (64, 64), 1000)
    assert p.class_names[0] == "tench" and "ImageNet's mean and std" in p.notes[0]
    assert torch.equal(p.model.conv1.weight, sd["conv1.weight"])
    x = torch.full((1, 3, 64, 64), 255, dtype=torch.uint8)
    expected = (1 - torch.tensor(inside.IMAGENET_MEAN)) / torch.tensor(inside.IMAGENET_STD)
    assert torch.allclose(p.prepare(x)[0, :, 0, 0], expected)
    with pytest.raises(ValueError, match="do not fit this model: .*missing"):
        inside.from_zoo("resnet34", sd)


def test_classes_and_channels_are_read_off_the_weights():
    from playground.models.zoo import build_model

    model = build_model("simplecnn", num_classes=4, in_channels=1)
    p = inside.from_zoo("simplecnn", model.state_dict(), normalise="half")
    assert (p.in_channels, p.class_names) == (1, ["class 0", "class 1", "class 2", "class 3"])
    assert p.image_size == (32, 32)
    with pytest.raises(ValueError, match="not a CNN's state_dict"):
        inside.weights_shape({"w": torch.zeros(3, 3)})


def test_a_model_too_large_is_refused_before_it_is_built(monkeypatch):
    monkeypatch.setattr(probe, "MAX_PARAMS", 1_000_000)
    with pytest.raises(probe.ModelTooLarge, match="12 M parameters"):
        inside.from_zoo("resnet18", torchvision.models.resnet18().state_dict())


def test_pictures():
    lut = viz.colorize(np.array([[0.0, 1.0], [0.5, 2.0]]))
    assert lut.shape == (2, 2, 3) and lut.dtype == np.uint8
    assert tuple(lut[0, 0]) == tuple(viz.VIRIDIS[0]) and tuple(lut[1, 1]) == tuple(viz.VIRIDIS[-1])
    grid = viz.feature_grid(torch.rand(10, 4, 4), tile=16, cols=4)
    assert grid.shape == (3 * 16 + 2 * 2, 4 * 16 + 3 * 2, 3)
    assert viz.feature_grid(torch.rand(100, 2, 2)).shape[0] == 8 * 56 + 7 * 2  # at most 64 channels
    filters = viz.filters_mosaic(torch.rand(6, 3, 5, 5), tile=10, cols=3)
    assert filters.shape == (2 * 10 + 2, 3 * 10 + 2 * 2, 3)
    x = torch.zeros(1, 8, 8, dtype=torch.uint8)
    cam = torch.zeros(8, 8)
    cam[0, 0] = 1.0
    over = viz.cam_overlay(x, cam, side=64)
    assert over.shape == (64, 64, 3) and over[0, 0].sum() > over[-1, -1].sum()  # hot where the evidence is
    fig = viz.top_k_chart([probe.Prediction(1, "b", 0.7), probe.Prediction(0, "a", 0.3)], {0})
    assert list(fig.data[0].y) == ["a", "b"] and math.isclose(fig.data[0].x[1], 0.7)


def test_a_links_unusable_values_are_pulled_back_with_sentences():
    bad = inside.InsideConfig(source="cloud", run="gone", preset="nope", index=40, k=4, other=5000, image_size=-8)
    cfg, problems = inside.clamp_config(bad, ["r1", "r2"])
    assert (cfg.source, cfg.run, cfg.preset, cfg.index, cfg.k, cfg.other, cfg.image_size) == (
        "run",
        "r1",
        "resnet18",
        0,
        5,
        -1,
        0,
    )
    assert len(problems) == 7 and all(p.startswith("The link's ") for p in problems)
    fine = inside.InsideConfig(run="r2", index=11, k=10)
    assert inside.clamp_config(fine, ["r1", "r2"]) == (fine, [])
    assert inside.clamp_config(inside.InsideConfig(run="gone"), [])[0].run == ""


def test_grad_cam_on_a_1x1_map_comes_with_a_warning():
    import torch.nn as nn

    from playground.labs.inside import Probe, analyse, cam_note

    # 8x8 input, two stride-2 convs and a 2x2 pool: the last conv's output is 1x1.
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 2, stride=2),
        nn.Flatten(),
        nn.Linear(6, 3),
    ).eval()
    p = Probe(model, ["a", "b", "c"], 1, (8, 8), lambda x: x.float() / 255, "tiny")
    a = analyse(p, torch.randint(0, 255, (1, 1, 8, 8), dtype=torch.uint8))
    assert a.cam_layer == "3" and a.cam_shape == (6, 1, 1)
    assert "1x1" in cam_note(a.cam_shape, a.cam_layer) and "cannot show where the model looks" in cam_note(
        a.cam_shape, a.cam_layer
    )
    assert cam_note((6, 7, 7), "3") is None and "only 2x2" in cam_note((6, 2, 2), "3")
