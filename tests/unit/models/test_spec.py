"""The model spec: the article's models, explained errors, JSON round trips, build == trace.

References: the article's own SimpleCNN and ResidualBlock source (copied verbatim below),
and PyTorch itself (a real forward pass through hooks).
"""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn as nn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playground.models.spec import build, trace, validate
from playground.models.vocab import LAYER_TYPES, SpecError, compact, load_spec, normalize, save_spec
from playground.models.zoo import build_model, model_spec

ARTICLE_SOURCE = '''
import torch
import torch.nn as nn
class ResidualBlock(nn.Module):
    """Basic residual block from ResNet"""
    def __init__(self, channels):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, kernel_size=3, padding=1)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, kernel_size=3, padding=1)
        self.bn2 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)
    def forward(self, x):
        identity = x # Skip connection
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += identity # Residual: F(x) + x
        return self.relu(out)
class SimpleCNN(nn.Module):
    """CNN for CIFAR-10 classification"""
    def __init__(self, num_classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 32, kernel_size=3, padding=1),
            nn.BatchNorm2d(32),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2, 2), # 32x32 -> 16x16
            nn.Conv2d(32, 64, kernel_size=3, padding=1),
            nn.BatchNorm2d(64),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2, 2), # 16x16 -> 8x8
            nn.Conv2d(64, 128, kernel_size=3, padding=1),
            nn.BatchNorm2d(128),
            nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d((1, 1)) # 8x8 -> 1x1
        )
        self.classifier = nn.Linear(128, num_classes)
    def forward(self, x):
        x = self.features(x)
        x = x.view(x.size(0), -1)
        return self.classifier(x)
'''


@pytest.fixture(scope="module")
def article():
    ns: dict = {}
    exec(compile(ARTICLE_SOURCE, "article.py", "exec"), ns)
    return ns


def _randomize(model: nn.Module, seed: int = 0) -> None:
    """Random weights and batch-norm statistics, so eval-mode outputs depend on every tensor."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for t in list(model.parameters()) + [b for b in model.buffers() if b.is_floating_point()]:
            t.copy_(torch.rand(t.shape, generator=g) + 0.5 if t.ndim == 1 else torch.randn(t.shape, generator=g) * 0.1)


def test_simplecnn_is_the_articles_model(article):
    """The article: SimpleCNN maps [8, 3, 32, 32] to [8, 10]; its state_dict loads into ours, same output."""
    theirs = article["SimpleCNN"]()
    _randomize(theirs)
    ours = build_model("simplecnn")
    ours.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.randn(8, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    out = ours.eval()(x)
    assert list(out.shape) == [8, 10]
    torch.testing.assert_close(out, theirs.eval()(x), rtol=0, atol=0)
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in theirs.parameters())


def test_residual_block_is_the_articles_and_keeps_its_input_shape(article):
    """The article's ResidualBlock = our basic_block with biased convs: same weights, same output, shape kept."""
    theirs = article["ResidualBlock"](16)
    _randomize(theirs, 3)
    spec = {"input": [16, 12, 12], "layers": [{"type": "basic_block", "name": "block", "planes": 16, "bias": True}]}
    ours = build(spec)
    ours.block.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.randn(2, 16, 12, 12)
    out = ours.eval()(x)
    assert out.shape == x.shape
    torch.testing.assert_close(out, theirs.eval()(x), rtol=0, atol=0)
    assert trace(spec).output_shape == (16, 12, 12)


# --------------------------------------------------------------------------- explained errors


def _error(spec: dict, input_shape=None) -> SpecError:
    tr = trace(spec, input_shape, raise_errors=False)
    assert tr.error is not None
    with pytest.raises(SpecError) as info:
        build(spec, input_shape)  # build explains too, never a torch traceback
    assert str(info.value) == str(tr.error)
    return tr.error


def test_linear_in_features_mismatch_names_the_layer_and_the_fix():
    spec = model_spec("resnet18")
    spec["layers"][-1]["in_features"] = 2048
    err = _error(spec)
    assert str(err) == (
        "Layer fc (Linear) expects 2048 inputs, it gets 512: set in_features=512, "
        "or change the layers before it so they produce 2048."
    )
    assert err.path == "fc" and err.item == (len(spec["layers"]) - 1,)


def test_missing_flatten_is_explained():
    spec = model_spec("simplecnn")
    spec["layers"] = [layer for layer in spec["layers"] if layer["type"] != "flatten"]
    err = _error(spec)
    assert "Layer classifier (Linear) gets a 128x1x1 feature map, not a flat vector" in str(err)
    assert "add a flatten before it" in str(err)


def test_conv_after_flatten_and_kernel_too_big_are_explained():
    err = _error({"input": [3, 8, 8], "layers": [{"type": "flatten"}, {"type": "conv", "out_channels": 4}]})
    assert str(err).startswith("Layer 1 (Conv2d) needs a [channels, height, width] feature map")
    assert "move it before the flatten" in str(err)
    err = _error(
        {
            "input": [3, 8, 8],
            "layers": [
                {
                    "type": "sequential",
                    "name": "features",
                    "layers": [
                        {"type": "conv", "out_channels": 4, "kernel": 3},
                        {"type": "maxpool", "kernel": 2},
                        {"type": "conv", "out_channels": 4, "kernel": 5},
                    ],
                }
            ],
        }
    )
    assert str(err).startswith(
        "Layer features.2 (Conv2d): the kernel spans 5 pixels but the padded input height is only"
    )
    assert err.item == (0, 2)


def test_explicit_channel_counts_that_disagree_are_explained():
    err = _error({"input": [1, 8, 8], "layers": [{"type": "conv", "in_channels": 3, "out_channels": 4}]})
    assert "expects 3 input channels, it gets 1: set in_channels=1" in str(err)
    err = _error(
        {"input": [3, 8, 8], "layers": [{"type": "conv", "out_channels": 4}, {"type": "batchnorm", "num_features": 8}]}
    )
    assert "expects 8 channels, it gets 4: set num_features=4" in str(err)


@pytest.mark.parametrize(
    "layer, words",
    [
        ({"type": "convv"}, "unknown layer type 'convv'. Use one of: conv, batchnorm"),
        ({"type": "conv", "kernal": 3}, "has no setting 'kernal'. Its settings: in_channels, out_channels, kernel"),
        ({"type": "conv", "kernel": "big"}, "kernel must be a whole number from 1 to 1024 or a pair [h, w], not 'big'"),
        (
            {"type": "conv", "padding": "full"},
            "padding must be a whole number from 0 to 1024, a pair [h, w], 'same' or 'valid'",
        ),
        ({"type": "dropout", "p": 1.5}, "p must be a number from 0 to 1, not 1.5"),
        ({"type": "activation", "fn": "swish"}, "fn must be one of relu, leaky_relu"),
        ({"type": "conv", "name": "forward"}, "'forward' cannot be a module name"),
        ("conv", "must be an object like"),
    ],
)
def test_malformed_layers_get_a_sentence(layer, words):
    with pytest.raises(SpecError) as info:
        normalize({"input": [3, 8, 8], "layers": [layer]})
    assert words in str(info.value)


def test_duplicate_names_and_bad_inputs_are_refused():
    with pytest.raises(SpecError, match="the name 'a' is used twice"):
        normalize({"layers": [{"type": "flatten", "name": "a"}, {"type": "flatten", "name": "a"}]})
    with pytest.raises(SpecError, match=r"three whole numbers \[channels, height, width\]"):
        normalize({"input": [3, 0, 8], "layers": []})
    with pytest.raises(SpecError, match="not a CNN Playground model"):
        normalize({"format": "keras", "layers": []})


def test_zero_padding_shortcut_cannot_shrink_channels():
    err = _error({"input": [64, 8, 8], "layers": [{"type": "basic_block", "planes": 32, "shortcut": "pad"}]})
    assert "cannot reduce 64 channels to 32; use shortcut 'conv'" in str(err)


def test_report_mode_keeps_the_rows_before_the_break():
    spec = model_spec("simplecnn")
    spec["layers"][2]["in_features"] = 64
    tr = trace(spec, raise_errors=False)
    assert [s.name for s in tr.steps][-1] == "flatten"
    assert tr.error.path == "classifier"


# --------------------------------------------------------------------------- JSON


def test_json_round_trips_through_file_text_and_compact_form(tmp_path):
    spec = model_spec("resnet20", num_classes=7)
    path = tmp_path / "m.json"
    save_spec(spec, path)
    assert load_spec(str(path)) == spec
    assert load_spec(path.read_text()) == spec
    assert load_spec(path.read_bytes()) == spec
    small = compact(spec)
    assert normalize(small)["layers"] == spec["layers"]
    assert validate(small) == normalize(small)


def test_compact_specs_of_every_preset_fit_in_a_link():
    """The page shares an edited model through the URL; ui.state ignores values over 4,000 characters."""
    from playground.common.urlstate import MAX_VALUE_CHARS
    from playground.models.zoo import MODELS

    for name in MODELS.names():
        spec = model_spec(name)
        text = json.dumps(compact(spec)["layers"], separators=(",", ":"))
        assert len(text) < MAX_VALUE_CHARS, name
        assert normalize({"input": spec["input"], "layers": json.loads(text)})["layers"] == spec["layers"]


def test_load_spec_explains_missing_files_and_bad_json(tmp_path):
    with pytest.raises(SpecError, match="No spec file at"):
        load_spec(str(tmp_path / "nope.json"))
    with pytest.raises(SpecError, match=r"not valid JSON \(line 1, column"):
        load_spec('{"layers": [}')
    with pytest.raises(SpecError, match="not UTF-8"):
        load_spec(b"\xff\xfe{")


def test_every_layer_type_has_settings_with_defaults_that_build():
    """Each vocabulary word, with its defaults, builds and runs on a small input."""
    for t in LAYER_TYPES:
        layers = [{"type": t}] if t not in ("linear",) else [{"type": "flatten"}, {"type": t}]
        spec = {"input": [64, 16, 16], "layers": layers}
        model = build(spec)
        out = model.eval()(torch.randn(2, 64, 16, 16))
        assert tuple(out.shape[1:]) == trace(spec).output_shape, t


def test_frozen_layers_do_not_train():
    spec = model_spec("resnet18")
    for layer in spec["layers"]:
        if layer.get("name") != "fc":
            layer["frozen"] = True
    with torch.device("meta"):
        model = build(spec)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert trainable == 512 * 1000 + 1000
    assert all(s.trainable == (s.name == "fc") for s in trace(spec).steps if s.params)


# --------------------------------------------------------------------------- trace == PyTorch on random stacks

_leaf = st.one_of(
    st.builds(
        lambda o, k, s, p, d: {
            "type": "conv",
            "out_channels": o,
            "kernel": k,
            "stride": s,
            "padding": p,
            "dilation": d,
        },
        st.integers(1, 6),
        st.integers(1, 4),
        st.integers(1, 3),
        st.integers(0, 2),
        st.integers(1, 2),
    ),
    st.builds(
        lambda k, s, c: {"type": "maxpool", "kernel": k, "stride": s, "ceil_mode": c},
        st.integers(1, 3),
        st.integers(1, 3),
        st.booleans(),
    ),
    st.builds(lambda k: {"type": "avgpool", "kernel": k}, st.integers(1, 3)),
    st.builds(lambda o: {"type": "adaptive_avgpool", "output": o}, st.integers(1, 3)),
    st.builds(
        lambda p, s, r, sc: {"type": "basic_block", "planes": p, "stride": s, "residual": r, "shortcut": sc},
        st.integers(1, 6),
        st.integers(1, 2),
        st.booleans(),
        st.sampled_from(["conv", "pad"]),
    ),
    st.builds(lambda p, s: {"type": "bottleneck", "planes": p, "stride": s}, st.integers(1, 3), st.integers(1, 2)),
    st.just({"type": "batchnorm"}),
    st.just({"type": "activation", "fn": "gelu"}),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    layers=st.lists(_leaf, min_size=1, max_size=5),
    hw=st.tuples(st.integers(3, 14), st.integers(3, 14)),
    c=st.integers(1, 4),
)
def test_trace_matches_a_real_forward(layers, hw, c):
    """Whatever trace accepts, PyTorch runs, with the same shape after every module call."""
    spec = {"input": [c, *hw], "layers": layers + [{"type": "flatten"}, {"type": "linear", "out_features": 3}]}
    tr = trace(spec, raise_errors=False)
    if tr.error:
        assert tr.error.path  # an explained refusal, naming the layer
        return
    model = build(spec).eval()
    seen = []
    for name, m in model.named_modules():
        if not list(m.children()):
            m.register_forward_hook(lambda mod, i, o, n=name: seen.append((n, tuple(o.shape[1:]))))
    model(torch.randn(2, c, *hw))
    assert seen == [(s.name, s.out_shape) for s in tr.steps if s.kind != "add"]
