"""The exported PyTorch source, executed: same state_dict keys and shapes as the spec's model, same outputs."""

from __future__ import annotations

import pytest
import torch

from playground.models.codegen import class_name, layer_call, pytorch_source
from playground.models.spec import build
from playground.models.vocab import SpecError
from playground.models.zoo import MODELS, model_spec

# Every vocabulary word and option the writer has a branch for, in one model.
EVERYTHING = {
    "name": "kitchen sink",
    "input": [3, 20, 24],
    "layers": [
        {
            "type": "sequential",
            "name": "stem",
            "layers": [
                {
                    "type": "conv",
                    "name": "conv",
                    "out_channels": 8,
                    "kernel": [3, 5],
                    "padding": "same",
                    "dilation": [1, 2],
                },
                {"type": "batchnorm", "name": "norm", "eps": 1e-3, "momentum": 0.2},
                {"type": "activation", "name": "act", "fn": "leaky_relu", "inplace": True},
            ],
        },
        {"type": "conv", "name": "grouped", "out_channels": 8, "kernel": 3, "groups": 4, "bias": False, "frozen": True},
        {"type": "maxpool", "name": "pool", "kernel": 3, "stride": 2, "padding": 1, "ceil_mode": True},
        {"type": "basic_block", "name": "b1", "planes": 16, "stride": 2, "shortcut": "pad", "activation": "gelu"},
        {"type": "bottleneck", "name": "b2", "planes": 4, "norm": False, "bias": True},
        {"type": "stage", "name": "plain", "block": "basic_block", "blocks": 2, "planes": 16, "residual": False},
        {"type": "avgpool", "name": "avg", "kernel": 2, "stride": 1, "count_include_pad": False, "padding": 1},
        {"type": "adaptive_maxpool", "name": "amax", "output": [2, 3]},
        {"type": "flatten", "name": "flat"},
        {"type": "dropout", "name": "drop", "p": 0.1},
        {"type": "linear", "name": "hidden", "out_features": 12, "bias": False},
        {"type": "batchnorm", "name": "bn1d"},
        {"type": "activation", "name": "sig", "fn": "sigmoid"},
        {"type": "linear", "name": "class", "out_features": 5},  # a keyword: forces add_module
    ],
}


def _exec(source: str, as_main: bool = False) -> dict:
    ns: dict = {"__name__": "__main__" if as_main else "generated"}
    exec(compile(source, "generated.py", "exec"), ns)
    return ns


def _same_model(spec: dict, real: bool) -> None:
    source = pytorch_source(spec)
    assert "playground" not in source.split('"""', 2)[2]  # self-contained: no import of this project
    cls = _exec(source)[class_name(spec)]
    if not real:
        with torch.device("meta"):
            theirs, ours = cls(), build(spec)
    else:
        theirs, ours = cls(), build(spec)
    assert [(k, v.shape) for k, v in theirs.state_dict().items()] == [
        (k, v.shape) for k, v in ours.state_dict().items()
    ]
    assert [p.requires_grad for p in theirs.parameters()] == [p.requires_grad for p in ours.parameters()]
    if real:
        with torch.no_grad():
            for p in ours.parameters():
                p.add_(torch.randn(p.shape) * 0.1)
            for b in ours.buffers():
                if b.is_floating_point():
                    b.add_(torch.rand(b.shape))
        theirs.load_state_dict(ours.state_dict(), strict=True)
        x = torch.randn(3, *spec["input"])
        torch.testing.assert_close(theirs.eval()(x), ours.eval()(x), rtol=0, atol=0)


@pytest.mark.parametrize("name", MODELS.names())
def test_every_preset_exports_the_same_model(name):
    small = name in ("simplecnn", "lenet5", "lenet5_modern") or name[-2:] in ("20", "32")
    _same_model(model_spec(name), real=small)


def test_every_layer_option_exports_the_same_model():
    _same_model(EVERYTHING, real=True)


def test_the_exported_file_runs_as_a_script(capsys):
    source = pytorch_source(model_spec("simplecnn"))
    assert "class SimpleCNN(nn.Module):" in source
    assert "nn.Conv2d(3, 32, kernel_size=3, padding=1)" in source and "nn.MaxPool2d(kernel_size=2, stride=2)" in source
    assert "x = self.classifier(x)  # (N, 10)" in source
    _exec(source, as_main=True)
    assert capsys.readouterr().out.splitlines() == ["Output: [2, 10]", "Parameters: 94,986"]


def test_layer_calls_read_like_the_article():
    conv = model_spec("simplecnn")["layers"][0]["layers"][0]
    assert layer_call(conv, (3, 32, 32)) == "nn.Conv2d(3, 32, kernel_size=3, padding=1)"
    assert class_name({"name": "VGG-11 with batch norm"}) == "VGG11WithBatchNorm"
    assert class_name({"name": "3 layers"}) == "Net3Layers"


def test_a_broken_spec_is_explained_not_exported():
    spec = model_spec("simplecnn")
    spec["layers"][2]["in_features"] = 64
    with pytest.raises(SpecError, match="set in_features=128"):
        pytorch_source(spec)
