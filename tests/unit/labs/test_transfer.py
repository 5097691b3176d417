"""The Transfer page's core: its config, counting with a run's model as backbone, uploaded weights,
the fine-tuning and from-scratch run configs, the head designer's edits and the curves it compares."""

from __future__ import annotations

import io
import json

import pytest
import torch
import torchvision

from playground.data.datasets import load_dataset
from playground.labs import transfer as tl
from playground.models import transfer
from playground.models.transfer import TransferConfig
from playground.runs import store as runs
from playground.runs.worker import StopFlag, execute_run
from playground.training.loop import TrainConfig


def lab(**kw) -> tl.TransferLabConfig:
    """The page's config as it defaults where ImageNet weights are here (offline it is the bundled experiment)."""
    return tl.TransferLabConfig(**{**tl.IMAGENET_EXPERIMENT, **kw})


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """A SimpleCNN trained for one epoch on the bundled digits (about a second)."""
    root = tmp_path_factory.mktemp("runs")
    run = runs.create_run(TrainConfig(dataset="digits", epochs=1, device="cpu"), root)
    assert execute_run(run, stop_flag=StopFlag())["status"] == "completed"
    return run


def test_the_page_defaults_are_the_articles_setup():
    cfg = lab()  # the default where ImageNet weights are here
    tc = cfg.transfer_config()
    assert (tc.backbone, tc.num_classes, tc.mode) == ("resnet50", 5, "feature_extraction")
    assert tc.head == transfer.article_head()
    info = tl.lab_describe(cfg)
    assert transfer.article_line(info["trainable"], info["total"]) == "Trainable: 525,829 / 24,033,861 parameters"
    assert "Linear(in_features=2048, out_features=256" in info["head_module"]
    assert cfg.transfer_config(num_classes=10).num_classes == 10


def test_the_default_experiment_follows_the_imagenet_weights(monkeypatch, tmp_path):
    import torch

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    assert (tl.TransferLabConfig().backbone, tl.TransferLabConfig().weights) == ("shapes_resnet8", "bundled")
    (tmp_path / "checkpoints").mkdir()
    torch.save({}, transfer.imagenet_weights_file("resnet50"))
    cfg = tl.TransferLabConfig()
    assert (cfg.backbone, cfg.weights, cfg.dataset, cfg.mode) == (
        "resnet50",
        "imagenet",
        "shapes",
        "feature_extraction",
    )


def test_a_run_trained_here_is_a_backbone_with_its_own_stages(digits_run):
    factory, about = tl.run_model_factory(digits_run)
    assert about["model"] == "simplecnn" and about["in_channels"] == 1
    assert about["classes"] == [str(d) for d in range(10)]
    info = tl.lab_describe(lab(weights="run", num_classes=3), digits_run)
    # SimpleCNN's three conv blocks, then the new head replacing its classifier (Linear 128 -> 10).
    assert [s[0] for s in info["stages"]] == ["block1", "block2", "block3", "head (new)"]
    simple = sum(p.numel() for p in factory().parameters())
    head = (128 * 256 + 256) + (256 * 3 + 3)
    assert info["total"] == simple - (128 * 10 + 10) + head and info["trainable"] == head
    # Its real weights fit it; a transfer run is refused as a backbone with a sentence.
    state = torch.load(digits_run / "weights.pt", weights_only=True)
    assert tl.check_uploaded_weights(lab(weights="run"), state, digits_run) == len(state) - 2
    # Launched: the transfer run starts from the run's weights; its twin is that model from scratch.
    tune, scratch = tl.run_configs(
        lab(weights="run", dataset="digits"), num_classes=10, n_stages=3, from_run=str(digits_run)
    )
    assert tune.model["weights"] == "run" and tune.model["from_run"] == str(digits_run)
    assert scratch.model == "simplecnn" and (scratch.dataset, scratch.epochs) == (tune.dataset, tune.epochs)
    roles = [tl.run_role(type("R", (), {"config": {"model": c.model}})) for c in (tune, scratch)]
    assert roles == ["feature extraction", "from scratch"]
    assert tl.backbone_name(tune.model) == "simplecnn from a run" and tl.backbone_name({"backbone": "vgg16"}) == "vgg16"


def test_a_transfer_run_is_not_offered_as_a_backbone(tmp_path):
    cfg = TrainConfig(model=tl.model_dict(TransferConfig()), dataset="shapes")
    run = runs.create_run(cfg, tmp_path)
    (run / "dataset.json").write_text(json.dumps({"classes": ["a", "b"], "in_channels": 3, "image_size": [32, 32]}))
    with pytest.raises(ValueError, match="itself a transfer-learning run"):
        tl.run_model_factory(run)


def test_uploaded_weights_are_checked_against_the_chosen_backbone_on_the_meta_device(tmp_path):
    buf = io.BytesIO()
    torch.save(torchvision.models.resnet18().state_dict(), buf)
    sd = transfer.read_weights_file(buf.getvalue())
    assert tl.check_uploaded_weights(lab(backbone="resnet18"), sd) == len(sd) - 2  # fc.weight/bias
    with pytest.raises(ValueError, match="do not fit this backbone: .*missing"):
        tl.check_uploaded_weights(lab(backbone="resnet50"), sd)
    path = tl.save_weights_upload(buf.getvalue(), tmp_path / "uploads")
    assert path.suffix == ".pt" and path.read_bytes() == buf.getvalue()
    assert tl.save_weights_upload(buf.getvalue(), tmp_path / "uploads") == path  # by content: stored once
    with pytest.raises(ValueError, match="not a PyTorch weights file"):
        tl.save_weights_upload(b"not a weights file", tmp_path / "uploads")


def test_imagenet_status_reads_the_cache_and_never_downloads(monkeypatch, tmp_path):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    found, message = tl.imagenet_status("resnet18")
    assert not found and "resnet18-f37072fd.pth" in message and "random initialisation" in message
    (tmp_path / "checkpoints").mkdir()
    torch.save({}, tmp_path / "checkpoints" / "resnet18-f37072fd.pth")
    found, message = tl.imagenet_status("resnet18")
    assert found and "in the torch cache" in message


def test_fine_tuning_and_from_scratch_runs_share_everything_but_the_start():
    cfg = lab(
        backbone="resnet18",
        weights="upload",
        mode="fine_tuning",
        unfrozen_stages=2,
        stage_overrides={"stem": True},
        dataset="shapes",
        image_size=48,
        epochs=3,
        seed=4,
    )
    tune, scratch = tl.run_configs(cfg, num_classes=10, n_stages=5, weights_file="/x/w.pt")
    for c in (tune, scratch):
        assert (c.dataset, c.image_size, c.epochs, c.seed, c.lr, c.dataset_size) == ("shapes", 48, 3, 4, cfg.lr, 1000)
        assert c.model["kind"] == "transfer" and c.model["num_classes"] == 10 and c.model["head"] == cfg.head
    assert tune.model["weights"] == "upload" and tune.model["weights_file"] == "/x/w.pt"
    assert tune.model["backbone_lr_scale"] == 0.1 and tune.model["stage_overrides"] == {"stem": True}
    assert scratch.model["weights"] == "random" and "weights_file" not in scratch.model
    assert scratch.model["backbone_lr_scale"] == 1.0
    # From scratch means nothing frozen: every parameter trains.
    fields = {k: v for k, v in scratch.model.items() if k in TransferConfig.__dataclass_fields__}
    info = transfer.describe(TransferConfig(**fields))
    assert info["trainable"] == info["total"]
    assert len(tl.run_configs(lab(compare=False), num_classes=10, n_stages=5)) == 1
    assert [tl.run_role(type("R", (), {"config": {"model": c.model}})) for c in (tune, scratch)] == [
        "fine-tuned",
        "from scratch",
    ]
    # The runs table names them so too: the twin is not "fine tuning, random".
    from playground.runs.history import short_value

    assert [short_value(c.model) for c in (tune, scratch)] == [
        "resnet18 (fine-tuned, upload weights)",
        "resnet18 (from scratch)",
    ]


def test_grey_images_are_fed_to_rgb_backbones_and_back():
    assert tl.channel_pipeline(3, 3) == "none"
    grey_to_rgb = {"steps": [{"name": "Grayscale", "params": {"num_output_channels": 3}}]}
    assert tl.channel_pipeline(1, 3) == grey_to_rgb
    assert tl.channel_pipeline(3, 1)["steps"][0]["params"] == {"num_output_channels": 1}
    tune, scratch = tl.run_configs(lab(weights="random", dataset="digits"), num_classes=10, n_stages=5, data_channels=1)
    assert tune.augment == tune.val_augment == scratch.augment == scratch.val_augment == grey_to_rgb
    from playground.augment.pipelines import load_pipeline

    load_pipeline(grey_to_rgb)  # a pipeline the run process accepts


@pytest.mark.parametrize("backbone", ["resnet18", "efficientnet_b0"])
def test_imagenet_weights_get_their_enums_preprocessing_in_both_runs(backbone):
    """The pipeline both runs build equals torchvision's weights.transforms() (resize, crop, ImageNet
    mean/std), not the target dataset's own statistics."""
    from playground.training.inputs import resolve_pipeline
    from playground.training.loop import prepare

    enum = torchvision.models.get_model_weights(backbone).DEFAULT.transforms()
    cfg = lab(backbone=backbone, weights="imagenet", dataset="digits", image_size=64)
    tune, scratch = tl.run_configs(cfg, num_classes=10, n_stages=5, data_channels=1)
    grey = tl.channel_pipeline(1, 3)
    assert tune.augment == tune.val_augment == scratch.augment == scratch.val_augment
    assert tune.augment == tl.weights_pipeline(backbone, 64, grey)
    steps = {s["name"]: s["params"] for s in tune.augment["steps"]}
    assert steps["Normalize"] == {"mean": list(enum.mean), "std": list(enum.std)}
    assert steps["Resize"]["interpolation"] == enum.interpolation.value
    assert steps["Resize"]["size"] == round(64 * enum.resize_size[0] / enum.crop_size[0])
    assert resolve_pipeline(tune.augment, torch.device("cpu")).normalizes  # the dataset's mean/std are not used

    # At 224 px the run's own inputs are the enum's, image for image (the independent reference).
    data = load_dataset("shapes", size=40)
    run_cfg = TrainConfig(augment=tl.weights_pipeline(backbone, 224), val_augment=tl.weights_pipeline(backbone, 224))
    setup = prepare(run_cfg, data, torch.device("cpu"), model=lambda: torch.nn.Sequential(torch.nn.Flatten()))
    assert setup.input_shape == (3, 224, 224)
    batch = data.val_x[:4]  # (4, 3, 32, 32) uint8
    expected = torch.stack([enum(img) for img in batch])
    got = setup.val_inputs(batch).contiguous()
    # The enum runs torchvision's v1 functional resize, the pipeline its v2 kernels: they round a few
    # pixels one grey level apart (and bicubic's overshoot at a few sharp edges further).
    level = 1 / 255 / min(enum.std)
    diff = (got - expected).abs()
    assert (diff > level + 1e-6).float().mean() < 0.002
    assert diff.mean() < 0.3 * level


def test_one_place_for_imagenet_class_names():
    from playground.labs import inside

    names = transfer.imagenet_categories()
    assert len(names) == 1000 and names[0] == "tench" and names[207] == "golden retriever"
    assert inside.imagenet_classes(1000) == names and inside.imagenet_classes(10) is None
    # The app's ImageNet mean/std (Normalize's defaults, the Inside page's "imagenet") are the enum's.
    from playground.augment.transforms import IMAGENET_MEAN, IMAGENET_STD

    pre = transfer.imagenet_preprocessing("resnet50")
    assert (IMAGENET_MEAN, IMAGENET_STD) == (pre["mean"], pre["std"])
    assert (inside.IMAGENET_MEAN, inside.IMAGENET_STD) == (pre["mean"], pre["std"])


def test_the_head_designer_edits():
    head = transfer.article_head()
    assert tl.edit_head(head, "remove", 0)[0] == {"type": "linear", "out": 256}
    assert tl.edit_head(head, "up", 1)[:2] == [head[1], head[0]]
    assert tl.edit_head(head, "down", 4) == head  # the last one cannot go further down
    added = tl.edit_head(head, "add", 4, "batchnorm")
    assert [layer["type"] for layer in added] == ["dropout", "linear", "relu", "dropout", "batchnorm", "linear"]
    assert tl.edit_head(head, "set", 1, 64)[1] == {"type": "linear", "out": 64}
    assert tl.edit_head(head, "set", 0, 0.5)[0] == {"type": "dropout", "p": 0.5}
    assert tl.edit_head(head, "set", 4, "classes")[4]["out"] == "classes"
    assert head == transfer.article_head()  # edits never touch the list they were given
    assert [tl.head_layer_label(layer) for layer in head] == [
        "Dropout(p=0.3)",
        "Linear(→ 256)",
        "ReLU()",
        "Dropout(p=0.2)",
        "Linear(→ classes)",
    ]
    # The counts follow: a 64-wide hidden layer on ResNet-50 for 5 classes.
    info = transfer.describe(TransferConfig(head=tl.edit_head(head, "set", 1, 64)))
    assert info["trainable"] == 2048 * 64 + 64 + 64 * 5 + 5


def test_a_links_unusable_values_are_pulled_back_with_sentences():
    bad = lab(
        backbone="resnet9000", image_size=50, weights="run", run="gone", stage_overrides={"x": "yes"}, mode="both"
    )
    cfg, problems = tl.clamp_config(bad, ["r1"])
    default = tl.TransferLabConfig()  # what a bad value falls back to: this machine's default
    assert (cfg.backbone, cfg.image_size, cfg.weights, cfg.run, cfg.stage_overrides, cfg.mode) == (
        default.backbone,
        48,
        "run",
        "r1",
        {},
        default.mode,
    )
    assert any("resnet9000" in p for p in problems) and any("run 'gone'" in p for p in problems)
    assert len(problems) == 5
    cfg, _ = tl.clamp_config(lab(weights="run", run="gone"), [])
    assert cfg.weights == "random"


def test_run_series_reads_the_curves(tmp_path):
    run = runs.create_run(TrainConfig(dataset="digits"), tmp_path)
    w = runs.EventWriter(run / "events.jsonl")
    w.write({"type": "start", "params": 10, "trainable": 4})
    for s in range(1, 5):
        w.write({"type": "step", "step": s, "epoch": s / 2, "loss": 1.0 / s})
    w.write({"type": "epoch", "epoch": 1, "val_accuracy": 0.5})
    w.write({"type": "epoch", "epoch": 2, "val_accuracy": 0.75})
    w.close()
    s = tl.run_series(run, "a")
    assert s["steps"] == [(0.5, 1.0), (1.0, 0.5), (1.5, 1 / 3), (2.0, 0.25)] and s["epochs"] == [(1, 0.5), (2, 0.75)]
    assert s["start"]["trainable"] == 4


def test_figures():
    from playground.viz import transfer as viz

    fig = viz.stage_chart([("stem", 10, False), ("layer1", 20, True), ("head (new)", 5, True)])
    bar = fig.data[0]
    assert list(bar.y) == ["head (new)", "layer1", "stem"] and list(bar.x) == [5, 20, 10]  # input side on top
    assert list(bar.marker.color) == [viz.TRAINABLE, viz.TRAINABLE, viz.FROZEN]
    fig = viz.compare_curves(
        [{"name": "a", "steps": [(0.5, 2.0), (1, 1.0)], "epochs": [(1, 0.5)]}, {"name": "b", "steps": [], "epochs": []}]
    )
    assert [(t.name, t.xaxis) for t in fig.data] == [("a", "x"), ("a", "x2")]
    assert fig.layout.yaxis.tickformat == ".0%"


def test_the_pages_runs_train_as_counted_and_can_be_looked_inside(digits_run, tmp_path):
    # End to end through the run machinery (in-process): the page's configs train, the run's own count of
    # trainable parameters equals the page's, and the trained transfer model opens on the Inside page.
    from playground.labs import inside

    cfg = lab(weights="run", dataset="digits", epochs=1, batch_size=128)
    configs = tl.run_configs(cfg, num_classes=10, n_stages=3, from_run=str(digits_run))
    done = []
    for c in configs:
        run = runs.create_run(c, tmp_path)
        assert execute_run(run, stop_flag=StopFlag())["status"] == "completed", runs.read_status(run)
        done.append(run)
    start = [next(e for e in runs.read_events(r)[0] if e["type"] == "start") for r in done]
    info = tl.lab_describe(cfg, digits_run, num_classes=10)
    assert (start[0]["trainable_params"], start[0]["params"]) == (info["trainable"], info["total"])
    assert start[1]["trainable_params"] == start[1]["params"]  # from scratch: everything trains
    # Frozen means frozen: the transfer run's backbone is bitwise the source run's.
    source = torch.load(digits_run / "weights.pt", weights_only=True)
    tuned = torch.load(done[0] / "weights.pt", weights_only=True)
    body = [k for k in source if not k.startswith("classifier.")]
    assert body and all(torch.equal(tuned[f"net.{k}"], source[k]) for k in body)  # BatchNorm statistics included
    p = inside.from_run(done[0])
    x = p.to_input(inside.validation_images(done[0], 1)[0][0])
    a = inside.analyse(p, x, p.map_shapes()[0][0], [-1])
    assert len(a.cams) == 2 and a.maps is not None
    assert "simplecnn from a run (transfer) on digits" in inside.run_label(runs.run_info(done[0]))


def test_grey_digits_fine_tune_an_rgb_backbone_and_open_inside(tmp_path):
    from playground.labs import inside

    cfg = lab(backbone="resnet18", weights="random", dataset="digits", epochs=1, compare=False, batch_size=128)
    [config] = tl.run_configs(cfg, num_classes=10, n_stages=5, data_channels=1)
    run = runs.create_run(config, tmp_path)
    assert execute_run(run, stop_flag=StopFlag())["status"] == "completed", runs.read_status(run)
    start = next(e for e in runs.read_events(run)[0] if e["type"] == "start")
    assert start["input_shape"] == [3, 32, 32]
    p = inside.from_run(run)
    x = p.to_input(inside.validation_images(run, 1)[0][0])
    assert x.shape == (1, 1, 32, 32) and p.prepare(x).shape == (1, 3, 32, 32)  # the run's own validation pipeline
    a = inside.analyse(p, x, p.map_shapes()[0][0], [-1])
    assert a.filters.shape == (64, 3, 7, 7) and next(iter(a.cams.values())).shape == (32, 32)
