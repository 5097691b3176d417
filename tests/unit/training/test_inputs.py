"""The trainer wired to the zoo and the augmentation modules: models fitted to the data and to the
pipeline's output size, pipelines scaled and normalised exactly once, MixUp/CutMix on soft labels."""

from __future__ import annotations

import json

import pytest
import torch

from playground.augment.spec import make_step
from playground.data.datasets import load_dataset
from playground.models.zoo import model_spec
from playground.training.inputs import first_conv_channels, make_inputs, model_input_shape, resolve_pipeline
from playground.training.loop import TrainConfig, prepare, train
from playground.training.models import resolve_model

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


@pytest.fixture(scope="module")
def shapes():
    return load_dataset("shapes", size=200)


def quick(**kw) -> TrainConfig:
    return TrainConfig(**{**dict(dataset="digits", epochs=2, batch_size=128, lr=0.05, device="cpu"), **kw})


def test_any_zoo_preset_or_spec_is_fitted_to_the_data(tmp_path):
    net = resolve_model("resnet20", num_classes=4, in_channels=1, input_size=(8, 8))
    assert net(torch.zeros(2, 1, 8, 8)).shape == (2, 4) and first_conv_channels(net, 3) == 1
    spec = model_spec("simplecnn", width=0.5)  # what the Architecture Lab saves
    (tmp_path / "half.json").write_text(json.dumps(spec))
    for source in (spec, json.dumps(spec), str(tmp_path / "half.json")):
        net = resolve_model(source, num_classes=3, in_channels=1, input_size=(8, 8))
        assert net(torch.zeros(2, 1, 8, 8)).shape == (2, 3)
        assert net.features[0].out_channels == 16  # the spec's own width survives the fitting
    with pytest.raises(ValueError, match="Unknown model 'no-such-net'"):
        resolve_model("no-such-net", num_classes=4, in_channels=1, input_size=(8, 8))
    with pytest.raises(ValueError, match="larger than|smaller than|too small|kernel"):
        resolve_model("lenet5", num_classes=10, in_channels=1, input_size=(8, 8))  # 5x5 convs do not fit 8x8 digits


def test_none_is_free_and_inputs_are_scaled_and_normalised_once(digits):
    assert resolve_pipeline("none", CPU) == resolve_pipeline(None, CPU)  # no work at all: Inputs scales the batch
    x = digits.train_x[:16]
    mean, std = digits.channel_stats()
    trainer_norm = make_inputs(resolve_pipeline("none", CPU), mean, std, CPU, normalize=True, channels_last=False)
    expected = (x.float() / 255 - mean[0]) / std[0]
    assert torch.allclose(trainer_norm(x), expected, atol=1e-6)

    own = {"steps": [make_step("ToTensor"), make_step("Normalize", mean=[0.5], std=[0.25])]}
    pipe = resolve_pipeline(own, CPU, image_shape=(1, 8, 8))
    assert pipe.normalizes and pipe.batch is not None
    inputs = make_inputs(pipe, mean, std, CPU, normalize=True, channels_last=True)
    assert not inputs.normalize  # the pipeline's Normalize replaces the trainer's
    assert torch.allclose(inputs(x), (x.float() / 255 - 0.5) / 0.25, atol=1e-6)  # not (.. - mean) / std again

    only_tensor = {"steps": [make_step("RandomHorizontalFlip", p=0.0), make_step("ToTensor")]}
    inputs = make_inputs(resolve_pipeline(only_tensor, CPU), mean, std, CPU, normalize=True, channels_last=False)
    assert torch.allclose(inputs(x), expected, atol=1e-6)  # floats from ToTensor are not divided by 255 twice


def test_a_resizing_pipeline_builds_the_model_for_its_output(shapes):
    cfg = quick(dataset="shapes", augment="article-train", val_augment="article-val")
    setup = prepare(cfg, shapes, CPU)
    assert setup.input_shape == (3, 224, 224)
    assert setup.train_inputs.batch is None and setup.train_inputs.per_sample is not None  # RandomResizedCrop
    assert setup.val_inputs.batch is not None  # Resize + CenterCrop + ToTensor + Normalize: batched
    x = setup.train_inputs(shapes.train_x[:2])
    assert x.shape == (2, 3, 224, 224) and setup.net(x).shape == (2, 10)
    assert not setup.train_inputs.normalize and not setup.val_inputs.normalize  # ImageNet's Normalize is in both
    with pytest.raises(ValueError, match="training pipeline gives 224x224 .* validation pipeline gives 32x32"):
        prepare(quick(dataset="shapes", augment="article-train"), shapes, CPU)
    with pytest.raises(ValueError, match="different sizes"):
        prepare(
            quick(augment={"steps": [make_step("RandomRotation", degrees=30, expand=True), make_step("ToTensor")]}),
            load_dataset("digits"),
            CPU,
        )


def test_pipelines_are_checked_against_the_datasets_images(digits):
    with pytest.raises(ValueError, match="32x32 crop is larger than the 8x8 image"):
        train(quick(augment="cifar"), data=digits)
    with pytest.raises(ValueError, match="mean has 3 values but the image has 1 channel"):
        train(quick(augment={"steps": [make_step("ToTensor"), make_step("Normalize")]}), data=digits)


def test_per_sample_and_batched_pipelines_both_train(digits):
    rotate = {"steps": [make_step("RandomRotation", degrees=10), make_step("ToTensor")]}  # no batched form
    crop = {"steps": [make_step("RandomCrop", size=8, padding=1), make_step("ToTensor")]}
    assert resolve_pipeline(rotate, CPU).per_sample is not None and resolve_pipeline(crop, CPU).batch is not None
    for spec in (rotate, crop):
        result = train(quick(epochs=3, augment=spec), data=digits)
        assert result.status == "completed" and result.final("val_accuracy") > 0.8


def test_mixup_and_cutmix_train_on_soft_labels(digits, monkeypatch):
    spec = {"steps": [make_step("ToTensor"), make_step("MixUp", alpha=0.4), make_step("CutMix", alpha=1.0)]}
    pipe = resolve_pipeline(spec, CPU, num_classes=10, image_shape=(1, 8, 8))  # no crop needed: one size already
    images, labels = pipe.mix(torch.rand(8, 1, 8, 8), torch.arange(8))
    assert labels.shape == (8, 10) and torch.allclose(labels.sum(1), torch.ones(8))
    assert resolve_pipeline(spec, CPU, image_shape=(1, 8, 8)).mix is None  # validation never mixes

    import playground.training.loop as train_module

    targets = []
    real = train_module.F.cross_entropy

    def spy(logits, target, **kw):
        targets.append(target)
        return real(logits, target, **kw)

    monkeypatch.setattr(train_module.F, "cross_entropy", spy)
    result = train(quick(epochs=3, augment=spec), data=digits)
    assert result.status == "completed" and result.final("val_accuracy") > 0.7
    training = [t for t in targets if t.ndim == 2]
    assert training and all(t.shape[1] == 10 and torch.allclose(t.sum(1), torch.ones(len(t))) for t in training)


def test_start_event_reports_the_input_the_model_sees(digits):
    events = []
    train(quick(epochs=1), data=digits, emit=events.append)
    start = events[0]
    assert start["input_shape"] == [1, 8, 8] and start["trainable_params"] == start["params"] == 94_410
    assert start["param_groups"] == [{"name": "all", "lr": 0.05, "params": 94_410}]  # the peak rate, before scheduling


def test_model_input_shape_needs_agreeing_pipelines():
    none = resolve_pipeline("none", CPU)
    assert model_input_shape(none, none, (3, 32, 32), CPU) == (3, 32, 32)
    gray = resolve_pipeline({"steps": [make_step("Grayscale", num_output_channels=1), make_step("ToTensor")]}, CPU)
    assert model_input_shape(gray, gray, (3, 32, 32), CPU) == (1, 32, 32)
