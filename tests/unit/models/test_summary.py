"""The summary's arithmetic against PyTorch (hooks, FlopCounterMode, autograd) and torchinfo.

Registry-driven: every preset, at its own input size and at an odd non-square one. Models are
built on the meta device (shapes without weights), which keeps 60 comparisons fast.
"""

from __future__ import annotations

import time

import pytest
import torch
import torchinfo
from torch.utils.flop_counter import FlopCounterMode

from playground.models.spec import build
from playground.models.summary import BYTES, group_rows, summarize
from playground.models.zoo import MODELS, build_model, model_spec, preset_info


def _sizes(name: str) -> list[tuple[int, int, int]]:
    c, h, w = preset_info(name)["default_input"]
    return [(c, h, w), (c, int(h * 0.75) + 1, int(w * 1.25) + 3)]  # 224 -> 169x283, 32 -> 25x43


CASES = [(n, s) for n in MODELS.names() for s in _sizes(n)]


def _real_forward(model, shape, batch):
    """Hooked meta-device forward: per call (name, type, output shape, own params), and FLOPs per module."""
    calls, names = [], {m: n for n, m in model.named_modules()}

    def hook(mod, inp, out):
        calls.append((names[mod], type(mod).__name__, tuple(out.shape), sum(p.numel() for p in mod.parameters())))

    handles = [m.register_forward_hook(hook) for m in model.modules() if not list(m.children())]
    with FlopCounterMode(display=False) as counter:
        model(torch.empty(batch, *shape, device="meta"))
    for h in handles:
        h.remove()
    return calls, counter


@pytest.mark.parametrize("name, shape", CASES, ids=[f"{n}-{s[1]}x{s[2]}" for n, s in CASES])
def test_summary_equals_a_real_forward_and_torchinfo(name, shape):
    batch = 2
    s = summarize(name, shape, batch_size=batch)
    with torch.device("meta"):
        model = build_model(name, in_channels=shape[0], input_size=shape[1:])
    calls, counter = _real_forward(model, shape, batch)
    rows = [r for r in s.rows if r.kind != "add"]
    assert [(r.name, r.type, r.output_shape, r.params) for r in rows] == calls
    # MACs: FlopCounterMode counts 2 FLOPs per multiply-accumulate, for the whole batch.
    assert counter.get_total_flops() == 2 * batch * s.total_macs
    per_module = counter.get_flop_counts()
    for r in rows:
        if r.kind in ("conv", "linear"):
            assert sum(per_module[f"SpecNet.{r.name}"].values()) == 2 * batch * r.macs, r.name
    assert s.total_params == sum(p.numel() for p in model.parameters())
    assert s.output_shape == calls[-1][2]
    # torchinfo, on the same model: totals, mult-adds (its own convention) and every leaf's output shape.
    info = torchinfo.summary(model, input_data=torch.empty(batch, *shape, device="meta"), device="meta", verbose=0)
    assert (info.total_params, info.trainable_params) == (s.total_params, s.trainable_params)
    assert info.total_mult_adds == s.torchinfo_mult_adds()
    assert [tuple(li.output_size) for li in info.summary_list if li.is_leaf_layer] == [r.output_shape for r in rows]


def test_article_shapes_and_flops_label():
    """SimpleCNN: [8, 3, 32, 32] -> [8, 10], halving 32 -> 16 -> 8 -> 1 as the article's comments say."""
    s = summarize("simplecnn", (3, 32, 32), batch_size=8)
    assert s.output_shape == (8, 10)
    shapes = {r.name: r.output_shape for r in s.rows}
    assert shapes["features.3"] == (8, 32, 16, 16) and shapes["features.7"] == (8, 64, 8, 8)
    assert shapes["features.11"] == (8, 128, 1, 1)
    assert s.total_flops == 2 * s.total_macs and all(r.flops == 2 * r.macs for r in s.rows)


def test_frozen_layers_split_trainable_from_frozen():
    spec = model_spec("resnet18")
    for layer in spec["layers"]:
        layer["frozen"] = layer.get("name") != "fc"
    s = summarize(spec)
    assert s.trainable_params == 513_000 and s.frozen_params == s.total_params - 513_000
    with torch.device("meta"):
        model = build(spec)
    info = torchinfo.summary(model, input_data=torch.empty(1, 3, 224, 224, device="meta"), device="meta", verbose=0)
    assert info.trainable_params == s.trainable_params
    m = s.memory(optimizer="adam", foreach=False)
    assert m.optimizer_state == 2 * 513_000 * BYTES
    # Nothing before the head needs a gradient, so autograd keeps only the head's input: the batch and 2,048 values.
    assert m.saved_for_backward <= (3 * 224 * 224 + 2 * 2048) * BYTES + 8 + 1000 * BYTES


# --------------------------------------------------------------------------- receptive field


def test_receptive_fields_of_classic_networks():
    """Araujo, Norris, Sim: Computing receptive fields of CNNs (Distill, 2019): AlexNet 195, VGG-16 212."""
    rf = {r.name: r.receptive_field for r in summarize("alexnet").rows}
    assert rf["features.12"] == (195, 195)
    rf = {r.name: r.receptive_field for r in summarize("vgg16").rows}
    assert rf["features.30"] == (212, 212) and summarize("vgg16").receptive_field == (212, 212)
    assert summarize("resnet50").receptive_field == (427, 427)  # layer4's output, before the global pooling


def _gradient_extent(model, shape) -> tuple[int, int]:
    """Height and width of the input patch that reaches the centre output unit (non-zero gradient).

    All weights positive and the input all ones, so every path carries gradient (no ReLU is off)."""
    model = model.double().eval()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.rand(p.shape, dtype=torch.float64) + 0.1)
    x = torch.ones(1, *shape, dtype=torch.float64, requires_grad=True)
    out = model(x)
    out[0, 0, out.shape[2] // 2, out.shape[3] // 2].backward()
    hit = x.grad[0].abs().sum(0).nonzero()
    return tuple(int(hit[:, i].max() - hit[:, i].min() + 1) for i in (0, 1))  # type: ignore[return-value]


@pytest.mark.parametrize(
    "layers, shape",
    [
        # CIFAR ResNet-20 up to its last stage: main paths, zero-padding shortcuts and strides.
        (model_spec("resnet20")["layers"][:6], (3, 112, 112)),
        # Dilation, average pooling with padding, non-square kernels, a bottleneck with a 1x1 projection.
        (
            [
                {"type": "conv", "out_channels": 4, "kernel": [3, 5], "dilation": 2, "padding": 1},
                {"type": "avgpool", "kernel": 3, "stride": 2, "padding": 1},
                {"type": "bottleneck", "planes": 2, "stride": 2},
                {"type": "conv", "out_channels": 3, "kernel": 5, "stride": [1, 2]},
            ],
            (2, 96, 96),
        ),
    ],
)
def test_receptive_field_equals_the_gradient_support(layers, shape):
    spec = {"input": list(shape), "layers": layers}
    s = summarize(spec)
    assert _gradient_extent(build(spec), shape) == s.rows[-1].receptive_field


# --------------------------------------------------------------------------- memory, grouping, errors, speed


def test_training_memory_adds_up_and_warns_when_it_will_not_fit():
    s = summarize("resnet50", batch_size=1)
    with torch.device("meta"):
        model = build_model("resnet50")
    float_values = sum(t.numel() for t in model.state_dict().values() if t.is_floating_point())
    m = s.memory(batch_size=64, optimizer="adam")
    assert m.weights == float_values * BYTES
    assert m.optimizer_state == 2 * s.trainable_params * BYTES
    assert m.total == sum(v for _, v in m.parts())  # the peak and what it is made of: tests/unit/models/test_memory.py
    assert m.fits is None and m.warning() is None
    small = s.memory(64, "adam", device_bytes=4 * 2**30, device_label="a 4 GiB GPU")
    assert small.fits is False
    assert small.warning().startswith("Training at batch size 64 needs about")
    assert "lower the batch size" in small.warning()
    assert s.memory(2, "adam", device_bytes=80 * 2**30).fits is True


def test_in_place_layers_and_views_take_no_activation_memory():
    s = summarize("simplecnn", batch_size=4)
    by_kind = {r.kind: r.allocates for r in s.rows}
    assert by_kind["conv"] and not by_kind["activation"] and not by_kind["flatten"]  # ReLU(inplace=True)
    gelu = summarize("simplecnn", batch_size=4, activation="gelu")
    assert gelu.activation_bytes > s.activation_bytes


@pytest.mark.parametrize("level", ["layers", "blocks", "top"])
def test_grouped_rows_add_up_to_the_totals(level):
    s = summarize("resnet50")
    rows = group_rows(s, level)
    assert sum(r.params for r in rows) == s.total_params and sum(r.macs for r in rows) == s.total_macs
    assert rows[-1].output_shape == s.output_shape
    if level == "blocks":
        assert [r.type for r in rows].count("Bottleneck") == 16
        assert next(r for r in rows if r.name == "layer4.2").receptive_field == (427, 427)
    if level == "top":
        assert [r.name for r in rows] == [
            "conv1",
            "bn1",
            "relu",
            "maxpool",
            "layer1",
            "layer2",
            "layer3",
            "layer4",
            "avgpool",
            "flatten",
            "fc",
        ]


def test_report_mode_stops_at_the_broken_layer_with_its_sentence():
    spec = model_spec("resnet18")
    spec["layers"][-1]["in_features"] = 2048
    s = summarize(spec, on_error="report")
    assert s.rows[-1].name == "flatten" and s.error.path == "fc"
    assert "set in_features=512" in str(s.error)
    with pytest.raises(ValueError, match="set in_features=512"):
        summarize(spec)


def test_resnet50_table_is_interactive_fast():
    summarize("resnet50")
    times = []
    for _ in range(5):
        start = time.perf_counter()
        summarize("resnet50", (3, 224, 224))
        times.append(time.perf_counter() - start)
    assert sorted(times)[2] < 0.05  # median well under a frame of "noticeable wait"
