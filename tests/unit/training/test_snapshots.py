"""Snapshots of a run as it learns ("Watch it learn"): the steps recorded, the budget, atomic writes, and
what they hold checked against torch itself (the model's own weights and outputs)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from playground.data.datasets import load_dataset
from playground.training import snapshots as sn
from playground.training.loop import TrainConfig, train
from playground.training.models import resolve_model

CONFIG = dict(dataset="digits", epochs=2, batch_size=32, lr=0.05, device="cpu")


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("run") / "snapshots"
    events: list[dict] = []
    with pytest.MonkeyPatch.context() as mp:  # every snapshot (the time share thins them on a run this short)
        mp.setattr(sn, "SNAPSHOT_SHARE", float("inf"))
        result = train(TrainConfig(**CONFIG), emit=events.append, snapshot_dir=folder)
    assert result.status == "completed"
    return folder, events, result


def test_snapshots_at_the_early_steps_and_after_every_epoch(recorded):
    folder, events, _ = recorded
    start = next(e for e in events if e["type"] == "start")
    per_epoch, total = start["steps_per_epoch"], start["total_steps"]
    epoch_ends = [e["step"] for e in events if e["type"] == "epoch"]
    expected = sorted({s for s in sn.EARLY_STEPS if s < total} | set(epoch_ends))
    index = sn.read_index(folder)
    assert [e["step"] for e in index["snapshots"]] == expected and 50 in expected  # 0, 10, 50, then each epoch
    assert [e["step"] for e in events if e["type"] == "snapshot"] == expected  # each announced by an event
    assert [e["epoch"] for e in index["snapshots"]][-1] == 2 and index["snapshots"][1]["epoch"] == round(
        10 / per_epoch, 4
    )


def test_a_short_run_leaves_snapshots_out_to_keep_its_time_share_but_keeps_the_first_and_last(tmp_path, monkeypatch):
    # A snapshot costs what it costs whatever the run's length: with all of them, a 9-second run (1,600
    # shapes) spent 4.6% of its time on them. Past the share, the loop leaves one out and counts it in the index.
    events: list[dict] = []
    monkeypatch.setattr(sn, "SNAPSHOT_SHARE", 1e-6)  # any time already spent is over the share
    train(TrainConfig(**CONFIG), emit=events.append, snapshot_dir=tmp_path)
    epoch_ends = [e["step"] for e in events if e["type"] == "epoch"]
    possible = sorted({s for s in sn.EARLY_STEPS} | set(epoch_ends))
    index = sn.read_index(tmp_path)
    kept = [e["step"] for e in index["snapshots"]]
    assert kept == [0, epoch_ends[-1]]  # the untrained net and the final one
    assert index["thinned"] == len(possible) - len(kept) > 0


def test_files_are_small_under_budget_and_written_atomically(recorded):
    folder, _, _ = recorded
    index = sn.read_index(folder)
    files = {p.name: p.stat().st_size for p in folder.iterdir()}
    assert not [n for n in files if n.endswith(".tmp")]
    assert {e["file"] for e in index["snapshots"]} | {sn.INDEX, sn.IMAGES} == set(files)
    assert all(files[e["file"]] == e["bytes"] for e in index["snapshots"])
    assert sum(files.values()) < sn.BUDGET_BYTES and not index["stopped"]


def test_filters_are_the_models_first_conv_weights_and_they_change(recorded):
    folder, _, result = recorded
    index = sn.read_index(folder)
    first, last = (sn.load(folder, index["snapshots"][i]) for i in (0, -1))
    torch.manual_seed(TrainConfig().seed)  # the loop builds its model right after seeding: the same initial weights
    fresh = resolve_model("simplecnn", num_classes=10, in_channels=1, input_size=(8, 8))
    conv1 = next(m for m in fresh.modules() if isinstance(m, torch.nn.Conv2d))
    assert np.array_equal(first["filters"], conv1.weight.detach().numpy())  # step 0: the initial weights
    trained = next(m for m in result.model.modules() if isinstance(m, torch.nn.Conv2d))
    assert np.array_equal(last["filters"], trained.weight.detach().numpy())  # the last step: the final weights
    assert np.abs(last["filters"] - first["filters"]).max() > 1e-3  # the filters moved while it learned


def test_confusion_counts_the_images_evaluated_and_agrees_with_the_epoch(recorded):
    folder, events, _ = recorded
    index = sn.read_index(folder)
    epochs = {e["step"]: e for e in events if e["type"] == "epoch"}
    val_size = next(e for e in events if e["type"] == "start")["val_size"]
    for entry in index["snapshots"]:
        cm = sn.load(folder, entry)["confusion"]
        n = val_size if entry["step"] in epochs else min(sn.EARLY_EVAL, val_size)
        assert cm.sum() == entry["images"] == n
        if entry["step"] in epochs:  # the loop's own accuracy, counted another way
            assert np.trace(cm) / n == pytest.approx(epochs[entry["step"]]["val_accuracy"], abs=1e-9)


def test_top3_and_grad_cam_follow_the_model_on_the_fixed_images(recorded):
    folder, _, result = recorded
    last = sn.load(folder, sn.read_index(folder)["snapshots"][-1])
    data = load_dataset("digits")
    idx = sn.pick_images(data.val_y.tolist())
    assert len(set(data.val_y[idx].tolist())) == 4 and last["labels"].tolist() == data.val_y[idx].tolist()
    with torch.no_grad():
        probs = result.model(result.val_inputs(data.val_x[idx])).softmax(1)
    p, i = probs.topk(3, dim=1)
    assert np.array_equal(last["top_i"], i.numpy()) and np.allclose(last["top_p"], p.numpy(), atol=1e-6)
    assert last["cam"].shape == (4, 8, 8) and last["cam"].max() == 255  # scaled to [0, 1] per image
    assert last["images"].shape == (4, 1, 8, 8) and np.array_equal(last["images"], data.val_x[idx].numpy())


def test_recording_stops_cleanly_at_the_budget(tmp_path):
    data = load_dataset("digits")
    model = resolve_model("simplecnn", num_classes=10, in_channels=1, input_size=(8, 8)).eval()
    inputs = lambda x: x.float() / 255  # noqa: E731 - any model-ready conversion does here
    probe = sn.SnapshotRecorder(
        tmp_path / "probe", val_x=data.val_x, val_y=data.val_y, val_inputs=inputs, class_names=data.class_names
    )
    one = probe.record(model, step=0, epoch=0.0)["bytes"]
    budget = (probe.used - one) + 2 * one + 4096 + one // 2  # the images and room for two snapshots, not three
    rec = sn.SnapshotRecorder(
        tmp_path / "s",
        val_x=data.val_x,
        val_y=data.val_y,
        val_inputs=inputs,
        class_names=data.class_names,
        budget=budget,
    )
    written = [rec.record(model, step=s, epoch=s / 10) for s in range(5)]
    assert [w is not None for w in written] == [True, True, False, False, False]
    index = sn.read_index(tmp_path / "s")
    assert len(index["snapshots"]) == 2 and "Recording stopped at step 2" in index["stopped"]
    assert sum(p.stat().st_size for p in (tmp_path / "s").iterdir()) < budget


@pytest.mark.parametrize("channels", [1, 3])
def test_grad_cam_overlays_grey_and_colour_images(channels):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (4, channels, 32, 32), dtype=np.uint8)
    cams = rng.integers(0, 256, (4, 32, 32), dtype=np.uint8)
    picture = sn.cam_picture(images, cams, side=96)
    assert picture.shape == (96, 4 * 96 + 3 * 2, 3) and picture.dtype == np.uint8
    filters = sn.filters_picture(rng.normal(size=(16, channels, 3, 3)))
    assert filters.ndim == 3 and filters.shape[2] == 3
