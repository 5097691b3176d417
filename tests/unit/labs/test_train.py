"""What the Training page computes without streamlit: curves, progress and ETA, comparisons,
safe links, pre-flight checks and the figures."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from playground.labs.train import clamp_config, overview, preflight
from playground.runs.history import RunHistory, compare_rows, confused_pairs, outcome, smooth, thin
from playground.runs.store import RunInfo
from playground.training.loop import TrainConfig
from playground.viz import train as vz


def events(steps=40, epochs=2, batch=32, dt=0.5) -> list[dict]:
    out = [
        {
            "type": "start",
            "time": 0.2,
            "wall": 1000.0,
            "total_steps": steps * epochs,
            "epochs": epochs,
            "batch_size": batch,
            "params": 10,
            "trainable_params": 10,
            "device": "cpu",
        }
    ]
    for s in range(1, steps * epochs + 1):
        out.append({"type": "step", "time": 0.2 + s * dt, "step": s, "epoch": s / steps, "loss": 2.0 / s, "lr": 0.1})
        if s % steps == 0:
            out.append(
                {
                    "type": "epoch",
                    "epoch": s // steps,
                    "step": s,
                    "time": 0.2 + s * dt,
                    "train_loss": 1 / s,
                    "val_loss": 1.5 / s,
                    "train_accuracy": 0.5,
                    "val_accuracy": 0.6,
                    "lr": 0.1,
                    "images_per_second": 64.0,
                }
            )
    return out


def test_progress_rate_and_eta_from_the_step_events():
    h = RunHistory.from_events(events()[:21])  # start + 20 steps at 2 steps/s
    p = h.progress()
    assert (p.step, p.total_steps, p.fraction) == (20, 80, 0.25)
    assert p.eta_seconds == pytest.approx(30.0) and p.images_per_second == pytest.approx(64.0)
    assert p.text() == "Epoch 0.5 of 2 · step 20 of 80 · 64 img/s · about 30 s left"
    h.add([{"type": "end", "status": "stopped", "reason": ""}])
    assert h.progress().eta_seconds is None and "left" not in h.progress().text()
    assert RunHistory().progress() is None


def test_series_best_and_epoch_alignment():
    h = RunHistory.from_events(events())
    x, y = h.series("val_loss", per="epoch")
    assert x == [1, 2] and y == [1.5 / 40, 1.5 / 80]
    assert h.best()["epoch"] == 1  # the first of equal accuracies
    assert h.step_epochs()[39] == 1.0 and len(h.step_epochs()) == 80
    h.add([{"type": "step", "time": 99, "step": 81, "epoch": 2.1, "loss": None, "lr": 0.1}])  # NaN became null
    assert len(h.series("loss")[0]) == 80


def test_smoothing_is_tensorboards_debiased_ema_and_thin_keeps_the_ends():
    assert smooth([1.0, 1.0, 1.0], 0.9) == pytest.approx([1.0, 1.0, 1.0])  # debiased: no ramp up from 0
    assert smooth([0.0, 10.0], 0.0) == [0.0, 10.0]
    s = smooth([0.0, 10.0], 0.5)
    assert s[1] == pytest.approx((0.25 * 0 + 0.5 * 10) / 0.75)
    xs, ys = thin(list(range(10_001)), list(range(10_001)), max_points=2000)
    assert len(xs) <= 2001 and xs[0] == 0 and xs[-1] == 10_000


def test_outcomes_are_sentences():
    assert (
        outcome("completed", "", {"epochs": 5, "final_val_accuracy": 0.934, "seconds": 41})[1]
        == "Completed 5 epoch(s): 93.4% validation accuracy in 41 s."
    )
    level, text = outcome("diverged", "The loss became NaN at step 3 ... lower learning rate.")
    assert level == "error" and "NaN" in text
    assert outcome("crashed", "")[0] == "error" and "without a word" in outcome("crashed", "")[1]


def test_compare_rows_put_differences_first():
    a = RunInfo("a", None, "completed", "", 0, TrainConfig(lr=0.1).to_dict(), {}, {"final_val_accuracy": 0.9})
    b = RunInfo(
        "b",
        None,
        "completed",
        "",
        0,
        TrainConfig(
            lr=0.2, augment={"steps": [{"name": "RandomCrop", "enabled": True}, {"name": "ToTensor", "enabled": True}]}
        ).to_dict(),
        {},
        {},
    )
    fields, cells, differs = compare_rows([a, b])
    assert fields[:2] == ["augment", "lr"] and differs[:2] == [True, True] and not differs[2]
    assert cells[0] == ["none", "RandomCrop + ToTensor"] and cells[1] == ["0.1", "0.2"]
    assert cells[fields.index("val accuracy")] == ["90.0%", ""]
    assert confused_pairs([[5, 2, 0], [0, 4, 3], [1, 0, 6]], ["a", "b", "c"], 2) == [("b", "c", 3), ("a", "b", 2)]


def test_hostile_links_are_clamped_to_what_the_page_offers(tmp_path):
    upload = tmp_path / "spec.json"
    upload.write_text("{}")
    bad = TrainConfig(
        model="/etc/passwd",
        augment="../../secret.json",
        dataset="imagenet",
        epochs=10**6,
        data_path="/etc",
        optimizer="rmsprop",
        lr=float("1e9"),
    )
    cfg, problems = clamp_config(bad, tmp_path)
    assert (cfg.model, cfg.augment, cfg.dataset, cfg.epochs, cfg.data_path, cfg.optimizer, cfg.lr) == (
        "simplecnn",
        "none",
        "shapes",
        5,
        "",
        "sgd",
        0.8,
    )
    assert len(problems) == 7 and all(p.startswith("The link's ") for p in problems)
    ok = TrainConfig(model=str(upload), dataset="digits", augment="cifar", val_augment="none")
    assert clamp_config(ok, tmp_path) == (ok, [])


def test_preflight_explains_what_cannot_work_before_launching():
    ov = overview(TrainConfig(dataset="digits"))
    assert ov.shape == (1, 8, 8) and ov.num_classes == 10 and len(ov.samples) == 10
    base = TrainConfig(dataset="digits")
    good = preflight(base, ov)
    assert good.ok and good.input_shape == (1, 8, 8) and good.params == 94_410 and good.macs > 0
    assert "does not fit 8x8 inputs" in preflight(replace(base, model="lenet5"), ov).errors[0]
    assert "32x32 crop is larger than the 8x8 image" in preflight(replace(base, augment="cifar"), ov).errors[0]
    assert "Choose one of" in preflight(replace(base, optimizer="rmsprop"), ov).errors[0]
    big = preflight(
        replace(base, model="resnet18", augment="imagenet-train", val_augment="imagenet-val", device="cpu"),
        overview(TrainConfig(dataset="shapes", dataset_size=100)),
    )
    assert big.ok and big.input_shape == (3, 224, 224)
    assert any("large inputs are slow on a CPU" in w for w in big.warnings)
    assert any("augmented one by one" in w for w in big.warnings)


def test_figures_carry_the_numbers():
    h = RunHistory.from_events(events())
    fig = vz.live_figure(h, 0.5).to_dict()
    names = [t["name"] for t in fig["data"]]
    assert names[:2] == ["step loss", "smoothed (0.50)"] and "learning rate" in names
    assert list(fig["data"][3]["y"]) == [1.5 / 40, 1.5 / 80]  # validation loss per epoch
    assert list(fig["layout"]["xaxis"]["range"]) == [0, 80]  # the axis spans the whole run from the start
    cmp = vz.compare_figure({"a": h, "b": h}).to_dict()
    assert len(cmp["data"]) == 6
    # The augmentation experiment adds each run's training accuracy, dashed, beside its validation accuracy.
    pair = vz.compare_figure({"a": h, "b": h}, train_accuracy=True).to_dict()
    dashed = [t for t in pair["data"] if t.get("line", {}).get("dash") == "dash"]
    assert [t["name"] for t in dashed] == ["a (train)", "b (train)"] and all(t["xaxis"] == "x3" for t in dashed)
    x, y = h.series("train_accuracy", per="epoch")
    assert list(dashed[0]["y"]) == [100 * v for v in y] and y
    cm = vz.confusion_figure([[3, 1], [0, 4]], ["cat", "dog"]).to_dict()
    assert cm["data"][0]["text"] == [[3, 1], [0, 4]] and cm["data"][0]["z"][0] == [0.75, 0.25]
    bars = vz.per_class_figure([0.75, None], ["cat", "dog"]).to_dict()
    assert list(bars["data"][0]["text"]) == ["75%", "no images"]
    top = vz.topk_figure([("cat", 0.9), ("dog", 0.1)]).to_dict()
    assert list(top["data"][0]["y"]) == ["dog", "cat"]  # most probable on top
    grid = vz.mosaic(np.zeros((4, 1, 8, 8), dtype=np.uint8), columns=2, min_side=48)
    assert grid.shape == (2 * 48 + 2, 2 * 48 + 2) and math.isclose(grid.mean(), 255 * (grid == 255).mean())
