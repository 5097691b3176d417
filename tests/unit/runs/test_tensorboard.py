"""Every run writes TensorBoard event files; read back with TensorBoard's own event reader they say
what events.jsonl says. Older runs are exported with `runs --export-tensorboard`."""

from __future__ import annotations

import json

import numpy as np
import pytest

from playground.cli import main
from playground.runs import store as runs
from playground.runs.tensorboard import CELL, EVENT_GLOB, has_tensorboard


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    from playground.runs.worker import StopFlag, execute_run
    from playground.training.loop import TrainConfig

    root = tmp_path_factory.mktemp("runs")
    config = TrainConfig(dataset="digits", epochs=2, device="cpu", lr=0.1, batch_size=64, log_every=5)
    run = runs.create_run(config, root)
    assert execute_run(run, stop_flag=StopFlag(), use_queue=False)["status"] == "completed"
    return run


def _reader(run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run), size_guidance={"scalars": 0, "images": 0, "tensors": 0})
    acc.Reload()
    return acc


def _series(acc, tag):
    return [(s.step, s.value) for s in acc.Scalars(tag)]


def _assert_matches_events(run):
    events, _ = runs.read_events(run)
    acc = _reader(run)
    steps = [e for e in events if e["type"] == "step"]
    epochs = [e for e in events if e["type"] == "epoch"]
    assert len(steps) > 5 and len(epochs) == 2
    # TensorBoard keeps float32: compare at its precision.
    assert _series(acc, "train/loss") == [(e["step"], pytest.approx(e["loss"], rel=1e-6)) for e in steps]
    assert _series(acc, "train/lr") == [(e["step"], pytest.approx(e["lr"], rel=1e-6)) for e in steps]
    for key in ("train_loss", "val_loss", "train_accuracy", "val_accuracy", "images_per_second", "lr"):
        assert _series(acc, f"epoch/{key}") == [(e["step"], pytest.approx(e[key], rel=1e-6)) for e in epochs]
    return acc, epochs


def test_a_run_writes_tensorboard_files_that_say_what_events_jsonl_says(run_dir):
    from PIL import Image
    from tensorboard.plugins.hparams import plugin_data_pb2

    assert has_tensorboard(run_dir)
    acc, epochs = _assert_matches_events(run_dir)
    # The confusion matrix, as a picture: 10x10 cells; the diagonal (most answers right) is the darkest.
    (image,) = acc.Images("evaluation/confusion_matrix")
    pixels = np.asarray(Image.open(__import__("io").BytesIO(image.encoded_image_string)).convert("RGB"))
    assert (image.width, image.height) == (10 * CELL, 10 * CELL)
    confusion = json.loads((run_dir / "evaluation.json").read_text())["confusion"]
    i = int(np.argmax(np.diag(confusion)))
    j = (i + 1) % 10
    centre = CELL // 2 + 6  # below the count's text
    assert pixels[i * CELL + centre, i * CELL + 2, 0] < pixels[i * CELL + centre, j * CELL + 2, 0]
    assert acc.Tags()["graph"], "the model graph was traced"
    # The hyperparameters, with the final validation accuracy as their metric.
    content = acc.PluginTagToContent("hparams")
    start = next(
        plugin_data_pb2.HParamsPluginData.FromString(v).session_start_info
        for v in content.values()
        if plugin_data_pb2.HParamsPluginData.FromString(v).HasField("session_start_info")
    )
    assert start.hparams["model"].string_value == "simplecnn" and start.hparams["lr"].number_value == 0.1
    assert start.hparams["status"].string_value == "completed"
    assert _series(acc, "hparam/val_accuracy")[-1][1] == pytest.approx(epochs[-1]["val_accuracy"], rel=1e-6)


def test_runs_export_tensorboard_writes_the_files_for_an_older_run(run_dir, capsys):
    for f in run_dir.glob(EVENT_GLOB):  # a run made before TensorBoard files existed
        f.unlink()
    assert not has_tensorboard(run_dir)
    assert main(["runs", "--runs-dir", str(run_dir.parent), "--export-tensorboard"]) == 0
    out = capsys.readouterr().out
    assert f"{run_dir.name}: TensorBoard files written" in out and "1 of 1 run(s) exported" in out
    assert f"tensorboard --logdir {run_dir.parent}" in out
    _assert_matches_events(run_dir)
    assert main(["runs", "--runs-dir", str(run_dir.parent), "--export-tensorboard", run_dir.name]) == 0
    assert "0 of 1 run(s) exported" in capsys.readouterr().out  # it has them now: left alone


def test_the_runs_snapshots_follow_it_into_tensorboard_as_small_images(run_dir):
    from playground.runs.tensorboard import SNAPSHOT_WIDTH
    from playground.training import snapshots as sn

    index = sn.read_index(runs.snapshots_dir(run_dir))
    steps = [e["step"] for e in index["snapshots"]]
    assert steps and steps[0] == 0
    acc = _reader(run_dir)
    tags = acc.Tags()["images"]
    expected = {"snapshots/filters", "snapshots/grad_cam", "snapshots/confusion_matrix"} | {
        f"snapshots/feature_maps/{name}" for name in index["layers"]
    }
    assert expected <= set(tags)
    for tag in expected:  # one picture per snapshot, at its step, a fixed small width (grey digits drawn in RGB)
        images = acc.Images(tag)
        assert [i.step for i in images] == steps
        assert {i.width for i in images} == {SNAPSHOT_WIDTH}
    assert "snapshots/top3/text_summary" in acc.Tags()["tensors"]  # the top-3 predictions, as text
