"""The model zoo against references nobody here wrote: torchvision's models and weights metadata,
and the parameter counts He et al. 2015 print for their CIFAR ResNets. Registry-driven: every
registered preset is covered, so a new one is tested the moment it is added."""

from __future__ import annotations

import inspect

import pytest
import torch
import torch.nn as nn
import torchvision
from torchvision.models import get_model_weights

from playground.models import zoo
from playground.models.blocks import ACTIVATIONS, make_activation
from playground.models.spec import trace
from playground.models.summary import summarize
from playground.models.vocab import SpecError, load_spec, save_spec
from playground.models.zoo import MODELS, build_model, model_spec, preset_info, register_model

TORCHVISION = [n for n, p in MODELS.items() if p.torchvision]
RESNETS = [n for n in MODELS.names() if n.startswith(("resnet", "plain"))]


def test_the_issue_presets_are_all_registered():
    wanted = {"simplecnn", "lenet5", "lenet5_modern", "alexnet"}
    wanted |= {f"vgg{d}{b}" for d in (11, 13, 16, 19) for b in ("", "_bn")}
    wanted |= {f"{k}{d}" for k in ("resnet", "plain") for d in (18, 34, 50, 101, 152, 20, 32, 44, 56)}
    assert wanted <= set(MODELS.names())
    assert set(TORCHVISION) == {"alexnet"} | {
        n for n in wanted if n.startswith(("vgg", "resnet")) and n[-2:] not in ("20", "32", "44", "56")
    }


def test_unknown_model_lists_the_choices():
    with pytest.raises(ValueError, match=r"Unknown model 'resnet51'\. Choose one of: simplecnn, lenet5, .*resnet50"):
        model_spec("resnet51")


@pytest.mark.parametrize("name", MODELS.names())
def test_every_preset_is_a_keyword_only_function_named_after_it(name):
    """``from playground.models.zoo import resnet50`` works, and its signature is the preset's defaults."""
    fn = getattr(zoo, name)
    assert fn.__name__ == name and name in zoo.__all__ and fn.__doc__
    params = inspect.signature(fn).parameters
    assert all(p.kind is p.KEYWORD_ONLY and p.default is not p.empty for p in params.values())
    info = preset_info(name)
    defaults = {k: list(p.default) if isinstance(p.default, tuple) else p.default for k, p in params.items()}
    assert (defaults.pop("in_channels"), *defaults.pop("input_size")) == info["default_input"]
    assert defaults.pop("num_classes") == info["num_classes"] and defaults == info["knobs"]
    assert list(defaults) == list(info["knobs"])  # the signature's order is the order errors list knobs in
    assert fn() == model_spec(name)
    assert fn(num_classes=3, width=0.5) == model_spec(name, num_classes=3, width=0.5)


def test_register_model_refuses_a_taken_name_and_a_loose_signature():
    def resnet50(
        *, num_classes=1, in_channels=1, input_size=8, width=1.0, batch_norm=True, activation="relu", dropout=0.0
    ):
        return {}

    n = len(MODELS)
    with pytest.raises(ValueError, match="The model 'resnet50' is already registered"):
        register_model("resnet50", title="x", year=None, family="x", blurb="x")(resnet50)

    def tiny(num_classes=1, *, in_channels=1, input_size=8, width=1.0, batch_norm=True, activation="relu", dropout=0.0):
        return {}

    with pytest.raises(TypeError, match="not keyword-only with a default: num_classes"):
        register_model("tiny", title="x", year=None, family="x", blurb="x")(tiny)
    with pytest.raises(ValueError, match="must be a function called other, not tiny"):
        register_model("other", title="x", year=None, family="x", blurb="x")(tiny)
    assert len(MODELS) == n and "tiny" not in MODELS


def test_unknown_activation_lists_the_choices():
    assert list(ACTIVATIONS) == ["relu", "leaky_relu", "elu", "gelu", "silu", "tanh", "sigmoid"]
    assert isinstance(make_activation("gelu"), nn.GELU) and make_activation("relu", inplace=True).inplace
    with pytest.raises(ValueError, match=r"Unknown activation 'swish'\. Choose one of: relu, leaky_relu, .*sigmoid\."):
        make_activation("swish")
    with pytest.raises(ValueError, match="The activation 'relu' is already registered"):
        ACTIVATIONS.register("relu", ACTIVATIONS["relu"])


@pytest.mark.parametrize("name", MODELS.names())
def test_every_preset_describes_itself_and_builds_at_its_default_input(name):
    info = preset_info(name)
    assert {"title", "year", "blurb", "default_input", "num_classes", "knobs"} <= set(info)
    assert len(info["blurb"]) > 80
    spec = model_spec(name)
    assert spec["input"] == list(info["default_input"]) and spec["preset"] == name
    assert trace(spec).output_shape == (info["num_classes"],)
    with torch.device("meta"):
        model = build_model(name)
    assert sum(p.numel() for p in model.parameters()) == summarize(name).total_params


@pytest.mark.parametrize("name", MODELS.names())
def test_every_preset_runs_for_real_without_nans(name):
    """A real CPU forward (timm's smoke test): narrow and small where the preset is big, to stay fast."""
    info = preset_info(name)
    big = info["default_input"][1] > 64
    kwargs = {"width": 0.125, "input_size": 64} if big else {}
    model = build_model(name, num_classes=5, **kwargs).eval()
    c, h, w = model.spec["input"]
    with torch.no_grad():
        out = model(torch.randn(2, c, h, w, generator=torch.Generator().manual_seed(0)))
    assert out.shape == (2, 5) and torch.isfinite(out).all()


def test_history_is_told_in_the_articles_terms():
    assert "1998" in preset_info("lenet5")["blurb"] and "first successful CNN" in preset_info("lenet5")["blurb"]
    assert "2 convolutions + 3 fully connected" in preset_info("lenet5")["blurb"]
    assert "stacked 3x3 kernels" in preset_info("vgg16")["blurb"] and preset_info("vgg16")["year"] == 2014
    assert "F(x) + x" in preset_info("resnet50")["blurb"] and preset_info("resnet50")["year"] == 2015
    assert "[8, 3, 32, 32] batch to [8, 10]" in preset_info("simplecnn")["blurb"]


# --------------------------------------------------------------------------- torchvision, exactly


def _fill(model: nn.Module, seed: int) -> None:
    """Deterministic random weights and batch-norm statistics (He-style scale, so deep outputs stay finite)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in list(model.named_parameters()) + list(model.named_buffers()):
            if not t.is_floating_point():
                continue
            if t.ndim == 1:  # BN scale/shift/statistics and biases
                t.uniform_(0.0, 0.1, generator=g) if "mean" in name else t.uniform_(0.5, 1.5, generator=g)
            else:
                t.normal_(0.0, (1.0 / t[0].numel()) ** 0.5, generator=g)


@pytest.mark.parametrize("name", TORCHVISION)
def test_torchvision_models_match_exactly(name):
    """Same parameters as the weights metadata, same state_dict keys and shapes, strict load, same output."""
    meta = get_model_weights(MODELS.get(name).torchvision).IMAGENET1K_V1.meta
    with torch.device("meta"):
        tv = torchvision.models.get_model(MODELS.get(name).torchvision)
        ours = build_model(name)
    assert sum(p.numel() for p in ours.parameters()) == meta["num_params"]
    assert [(k, v.shape) for k, v in sorted(ours.state_dict().items())] == [
        (k, v.shape) for k, v in sorted(tv.state_dict().items())
    ]
    tv = tv.to_empty(device="cpu")
    _fill(tv, seed=len(name))
    ours.load_state_dict(tv.state_dict(), strict=True, assign=True)
    size = 64 if name == "alexnet" else 32  # small inputs keep the check fast; every weight still takes part
    x = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected, got = tv.eval()(x), ours.eval()(x)
    assert torch.isfinite(expected).all()
    torch.testing.assert_close(got, expected)


@pytest.mark.parametrize("name", TORCHVISION)
def test_torchvision_macs_match_the_weights_metadata(name):
    """torchvision's ``_ops`` (GMACs at 224x224, three decimals) equals our arithmetic."""
    meta = get_model_weights(MODELS.get(name).torchvision).IMAGENET1K_V1.meta
    assert round(summarize(name).total_macs / 1e9, 3) == round(meta["_ops"], 3)


@pytest.mark.parametrize(
    "name, millions",
    [
        ("resnet20", 0.27),
        ("resnet32", 0.46),
        ("resnet44", 0.66),
        ("resnet56", 0.85),
        ("plain20", 0.27),
        ("plain56", 0.85),
    ],
)
def test_cifar_resnets_have_the_papers_parameter_counts(name, millions):
    """He et al. 2015, Table 6 (option A shortcuts add no parameters, so plain twins match too)."""
    s = summarize(name)
    assert round(s.total_params / 1e6, 2) == millions
    assert s.output_shape == (1, 10)


@pytest.mark.parametrize("name", RESNETS)
def test_resnets_keep_torchvisions_module_names_for_transfer_learning(name):
    with torch.device("meta"):
        model = build_model(name)
    names = {n for n, _ in model.named_children()}
    assert {"conv1", "bn1", "relu", "layer1", "layer2", "layer3", "avgpool", "fc"} <= names
    assert isinstance(model.fc, nn.Linear) and isinstance(model.layer3[-1], nn.Module)
    # The article's transfer-learning recipe: freeze everything, replace the classifier.
    for p in model.parameters():
        p.requires_grad = False
    with torch.device("meta"):
        model.fc = nn.Sequential(nn.Dropout(0.3), nn.Linear(model.fc.in_features, 256), nn.ReLU(), nn.Linear(256, 5))
    c, h, w = model.spec["input"]
    assert model(torch.empty(2, c, h, w, device="meta")).shape == (2, 5)
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == model.fc[1].in_features * 256 + 256 + 1285


@pytest.mark.parametrize("depth", [18, 50, 20])
def test_plain_twins_have_the_same_layers_without_skips(depth):
    res, plain = trace(model_spec(f"resnet{depth}")), trace(model_spec(f"plain{depth}"))
    main = [(s.name, s.out_shape) for s in res.steps if s.role == "main"]
    assert main == [(s.name, s.out_shape) for s in plain.steps]
    assert not [s for s in plain.steps if s.role != "main"]
    assert len([s for s in res.steps if s.kind == "add"]) == sum(preset_info(f"resnet{depth}")["knobs"]["blocks"])


# --------------------------------------------------------------------------- knobs


def _types(model: nn.Module) -> list[str]:
    return [type(m).__name__ for m in model.modules()]


def test_knobs_change_what_they_say():
    with torch.device("meta"):
        half = build_model("resnet18", width=0.5)
        assert half.conv1.out_channels == 32 and half.fc.in_features == 256
        short = build_model("resnet50", blocks=[1, 1, 1, 1])
        assert _types(short).count("Bottleneck") == 4
        gray = build_model("vgg11", in_channels=1, num_classes=3)
        assert gray.features[0].in_channels == 1 and gray.classifier[-1].out_features == 3
        no_bn = build_model("resnet18", batch_norm=False)
        assert "BatchNorm2d" not in _types(no_bn) and no_bn.conv1.bias is not None
        gelu = build_model("simplecnn", activation="gelu", dropout=0.25)
        assert "GELU" in _types(gelu) and "ReLU" not in _types(gelu) and gelu.dropout.p == 0.25
        cifar = build_model("resnet20", blocks=5)
        assert _types(cifar).count("BasicBlock") == 15  # ResNet-32's layout
    assert model_spec("vgg11", batch_norm=True)["layers"] == model_spec("vgg11_bn")["layers"]
    assert summarize("resnet20", blocks=[5, 5, 5]).total_params == summarize("resnet32").total_params


def test_input_size_adapts_the_preset():
    """LeNet-5's first fully-connected layer follows the image size; the adaptive pool keeps VGG's fixed."""
    assert model_spec("lenet5")["layers"][2]["layers"][0]["in_features"] == 16 * 5 * 5
    assert model_spec("lenet5", input_size=28)["layers"][2]["layers"][0]["in_features"] == 16 * 4 * 4
    assert summarize("vgg16", input_size=(96, 128)).output_shape == (1, 1000)
    assert model_spec("resnet18", input_size=(96, 128))["input"] == [3, 96, 128]


@pytest.mark.parametrize(
    "knobs, words",
    [
        ({"blocks": [2, 2]}, "blocks for 'resnet18' must be 4 whole numbers"),
        ({"depth": 3}, "has no knob 'depth'; its knobs are: width, batch_norm, activation, dropout, blocks"),
        ({"width": 0}, "width multiplier must be a number from 0.01 to 16"),
        ({"activation": "swish"}, "Unknown activation 'swish'"),
        ({"dropout": 1.0}, "dropout must be a probability"),
    ],
)
def test_bad_knobs_get_a_sentence(knobs, words):
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace("[", r"\[")):
        model_spec("resnet18", **knobs)


def test_specs_and_spec_files_go_through_the_same_door(tmp_path):
    spec = model_spec("resnet20")
    path = tmp_path / "mine.json"
    save_spec(spec, path)
    assert model_spec(str(path), num_classes=4)["layers"][-1]["out_features"] == 4
    assert model_spec(spec, input_size=40)["input"] == [3, 40, 40]
    assert build_model(load_spec(str(path))).spec == spec
    with pytest.raises(SpecError, match="Knobs .* only apply to presets"):
        model_spec(spec, width=2.0)
