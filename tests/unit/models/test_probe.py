"""Inside a network: feature maps, filters, Grad-CAM (checked against CAM and pytorch-grad-cam) and top-k."""

import copy

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

from playground.models import probe
from playground.models.zoo import build_model


class GapNet(nn.Module):
    """conv -> ReLU -> conv -> global average pool -> linear: the architecture CAM was defined for."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 6, 3, padding=1)
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(6, 4)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))


def test_grad_cam_equals_class_activation_mapping_on_a_gap_network():
    # Selvaraju et al.: for conv -> GAP -> linear, Grad-CAM's channel weights are the fc weights / (h*w),
    # so after ReLU and normalisation Grad-CAM equals CAM (Zhou et al. 2016), computed here by hand.
    torch.manual_seed(0)
    model, x = GapNet(), torch.randn(1, 3, 16, 16)
    for cls in range(4):
        cam = probe.grad_cam(model, x, cls, layer="features.3")
        act = model.features(x)  # (1, 6, 8, 8)
        ref = F.relu((model.fc.weight[cls].view(1, 6, 1, 1) * act).sum(1, keepdim=True))
        ref = F.interpolate(ref, size=(16, 16), mode="bilinear", align_corners=False)[0, 0]
        ref = (ref - ref.min()) / (ref.max() - ref.min())
        assert torch.allclose(cam, ref.detach(), atol=1e-5)
        assert cam.min() == 0 and cam.max() == 1


def test_feature_maps_are_the_layers_real_outputs_and_model_mode_is_kept():
    torch.manual_seed(1)
    model, x = GapNet(), torch.randn(1, 3, 16, 16)
    model.train()
    maps = probe.feature_maps(model, x)
    assert list(maps) == ["features.0", "features.2", "features.3"]  # the 1x1 global pool output is left out
    assert torch.allclose(maps["features.0"], model.features[0](x)[0])
    assert maps["features.3"].shape == (6, 8, 8)
    assert model.training
    with pytest.raises(ValueError, match="Unknown layer"):
        probe.feature_maps(model, x, ["nope"])


def test_resnet_blocks_are_offered_and_cam_defaults_to_the_last_block():
    model = torchvision.models.resnet18(num_classes=3)
    names = probe.map_layers(model)
    assert "layer4.1" in names and "conv1" in names and "maxpool" in names
    assert probe.default_cam_layer(model) == "layer4.1"
    cam = probe.grad_cam(model, torch.randn(1, 3, 64, 64), 2)
    assert cam.shape == (64, 64)
    with pytest.raises(ValueError, match="the model has 3 classes"):
        probe.grad_cam(model, torch.randn(1, 3, 64, 64), 7)


def test_first_layer_filters_scaled_per_filter():
    model = GapNet()
    f = probe.first_layer_filters(model)
    assert f.shape == (8, 3, 3, 3)
    flat = f.reshape(8, -1)
    assert torch.allclose(flat.min(1).values, torch.zeros(8)) and torch.allclose(flat.max(1).values, torch.ones(8))
    with pytest.raises(ValueError, match="no convolution layer"):
        probe.first_layer_filters(nn.Linear(3, 3))


def test_top_k_is_sorted_probabilities_with_names():
    torch.manual_seed(2)
    preds = probe.top_k(GapNet(), torch.randn(1, 3, 16, 16), k=3, class_names=["a", "b", "c", "d"])
    assert len(preds) == 3 and preds[0].probability >= preds[1].probability >= preds[2].probability
    assert {p.label for p in preds} <= {"a", "b", "c", "d"}
    assert sum(p.probability for p in probe.top_k(GapNet(), torch.randn(1, 3, 16, 16), k=10)) == pytest.approx(
        1, abs=1e-5
    )


def test_a_model_too_large_is_refused_with_a_sentence():
    with torch.device("meta"):
        big = nn.Sequential(nn.Linear(20_000, 20_000))
    with pytest.raises(probe.ModelTooLarge, match="400 M parameters"):
        probe.check_size(big, (1, 3, 224, 224))
    probe.check_size(GapNet(), (1, 3, 32, 32))
    with pytest.raises(probe.ModelTooLarge, match="Use a smaller image size"):
        probe.check_size(GapNet(), (1, 3, 40_000, 40_000))


def _without_inplace(model: nn.Module) -> nn.Module:
    """A copy whose in-place layers write new tensors: the reference's hooks then see the layer's own output."""
    ref = copy.deepcopy(model)
    for m in ref.modules():
        if hasattr(m, "inplace"):
            m.inplace = False
    return ref


@pytest.mark.parametrize(
    "name, knobs, size",
    [("vgg11", {"width": 0.25}, 64), ("alexnet", {}, 96), ("resnet18", {"width": 0.5}, 64)],
)
def test_grad_cam_equals_pytorch_grad_cam_and_leaves_the_model_untouched(name, knobs, size):
    # VGG and AlexNet put ReLU(inplace=True) right after the last conv: the map must be the conv's output,
    # which pytorch-grad-cam computes on a copy with in-place layers turned off.
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    torch.manual_seed(0)
    model = build_model(name, num_classes=10, input_size=(size, size), **knobs).eval()
    x = torch.randn(1, 3, size, size)
    layer = probe.default_cam_layer(model)
    ref_model = _without_inplace(model)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    for cls in (0, 7):
        cam = probe.grad_cam(model, x, cls)
        with GradCAM(model=ref_model, target_layers=[dict(ref_model.named_modules())[layer]]) as ref_cam:
            ref = torch.from_numpy(ref_cam(input_tensor=x, targets=[ClassifierOutputTarget(cls)])[0])
        assert torch.allclose(cam, ref, atol=1e-4), (name, cls, float((cam - ref).abs().max()))
    assert all(p.grad is None for p in model.parameters())  # nothing written into the shared model
    assert not model.training and all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_feature_maps_of_a_conv_followed_by_an_in_place_relu_are_the_convs():
    torch.manual_seed(3)
    model = build_model("vgg11", num_classes=10, input_size=(32, 32), width=0.25).eval()
    x = torch.randn(1, 3, 32, 32)
    maps = probe.feature_maps(model, x, ["features.0"])
    assert torch.allclose(maps["features.0"], model.features[0](x)[0].detach())
    assert maps["features.0"].min() < 0  # the conv's output, not the ReLU's


def test_grad_cams_of_a_batch_equal_pytorch_grad_cam_image_by_image_and_keep_a_training_model_as_it_was():
    # What a run's snapshots use: one pass for several images, on the model while it trains (BatchNorm in
    # training mode): eval mode for the pass, then back, running statistics and gradients untouched.
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    torch.manual_seed(1)
    model = build_model("resnet20", num_classes=10).train()
    x = torch.randn(3, 3, 32, 32)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    cams, logits = probe.grad_cams(model, x)  # each image's predicted class
    assert model.training and all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())
    ref_model = _without_inplace(model).eval()
    assert torch.allclose(logits, ref_model(x), atol=1e-5)
    layer = dict(ref_model.named_modules())[probe.default_cam_layer(model)]
    with GradCAM(model=ref_model, target_layers=[layer]) as ref_cam:
        ref = ref_cam(input_tensor=x, targets=[ClassifierOutputTarget(int(c)) for c in logits.argmax(1)])
    assert cams.shape == (3, 32, 32) and torch.allclose(cams, torch.from_numpy(ref), atol=1e-4)
