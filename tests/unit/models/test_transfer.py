"""Transfer learning: the article's numbers, freezing, heads and weights from files."""

import io

import pytest
import torch
import torch.nn as nn
import torchvision

from playground.models import transfer
from playground.models.transfer import TransferConfig


def test_article_resnet50_feature_extraction_numbers_exactly():
    info = transfer.describe(TransferConfig("resnet50", num_classes=5))
    assert transfer.article_line(info["trainable"], info["total"]) == "Trainable: 525,829 / 24,033,861 parameters"


def test_the_article_code_itself_gives_the_same_numbers():
    # The article's snippet, run as printed (on the meta device: same shapes, no memory).
    with torch.device("meta"):
        model = torchvision.models.resnet50()
    for param in model.parameters():
        param.requires_grad = False
    model.fc = nn.Sequential(
        nn.Dropout(0.3), nn.Linear(model.fc.in_features, 256), nn.ReLU(), nn.Dropout(0.2), nn.Linear(256, 5)
    )
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    info = transfer.describe(TransferConfig("resnet50", num_classes=5))
    assert (trainable, total) == (info["trainable"], info["total"])


def test_fine_tuning_unfreezes_the_last_stages_and_toggles_win():
    cfg = TransferConfig("resnet18", weights="random", num_classes=3, mode="fine_tuning", unfrozen_stages=2)
    info = transfer.describe(cfg)
    trainable = [name for name, _, on in info["stages"] if on]
    assert trainable == ["layer3", "layer4", "head (new)"]
    cfg.stage_overrides = {"layer3": False, "stem": True}
    info2 = transfer.describe(cfg)
    assert [name for name, _, on in info2["stages"] if on] == ["stem", "layer4", "head (new)"]
    assert sum(n for _, n, _ in info["stages"]) == info["total"]


def test_vgg_stages_are_conv_blocks_and_classifier():
    info = transfer.describe(TransferConfig("vgg16", num_classes=10, head=[{"type": "linear", "out": "classes"}]))
    names = [n for n, _, _ in info["stages"]]
    assert names == ["block1", "block2", "block3", "block4", "block5", "classifier", "head (new)"]
    assert info["head"] == "classifier.6" and info["trainable"] == 4096 * 10 + 10


def test_param_groups_give_the_backbone_a_lower_learning_rate():
    model = transfer.build_transfer_model(
        TransferConfig("resnet18", num_classes=4, mode="fine_tuning", unfrozen_stages=1)
    )
    groups = model.param_groups(lr=0.01, backbone_lr_scale=0.1)
    assert [g["name"] for g in groups] == ["head", "backbone"]
    assert groups[1]["lr"] == pytest.approx(0.001)
    assert sum(p.numel() for g in groups for p in g["params"]) == transfer.count_parameters(model)[0]


def test_frozen_batchnorm_keeps_its_statistics_in_training():
    model = transfer.build_transfer_model(TransferConfig("resnet18", num_classes=2))
    before = model.net.bn1.running_mean.clone()
    model.train()
    model(torch.randn(4, 3, 64, 64))
    assert torch.equal(model.net.bn1.running_mean, before)
    assert model.net.fc.training  # the head itself trains (dropout active)


def test_uploaded_weights_load_and_mismatches_are_named():
    src = torchvision.models.resnet18(num_classes=1000)
    buf = io.BytesIO()
    torch.save({"state_dict": src.state_dict()}, buf)
    sd = transfer.read_weights_file(buf.getvalue(), "r18.pth")
    model = transfer.build_transfer_model(TransferConfig("resnet18", num_classes=3), state_dict=sd)
    assert torch.equal(model.net.conv1.weight, src.conv1.weight)
    with pytest.raises(ValueError, match="do not fit this backbone.*missing"):
        transfer.build_transfer_model(TransferConfig("resnet50", num_classes=3), state_dict=sd)
    with pytest.raises(ValueError, match="not a PyTorch weights file"):
        transfer.read_weights_file(b"GIF89a not weights", "cat.gif")


def test_weights_files_with_code_are_refused():
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    buf = io.BytesIO()
    torch.save({"state_dict": {"w": torch.zeros(1)}, "x": Evil()}, buf)
    with pytest.raises(ValueError, match="cannot|not a PyTorch weights file"):
        transfer.read_weights_file(buf.getvalue(), "evil.pth")


def test_offline_imagenet_weights_explain_where_to_put_them(monkeypatch, tmp_path):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    with pytest.raises(transfer.WeightsUnavailable, match=r"resnet18-f37072fd\.pth.*random initialisation"):
        transfer.imagenet_state_dict("resnet18", allow_download=False)
    # A file already in the cache is used, offline.
    path = transfer.imagenet_weights_file("resnet18")
    (tmp_path / "checkpoints").mkdir()
    torch.save(torchvision.models.resnet18().state_dict(), path)
    assert "fc.weight" in transfer.imagenet_state_dict("resnet18", allow_download=False)


@pytest.mark.parametrize("name", transfer.BACKBONES.names())
def test_every_backbone_gets_a_head_and_stages(name):
    info = transfer.describe(TransferConfig(name, num_classes=7, head=[{"type": "linear", "out": "classes"}]))
    assert len(info["stages"]) >= 3
    assert info["trainable"] == info["stages"][-1][1] > 0


def test_bad_heads_are_explained():
    with pytest.raises(ValueError, match="make its last Linear layer output 'classes'"):
        transfer.build_head([{"type": "linear", "out": 8}], 16, 3)
    with pytest.raises(ValueError, match="unknown type 'conv'"):
        transfer.build_head([{"type": "conv"}], 16, 3)
    with pytest.raises(ValueError, match=r"dropout probability must be in \[0, 1\)"):
        transfer.build_head([{"type": "dropout", "p": 1.5}, {"type": "linear"}], 16, 3)


@pytest.mark.parametrize("kind", transfer.HEAD_LAYER_REGISTRY.names())
def test_every_head_layer_builds_before_the_classifier(kind):
    """Each registered head layer, then the Linear to the classes: the torch module its name says."""
    head = transfer.build_head([{"type": kind, "out": 6}, {"type": "linear"}], 16, 3)
    expected = {
        "dropout": nn.Dropout,
        "linear": nn.Linear,
        "relu": nn.ReLU,
        "gelu": nn.GELU,
        "batchnorm": nn.BatchNorm1d,
    }
    assert type(head[0]) is expected[kind] and head[-1].out_features == 3
    assert head.eval()(torch.randn(2, 16)).shape == (2, 3)


def test_head_layers_are_a_registry_listing_the_choices():
    assert transfer.HEAD_LAYERS == tuple(transfer.HEAD_LAYER_REGISTRY.names())
    with pytest.raises(ValueError, match=r"unknown type \['relu'\]; use one of dropout, linear, relu, gelu, batchnorm"):
        transfer.build_head([{"type": ["relu"]}], 16, 3)  # a list from a hostile link: a sentence, not a TypeError
    with pytest.raises(ValueError, match=r"Unknown head layer 'conv'\. Choose one of: dropout, .*batchnorm\."):
        transfer.HEAD_LAYER_REGISTRY.get("conv")
    with pytest.raises(ValueError, match="The head layer 'relu' is already registered"):
        transfer.HEAD_LAYER_REGISTRY.register("relu", transfer.head_gelu)


def _serve(handler_cls):
    import http.server
    import threading

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler_cls)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_weights_download_has_its_own_timeout_checks_the_hash_and_leaves_no_part_file(tmp_path):
    import hashlib
    import http.server
    import io
    import socket
    import time

    import torch

    from playground.models.transfer import download_weights

    buf = io.BytesIO()
    torch.save({"w": torch.arange(4.0)}, buf)
    body = buf.getvalue()
    digest = hashlib.sha256(body).hexdigest()

    class Files(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/slow":
                time.sleep(3)  # longer than the download's timeout
            try:
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (the timeout case)

        def log_message(self, *args):
            pass

    server = _serve(Files)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        good = tmp_path / f"net-{digest[:8]}.pth"
        download_weights(f"{url}/w", good, timeout=5)
        assert torch.equal(torch.load(good, weights_only=True)["w"], torch.arange(4.0))
        bad = tmp_path / "net-00000000.pth"
        with pytest.raises(ValueError, match="corrupt"):
            download_weights(f"{url}/w", bad, timeout=5)
        before = socket.getdefaulttimeout()
        t0 = time.monotonic()
        with pytest.raises(OSError):  # a timeout is an OSError
            download_weights(f"{url}/slow", tmp_path / "slow-abcdef12.pth", timeout=0.5)
        assert time.monotonic() - t0 < 2.5
        assert socket.getdefaulttimeout() == before  # the process's default was never touched
        assert sorted(p.name for p in tmp_path.iterdir()) == [good.name]  # no part files, no bad file
    finally:
        server.shutdown()
