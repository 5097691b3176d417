"""The training loop: learning, events, schedules, stop, divergence, augmentation paths,
atomic checkpoints and the evaluation helpers."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn as nn

from playground.data.datasets import load_dataset
from playground.models.zoo import build_model
from playground.training.checkpoints import load_checkpoint, save_checkpoint
from playground.training.evaluation import confusion_matrix, evaluate_model, per_class_accuracy, top_k
from playground.training.inputs import Inputs
from playground.training.loop import TrainConfig, train
from playground.training.models import resolve_model
from playground.training.optim import lr_factor


def SimpleCNN(num_classes: int = 10, in_channels: int = 3) -> nn.Module:  # noqa: N802 - reads like the article's class
    """The article's SimpleCNN, from the zoo."""
    return build_model("simplecnn", num_classes=num_classes, in_channels=in_channels)


CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def quick(**kw) -> TrainConfig:
    base = dict(dataset="digits", epochs=2, batch_size=128, lr=0.05, device="cpu")
    base.update(kw)
    return TrainConfig(**base)


def test_simplecnn_learns_digits_and_reports_every_epoch(digits):
    events = []
    result = train(quick(epochs=3), data=digits, emit=events.append)
    assert result.status == "completed" and result.epochs == 3
    assert result.final("val_accuracy") > 0.9  # real handwriting, three short epochs
    kinds = [e["type"] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "end" and kinds.count("epoch") == 3
    start = events[0]
    assert start["train_size"] == len(digits.train_y) and start["total_steps"] == 3 * start["steps_per_epoch"]
    steps = [e for e in events if e["type"] == "step"]
    assert [e["step"] for e in steps] == list(range(1, start["total_steps"] + 1))  # short runs log every step
    assert steps[-1]["loss"] < steps[0]["loss"]
    epoch = [e for e in events if e["type"] == "epoch"][-1]
    for key in ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr", "images_per_second", "time"):
        assert math.isfinite(epoch[key])
    assert 0 <= epoch["val_accuracy"] <= 1 and epoch["images_per_second"] > 0


def test_same_seed_same_run_different_seed_different_run(digits):
    a = train(quick(epochs=1, seed=5), data=digits).history[-1]
    b = train(quick(epochs=1, seed=5), data=digits).history[-1]
    c = train(quick(epochs=1, seed=6), data=digits).history[-1]
    assert a["train_loss"] == b["train_loss"] and a["val_accuracy"] == b["val_accuracy"]
    assert a["train_loss"] != c["train_loss"]


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adamw"])
def test_every_optimizer_trains(digits, optimizer):
    lr = 0.05 if optimizer == "sgd" else 3e-3
    result = train(quick(epochs=2, optimizer=optimizer, lr=lr, schedule="cosine", label_smoothing=0.1), data=digits)
    assert result.status == "completed" and result.final("val_accuracy") > 0.6


def test_schedules_have_the_shapes_the_page_promises():
    total = 100
    assert [lr_factor("constant", s, total) for s in (0, 50, 99)] == [1.0, 1.0, 1.0]
    assert lr_factor("step", 49, total) == 1.0 and lr_factor("step", 50, total) == pytest.approx(0.1)
    assert lr_factor("step", 80, total) == pytest.approx(0.01)
    assert lr_factor("cosine", 0, total) == 1.0 and lr_factor("cosine", 50, total) == pytest.approx(0.5)
    assert lr_factor("cosine", 100, total) == pytest.approx(0.0)
    one = [lr_factor("onecycle", s, total) for s in range(total + 1)]
    assert one[0] == pytest.approx(1 / 25) and max(one) == pytest.approx(1.0) and one.index(max(one)) == 30
    assert one[-1] < 1e-3
    with pytest.raises(ValueError, match="Choose one of"):
        lr_factor("warp", 0, 10)


def test_the_lr_in_the_events_follows_the_schedule(digits):
    events = []
    train(quick(epochs=2, schedule="step", lr=0.1), data=digits, emit=events.append)
    lrs = [e["lr"] for e in events if e["type"] == "step"]
    assert lrs[0] == pytest.approx(0.1) and lrs[-1] == pytest.approx(0.001)


def test_an_absurd_learning_rate_diverges_with_a_sentence(digits, tmp_path):
    events = []
    result = train(
        quick(epochs=3, lr=1e5, schedule="constant"), data=digits, emit=events.append, checkpoint_path=tmp_path / "w.pt"
    )
    assert result.status == "diverged"
    assert "diverged" in result.reason and "learning rate" in result.reason and "lower" in result.reason
    assert events[-1]["type"] == "end" and events[-1]["status"] == "diverged"
    assert not (tmp_path / "w.pt").exists()  # NaN weights are not worth saving
    assert all(math.isfinite(e["loss"]) for e in events if e["type"] == "step")


def test_stop_request_ends_the_run_promptly_and_saves_weights(digits, tmp_path):
    seen = []
    result = train(
        quick(epochs=50),
        data=digits,
        emit=seen.append,
        should_stop=lambda: len(seen) > 5,
        checkpoint_path=tmp_path / "w.pt",
    )
    assert result.status == "stopped" and "Stopped on request" in result.reason
    assert sum(e["type"] == "step" for e in seen) <= 6
    state = load_checkpoint(tmp_path / "w.pt")
    model = SimpleCNN(10, 1)
    model.load_state_dict(state)  # strict: the saved weights are the whole model


def test_an_epoch_event_means_its_weights_are_on_disk(digits, tmp_path):
    """Whoever reads an epoch event (the page, a test that kills the run right then) can load that
    epoch's weights: the checkpoint is written before the event, not after."""
    path, loaded = tmp_path / "w.pt", []

    def on_event(event):
        if event["type"] == "epoch":
            state = load_checkpoint(path)  # raises if the file is not there yet
            loaded.append(sum(float(v.float().sum()) for v in state.values()))

    train(quick(epochs=2), data=digits, emit=on_event, checkpoint_path=path)
    assert len(loaded) == 2 and loaded[0] != loaded[1]  # each event saw its own epoch's weights


def test_batch_augmenter_and_per_sample_transform_are_both_used(digits):
    batch_calls, sample_calls = [], []

    def flip_batch(x):  # uint8 (B, C, H, W) on the device
        batch_calls.append(tuple(x.shape))
        assert x.dtype == torch.uint8
        return torch.where(torch.rand(x.shape[0], 1, 1, 1) < 0.5, x.flip(3), x)

    def per_sample(img):  # uint8 (C, H, W) on the CPU -> float
        sample_calls.append(1)
        return img.float() / 255

    r1 = train(quick(epochs=1), data=digits, train_batch=flip_batch)
    training_calls = [shape for shape in batch_calls if shape[0] > 1]  # the rest: one-image probes of the output size
    assert r1.status == "completed" and len(training_calls) == r1.history[-1]["step"]
    r2 = train(quick(epochs=1), data=digits, train_transform=per_sample)
    assert r2.status == "completed" and len(sample_calls) >= len(digits.train_y) - 128


def test_checkpoints_are_atomic_and_load_with_weights_only(tmp_path, monkeypatch):
    model = SimpleCNN()
    path = tmp_path / "weights.pt"
    save_checkpoint(model.state_dict(), path)
    assert [p.name for p in tmp_path.iterdir()] == ["weights.pt"]  # no temporary file left behind
    loaded = load_checkpoint(path)
    assert all(torch.equal(loaded[k], v) for k, v in model.state_dict().items())

    def dies_halfway(obj, f, *a, **k):
        open(f, "wb").write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", dies_halfway)
    with pytest.raises(OSError):
        save_checkpoint(SimpleCNN().state_dict(), path)
    assert all(torch.equal(load_checkpoint(path)[k], v) for k, v in model.state_dict().items())  # old file intact


def test_weights_only_loading_refuses_pickled_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("this must never run",))

    torch.save({"x": Evil()}, tmp_path / "evil.pt")
    with pytest.raises(Exception, match="[Ww]eights only load failed|Unsupported"):
        load_checkpoint(tmp_path / "evil.pt")


def test_config_validation_gives_sentences():
    for bad, match in [
        (dict(optimizer="rmsprop"), "Choose one of: sgd, adam, adamw"),
        (dict(lr=-1), "positive"),
        (dict(epochs=1000), "between 1 and"),
        (dict(schedule="warp"), "Unknown schedule"),
        (dict(batch_size=0), "batch size"),
        (dict(label_smoothing=1.5), "Label smoothing"),
    ]:
        with pytest.raises(ValueError, match=match):
            TrainConfig(**bad).validate()
    cfg = TrainConfig.from_dict({**TrainConfig(epochs=3).to_dict(), "from_the_future": 1})
    assert cfg.epochs == 3


def test_resolve_model_fits_classes_and_channels():
    model = resolve_model("simplecnn", num_classes=4, in_channels=1, input_size=(8, 8))
    assert model(torch.zeros(2, 1, 8, 8)).shape == (2, 4)
    with pytest.raises(ValueError, match="Unknown model"):
        resolve_model("no-such-net", num_classes=4, in_channels=1, input_size=(8, 8))


def test_evaluation_helpers_agree_with_hand_counts(digits):
    cm = confusion_matrix(torch.tensor([0, 0, 1, 2, 2, 2]), torch.tensor([0, 1, 1, 2, 0, 2]), 3)
    assert cm.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
    assert per_class_accuracy(cm) == [0.5, 1.0, pytest.approx(2 / 3)]
    assert per_class_accuracy(torch.zeros(2, 2, dtype=torch.long)) == [None, None]

    result = train(quick(epochs=2), data=digits)
    mean, std = digits.channel_stats()
    inputs = Inputs(mean, std, CPU, normalize=True, channels_last=True)
    ev = evaluate_model(result.model, digits.val_x, digits.val_y, digits.class_names, inputs, max_misclassified=5)
    assert ev.accuracy == pytest.approx(result.final("val_accuracy"), abs=1e-6)
    assert sum(map(sum, ev.confusion)) == len(digits.val_y)
    assert len(ev.misclassified) <= 5
    confidences = [m["confidence"] for m in ev.misclassified]
    assert confidences == sorted(confidences, reverse=True)
    assert all(m["true"] != m["pred"] and int(digits.val_y[m["index"]]) == m["true"] for m in ev.misclassified)
    right = next(i for i in range(len(digits.val_y)) if i not in {m["index"] for m in ev.misclassified})
    preds = top_k(result.model, digits.val_x[right], digits.class_names, inputs, in_channels=1, image_size=(8, 8), k=3)
    assert len(preds) == 3 and preds[0][1] >= preds[1][1] >= preds[2][1] and sum(p for _, p in preds) <= 1 + 1e-6


def test_a_factory_or_a_module_can_be_passed_in(digits):
    tiny = lambda: nn.Sequential(nn.Flatten(), nn.Linear(64, 10))  # noqa: E731
    result = train(quick(epochs=1, channels_last=False), data=digits, model=tiny)
    assert result.status == "completed" and isinstance(result.model, nn.Sequential)


def test_compile_runs_the_steps_through_torch_compile_and_keeps_the_plain_module(monkeypatch):
    """TrainConfig.compile: the steps go through torch.compile (here its 'eager' backend: dynamo's tracing
    without inductor's minute of C++ compiling), the losses are the eager run's, the model stays plain."""
    import playground as pg

    calls = []
    real = torch.compile

    def spy(model, **kw):
        calls.append(model)
        return real(model, backend="eager")

    monkeypatch.setattr(torch, "compile", spy)
    data = pg.load_dataset("shapes", size=160, image_size=16)
    runs = {}
    for compiled in (False, True):
        events = []
        result = pg.train(epochs=1, batch_size=32, data=data, device="cpu", compile=compiled, emit=events.append)
        runs[compiled] = ([e["loss"] for e in events if e["type"] == "step"], result)
    assert len(calls) == 1 and calls[0] is runs[True][1].model  # compiled once, the plain module inside
    assert runs[True][0] == pytest.approx(runs[False][0], rel=1e-5)
    assert not any(k.startswith("_orig_mod") for k in runs[True][1].model.state_dict())


def test_deterministic_turns_on_deterministic_kernels_for_the_run_only():
    import playground as pg

    seen = []
    data = pg.load_dataset("shapes", size=160, image_size=16)

    def emit(event):
        if event["type"] == "epoch":
            seen.append((torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.deterministic))

    a = pg.train(epochs=1, batch_size=32, data=data, device="cpu", deterministic=True, emit=emit)
    assert seen == [(True, True)]
    assert not torch.are_deterministic_algorithms_enabled() and not torch.backends.cudnn.deterministic  # restored
    b = pg.train(epochs=1, batch_size=32, data=data, device="cpu", deterministic=True)
    assert all(torch.equal(x, y) for x, y in zip(a.model.state_dict().values(), b.model.state_dict().values()))
