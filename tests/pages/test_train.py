"""The Training page through AppTest: launch a tiny digits run, watch it, stop it, read the results,
see failed, diverged and crashed runs explained, compare runs, delete one, and survive bad input.

``run_every`` fragments do not tick by themselves in AppTest: ``poll`` reruns the page until what
a person would see has appeared. Each test has its own run store (``PLAYGROUND_RUNS_DIR``).
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
import zipfile

import pytest
from PIL import Image

from playground.runs import store as runs
from playground.runs.worker import StopFlag, execute_run
from playground.training.loop import TrainConfig

PAGE = "pages/train.py"
DIGITS = {"dataset": "digits"}


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A run store of the test's own (the page and the run processes it launches use it)."""
    monkeypatch.setenv("PLAYGROUND_RUNS_DIR", str(tmp_path / "runs"))
    yield tmp_path / "runs"
    for r in runs.list_runs(tmp_path / "runs"):  # a failed test leaves no run process behind
        if r.active:
            runs.stop(r.path, grace=5)


@pytest.fixture
def page(app_page, store):
    def _open(query: dict | None = None):
        at = app_page(PAGE, query={**DIGITS, **(query or {})})
        assert not at.exception
        return at

    return _open


def poll(at, until, timeout: float = 120, what: str = "the page to show it"):
    """Rerun the page (what the 1-second fragment does in a browser) until ``until(at)`` holds."""
    deadline = time.monotonic() + timeout
    while True:
        at.run()
        assert not at.exception, at.exception
        if until(at):
            return at
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.4)


def texts(at, kind: str) -> str:
    return " ".join(e.value for e in getattr(at, kind))


def chart(at, key: str) -> dict | None:
    for c in at.get("plotly_chart"):
        if c.proto.id.endswith(key):
            return json.loads(c.proto.spec)
    return None


def epoch_losses(fig: dict | None) -> list[float]:
    """The validation loss per epoch in the live chart (its fourth trace)."""
    return fig["data"][3]["y"] if fig and len(fig["data"]) > 3 else []


def progress_text(at) -> str:
    bars = at.get("progress")
    return bars[0].proto.text if bars else ""


def finished_run(store, **kw):
    """A run trained in this process (no subprocess): fast, and the page reads it like any other."""
    run = runs.create_run(TrainConfig(**{"dataset": "digits", "epochs": 2, "lr": 0.05, "device": "cpu", **kw}), store)
    execute_run(run, stop_flag=StopFlag())
    return run


def png(colour=(250, 250, 250)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 40), colour).save(buf, "PNG")
    return buf.getvalue()


def test_opens_ready_to_launch_with_a_shareable_setup(page):
    at = page()
    assert at.title[0].value == "Training Runs"
    assert "1,438** training and **359** validation images, 10 classes, 8x8 grey" in texts(at, "markdown")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Parameters"] == "94,410" and metrics["Input"] == "1×8×8"  # SimpleCNN fitted to 8x8 grey digits
    assert not at.button(key="train_launch").disabled
    assert "No runs yet" in texts(at, "info")
    at.number_input(key="train_lr").set_value(0.1).run()
    at.selectbox(key="train_schedule").set_value("cosine").run()
    assert at.query_params["lr"] == "0.1" and at.query_params["schedule"] == "cosine"


def test_launch_watch_live_stop_results_and_reattach(page, app_page, store):
    at = page({"epochs": "100", "batch_size": "32"})
    at.button(key="train_launch").click().run()
    run_id = at.query_params["run"]
    assert (store / run_id / "config.json").is_file()
    poll(at, lambda a: len(epoch_losses(chart(a, "train_live_chart"))) >= 1, what="the live curves of epoch 1")
    fig = chart(at, "train_live_chart")
    step_loss = fig["data"][1]["y"]  # the smoothed training loss per step
    assert len(step_loss) >= 3 and step_loss[-1] < step_loss[0]
    assert progress_text(at).startswith("Epoch ") and "img/s" in progress_text(at)

    again = app_page(PAGE, query={**DIGITS, "run": run_id})  # a reload: a new session, the link only
    assert not again.exception and run_id in texts(again, "markdown")
    assert again.button(key="train_stop") and chart(again, "train_live_chart")

    at.button(key="train_stop").click().run()
    poll(
        at, lambda a: runs.read_status(store / run_id)["status"] == "stopped" and at.get("tabs"), what="the run to stop"
    )
    assert "Stopped on request" in texts(at, "info")
    assert not at.button(key="train_launch").disabled and not [b for b in at.button if b.key == "train_stop"]
    cm = chart(at, "train_cm")  # results of a stopped run: its last saved epoch, evaluated
    assert cm and sum(map(sum, cm["data"][0]["text"])) == 359
    assert chart(at, "train_per_class")
    assert {d.proto.label for d in at.get("download_button")} == {
        "Download weights (state_dict)",
        "Download config (JSON)",
        "Download .onnx",  # the model file, ONNX by default (safetensors and .pt2 in the picker)
    }


def test_failed_diverged_and_crashed_runs_say_why(page, store, monkeypatch):
    diverged = finished_run(store, lr=1e5, schedule="constant")
    monkeypatch.setenv("PLAYGROUND_OFFLINE", "1")
    monkeypatch.setenv("PLAYGROUND_DATA_DIR", str(store.parent / "nodata"))
    failed = finished_run(store, dataset="cifar10")
    crashed = runs.create_run(TrainConfig(dataset="digits"), store)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    runs.write_json_atomic(crashed / "process.json", {"pid": dead.pid, "start_ticks": 1})
    runs.set_status(crashed, "running", "")

    at = page({"run": diverged.name})
    assert "training diverged" in texts(at, "error") and "learning rate 3-10 times lower" in texts(at, "error")
    at.selectbox(key="train_run").set_value(failed.name).run()
    assert "cifar-10-batches-py" in texts(at, "error")
    at.selectbox(key="train_run").set_value(crashed.name).run()
    assert "ended without a word" in texts(at, "error")
    statuses = set(at.dataframe[0].value["Status"])
    assert statuses == {"diverged", "failed", "crashed"}


def test_compare_two_runs_then_delete_one(page, store):
    a = finished_run(store, lr=0.05)
    b = finished_run(store, lr=0.2, label_smoothing=0.0)
    at = page()
    at.multiselect(key="train_compare").set_value([a.name, b.name]).run()
    fig = chart(at, "train_compare_chart")
    assert fig and len({t["name"] for t in fig["data"]}) == 2
    table = at.dataframe[1].value
    assert list(table.index) == ["lr", "label_smoothing", "status", "val accuracy", "val loss", "images/s", "seconds"]
    assert list(table.loc["lr"]) == ["0.05", "0.2"]
    assert "The same in all: model simplecnn, dataset digits" in texts(at, "caption")

    at.selectbox(key="train_run").set_value(a.name).run()
    at.button(key="train_delete").click().run()
    assert not at.exception and not a.exists() and b.exists()
    assert f"Deleted run {a.name}" in texts(at, "success")
    assert at.selectbox(key="train_run").value == b.name


def test_predictions_and_loaded_weights(page, store):
    run = finished_run(store)
    at = page({"run": run.name})
    at.file_uploader(key="train_predict_upload").upload("white.png", png(), "image/png").run()
    assert not at.exception and chart(at, "train_topk")
    assert len(chart(at, "train_topk")["data"][0]["y"]) == 5
    weights = (run / "weights.pt").read_bytes()
    at.file_uploader(key="train_weights_upload").upload("mine.pt", weights, "application/octet-stream").run()
    assert "mine.pt loaded" in texts(at, "success") and "with uploaded weights" in texts(at, "markdown")
    at.file_uploader(key="train_weights_upload").upload("cat.pt", png(), "application/octet-stream").run()
    assert not at.exception and "not a PyTorch weights file" in texts(at, "error")
    at.file_uploader(key="train_predict_upload").upload("notes.png", b"not an image", "image/png").run()
    assert "not an image" in texts(at, "error")


def test_bad_setups_and_hostile_links_get_sentences(page, store):
    at = page({"model": "/etc/passwd", "epochs": "100000"})
    warnings = texts(at, "warning")
    assert "not a model preset" in warnings and "epochs" in warnings
    assert at.selectbox(key="train_model").value == "simplecnn"
    at.selectbox(key="train_model").set_value("lenet5").run()
    assert "does not fit 8x8 inputs" in texts(at, "error") and at.button(key="train_launch").disabled
    at.selectbox(key="train_model").set_value("simplecnn").run()
    at.selectbox(key="train_augment").set_value("article-train").run()
    assert "Normalize" in texts(at, "error") and at.button(key="train_launch").disabled  # ImageNet means, grey images
    at.selectbox(key="train_augment").set_value("none").run()
    at.file_uploader(key="train_model_upload").upload("broken.json", b'{"layers": [', "application/json").run()
    assert "broken.json is not a usable model spec" in texts(at, "error")
    assert not at.button(key="train_launch").disabled


def test_your_own_images_from_a_zip(page, store):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, colour in (("red", (220, 30, 30)), ("blue", (30, 30, 220))):
            for i in range(6):
                z.writestr(f"{name}/{i}.png", png(colour))
        z.writestr("readme.txt", "not an image")
    at = page()
    at.selectbox(key="train_dataset").set_value("images").run()
    assert at.button(key="train_launch").disabled and "Upload a zip" in texts(at, "info")
    at.file_uploader(key="train_zip_upload").upload("colours.zip", buf.getvalue(), "application/zip").run()
    assert not at.exception
    assert "2 classes, 32x32 RGB" in texts(at, "markdown") and not at.button(key="train_launch").disabled
    assert [i.caption for el in at.get("image") for i in el.proto.imgs][:2] == ["blue (5)", "red (5)"]


def test_the_lr_finder_sweeps_plots_and_sets_the_suggested_rate(page):
    from playground.training.lr_find import lr_find

    at = page({"batch_size": "64"})
    at.button(key="train_lr_find").click().run()
    assert not at.exception
    chart = next(c for c in at.get("plotly_chart") if c.proto.id and "train_lr_find_chart" in c.proto.id)
    assert chart
    # The page's sweep is the core's: the same seeded config gives the same suggestion.
    expected = lr_find(TrainConfig(dataset="digits", batch_size=64), steps=60).suggestion
    assert any(f"**{expected:.2g}**" in md.value for md in at.markdown)
    at.button(key="train_use_lr").click().run()
    assert at.number_input(key="train_lr").value == float(f"{expected:.2g}")


def test_the_live_chart_is_redrawn_only_with_news_and_at_most_every_few_seconds(monkeypatch):
    """Watching must not slow the run: a poll with nothing new (or only a few new steps, soon after the last
    redraw) sends the same figure, which the browser does not redraw; an epoch, the smoothing or time redraws."""
    import pathlib

    from playground.runs.history import RunHistory
    from ui.train import live

    clock = [1000.0]
    monkeypatch.setattr(live, "_now", lambda: clock[0])
    run = pathlib.Path("/nonexistent/run-for-the-chart-test")
    h = RunHistory().add([{"type": "start", "time": 0, "total_steps": 100, "epochs": 2, "batch_size": 8}])
    step = lambda i: {"type": "step", "time": i, "step": i, "epoch": i / 50, "loss": 2.0 / i, "lr": 0.1}  # noqa: E731
    h.add([step(1)])
    first = live.chart(run, h, 0.6, True)
    assert live.chart(run, h, 0.6, True) is first  # nothing new
    h.add([step(2), step(3)])
    clock[0] += live.CHART_SECONDS / 2
    assert live.chart(run, h, 0.6, True) is first  # new steps, but the last redraw is recent
    clock[0] += live.CHART_SECONDS / 2
    later = live.chart(run, h, 0.6, True)
    assert later is not first and later.to_dict()["data"][0]["x"] == [1, 2, 3]
    h.add([{"type": "epoch", "time": 4, "epoch": 1, "step": 4, "train_loss": 1.0, "val_loss": 1.1,
            "train_accuracy": 0.5, "val_accuracy": 0.4, "lr": 0.1}])  # fmt: skip
    with_epoch = live.chart(run, h, 0.6, True)
    assert with_epoch is not later and with_epoch.to_dict()["data"][3]["y"] == [1.1]  # at once
    assert live.chart(run, h, 0.3, True) is not with_epoch  # the smoothing slider: at once


def test_the_page_keeps_working_on_a_full_disk(page, store, monkeypatch):
    # Fault injection (issue 12): a run died while the disk filled up, and the disk is still full. Every
    # write the store tries fails with ENOSPC; the page must still open, list the run truthfully and say why.
    from tests.unit.runs.test_full_disk import FullDisk

    done = finished_run(store)
    dead = runs.create_run(TrainConfig(dataset="digits", epochs=3, device="cpu"), store)
    runs.set_status(dead, "running", "")
    monkeypatch.setattr(runs, "pid_alive", lambda *a, **k: False)  # its process is gone
    (dead / "process.json").write_text('{"pid": 999999}')
    FullDisk(monkeypatch).full = True
    at = page({"run": done.name})
    assert not at.exception
    listed = {r.id: r for r in runs.list_runs(store)}
    assert listed[dead.name].status == "crashed" and "disk holding the runs is full" in listed[dead.name].reason
    assert "Results" in [h.value for h in at.subheader]  # the finished run's results still show


def test_the_augmentation_experiment_launches_the_pair_and_compares_their_gaps(page, store):
    at = page({"dataset": "shapes", "augment": "none"})
    pair = at.button(key="train_launch_pair")
    assert pair.disabled and "Pick a training pipeline first" in texts(at, "caption")
    at.selectbox(key="train_augment").set_value("cifar").run()
    assert not at.button(key="train_launch_pair").disabled
    at.button(key="train_launch_pair").click().run()
    assert not at.exception
    launched = runs.list_runs(store)
    assert len(launched) == 2 and "Two runs launched" in texts(at, "info")
    configs = sorted((r.config for r in launched), key=lambda c: c["augment"])
    assert [c["augment"] for c in configs] == ["cifar", "none"]
    assert {c["dataset_size"] for c in configs} == {1000} and {c["batch_size"] for c in configs} == {32}
    assert sorted(at.multiselect(key="train_compare").value) == sorted(r.id for r in launched)
    for r in launched:
        runs.stop(r.path, grace=5)

    # Two finished runs of a pair (trained here, quickly): the gap table and the sentence, from their own numbers.
    small = {"dataset": "shapes", "dataset_size": 200, "epochs": 2, "batch_size": 32}
    with_aug, without = finished_run(store, augment="cifar", **small), finished_run(store, augment="none", **small)
    at = page({"dataset": "shapes"})
    at.multiselect(key="train_compare").set_value([with_aug.name, without.name]).run()
    fig = chart(at, "train_compare_chart")
    assert {"with cifar (train)", "without augmentation (train)"} <= {t["name"] for t in fig["data"]}
    gap = next(d.value for d in at.dataframe if list(d.value.columns)[:2] == ["Run", "Epoch"])
    assert list(gap["Run"]) == ["without augmentation", "with cifar"]
    last = runs.run_info(without).final
    sentence = texts(at, "info").replace("\\", "")  # shown as plain text: Markdown's characters escaped
    assert f"Without augmentation: validation {100 * last['final_val_accuracy']:.1f}%" in sentence


def test_every_rerun_sends_the_browser_each_setting_not_its_default(page):
    # A browser that lost its widget values (a second run right after the first, on a loaded server)
    # rebuilds each widget from what this run sent. Each must carry the link's value, not the widget's
    # declared default: a Launch click then started a 1-epoch, batch-1 run on the first dataset.
    at = page({"epochs": "100", "batch_size": "32"})
    at.run()  # the second run, where only values the script set reach the browser
    epochs, batch = at.number_input(key="train_epochs"), at.number_input(key="train_batch_size")
    dataset = at.selectbox(key="train_dataset")
    assert epochs.proto.set_value and epochs.proto.value == 100 and epochs.proto.default != 100
    assert batch.proto.set_value and batch.proto.value == 32
    assert dataset.proto.set_value and dataset.value == "digits"


def test_watch_it_learn_steps_through_a_finished_runs_snapshots(page, store, monkeypatch):
    from playground.training import snapshots as sn

    monkeypatch.setattr(sn, "SNAPSHOT_SHARE", float("inf"))  # every snapshot: a 1-second run would keep two
    run = finished_run(store)
    snapshots = json.loads((runs.snapshots_dir(run) / "index.json").read_text())["snapshots"]
    at = page({"run": run.name})
    form_before = {k: at.query_params[k] for k in at.query_params}
    assert "Watch it learn" in [h.value for h in at.subheader]
    slider = at.select_slider(key=f"train_learn_step_{run.name}")
    assert len(slider.options) == len(snapshots) >= 3 and slider.value == slider.options[-1]  # the newest first
    shown = lambda a: next(m.value for m in a.markdown if "validation images right" in m.value)  # noqa: E731
    assert shown(at).startswith(f"**Step {snapshots[-1]['step']} ·")
    cm = chart(at, "train_learn_cm_browse")
    assert sum(map(sum, cm["data"][0]["text"])) == snapshots[-1]["images"]  # the whole validation set

    slider.set_value(slider.options[0]).run()
    assert not at.exception
    assert shown(at).startswith("**Step 0 ·")
    cm = chart(at, "train_learn_cm_browse")
    assert sum(map(sum, cm["data"][0]["text"])) == snapshots[0]["images"]
    assert chart(at, "train_learn_topk_browse") and at.get("image")  # Grad-CAM, filters, feature maps
    # The section keeps to its own state: the setup form and its link are untouched.
    assert {k: at.query_params[k] for k in at.query_params} == form_before
    assert at.number_input(key="train_epochs").value == TrainConfig().epochs


def test_watch_it_learn_says_how_many_snapshots_a_short_run_left_out(page, store):
    run = finished_run(store)  # about a second of training: the time share keeps the first and the last
    index = json.loads((runs.snapshots_dir(run) / "index.json").read_text())
    assert index["thinned"] > 0 and [e["epoch"] for e in index["snapshots"]] == [0, 2]
    at = page({"run": run.name})
    n = index["thinned"]
    assert any(f"{n} more {'was' if n == 1 else 'were'} left out" in c.value for c in at.caption)
    assert any("to its last epoch" in c.value for c in at.caption)  # not "after every epoch"
