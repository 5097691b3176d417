"""Spec -> a self-contained PyTorch source file that rebuilds the model.

The file needs only ``torch``: the layers are written out as ``nn.Conv2d(...)`` calls the
way the article writes them, and the residual blocks it uses are defined in the file
(torchvision's ``BasicBlock`` / ``Bottleneck`` with the playground's two switches). Module
names are the spec's, so the generated model's ``state_dict`` has the same keys and shapes
as ``playground.models.spec.build(spec)``'s, and loading one into the other gives the same output
(``tests/unit/models/test_codegen.py`` executes the source to check).
"""

from __future__ import annotations

import keyword
import re

from playground.common.text import docstring_text
from playground.models.layers import LEAVES
from playground.models.spec import Trace, stage_block, trace
from playground.models.vocab import BLOCK_TYPES


def layer_call(layer: dict, in_shape: tuple) -> str:
    """The constructor call of one leaf layer on a per-sample ``in_shape``: ``nn.Conv2d(3, 64, kernel_size=3)``.

    The text is the leaf table's (``playground.models.layers``); ValueError for a type that is not a leaf.
    """
    return LEAVES.get(layer["type"]).source(layer, in_shape)


def _block_call(block: dict, in_channels: int) -> str:
    cls = "Bottleneck" if block["type"] == "bottleneck" else "BasicBlock"
    args = [str(in_channels), str(block["planes"])]
    args += [f"stride={block['stride']}"] if block["stride"] != 1 else []
    defaults = {"residual": True, "shortcut": "conv", "norm": True, "activation": "relu", "bias": False}
    for k, d in defaults.items():
        if block[k] != d:
            args.append(f"{'act' if k == 'activation' else k}={block[k]!r}")
    return f"{cls}({', '.join(args)})"


def class_name(spec: dict) -> str:
    """A Python class name from the model's name: ``ResNet-50`` -> ``ResNet50``."""
    parts = [p for p in re.split(r"[^0-9A-Za-z]+", spec.get("name", "")) if p]
    name = "".join(p[0].upper() + p[1:] for p in parts)
    return name if name and name[0].isalpha() else "Net" + name


def _shape(shape: tuple) -> str:
    return "(N, " + ", ".join(str(v) for v in shape) + ")"


class _Writer:
    def __init__(self, tr: Trace):
        self.tr = tr

    def module(self, layer: dict, full: str, indent: str) -> str:
        """The expression building one spec layer (nested groups spread over several lines)."""
        t, inputs = layer["type"], self.tr.inputs
        if t in BLOCK_TYPES:
            return _block_call(layer, inputs[full][0])
        if t == "stage":
            blocks = [_block_call(stage_block(layer, b), inputs[f"{full}.{b}"][0]) for b in range(layer["blocks"])]
            return "nn.Sequential(\n" + "".join(f"{indent}    {b},\n" for b in blocks) + f"{indent})"
        if t == "sequential":
            children = layer["layers"]
            names = [c.get("name") or str(i) for i, c in enumerate(children)]
            inner = indent + "    "
            if names == [str(i) for i in range(len(children))]:
                body = "".join(
                    f"{inner}{self.module(c, f'{full}.{n}', inner)},  # {_shape(self._out(f'{full}.{n}'))}\n"
                    for c, n in zip(children, names)
                )
                return "nn.Sequential(\n" + body + f"{indent})"
            body = "".join(
                f"{inner}({n!r}, {self.module(c, f'{full}.{n}', inner)}),\n" for c, n in zip(children, names)
            )
            return "nn.Sequential(OrderedDict([\n" + body + f"{indent}]))"
        return layer_call(layer, inputs[full])

    def _out(self, full: str) -> tuple:
        """Output shape of the layer called ``full``: the input of whatever runs next."""
        return self.outputs.get(full, ())

    def collect_outputs(self) -> None:
        # A layer's output is the input of the next one in its group; the last one's is its group's output.
        self.outputs: dict[str, tuple] = {}
        steps = self.tr.steps
        for st in steps:
            parts = st.name.split(".")
            for i in range(1, len(parts) + 1):
                self.outputs[".".join(parts[:i])] = st.out_shape  # the last step under a prefix wins


_BLOCKS_SRC = '''

def activation(name):
    """A block's non-linearity, in place where PyTorch allows it."""
    return {"relu": lambda: nn.ReLU(inplace=True), "leaky_relu": lambda: nn.LeakyReLU(inplace=True),
            "elu": lambda: nn.ELU(inplace=True), "gelu": nn.GELU, "silu": lambda: nn.SiLU(inplace=True),
            "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}[name]()
{pad}

def shortcut_path(inplanes, outplanes, stride, residual, shortcut, norm, bias):
    """The skip path when the shape changes: a 1x1 conv (+ BN), or subsampling + zero channels (option A)."""
    if not residual or (stride == 1 and inplanes == outplanes):
        return None  # identity (or no skip at all in a plain network)
    if shortcut == "pad":
        return PadShortcut(inplanes, outplanes, stride)
    layers = [nn.Conv2d(inplanes, outplanes, kernel_size=1, stride=stride, bias=bias)]
    return nn.Sequential(*layers, nn.BatchNorm2d(outplanes)) if norm else nn.Sequential(*layers)


class BasicBlock(nn.Module):
    """Two 3x3 convs learning F(x); the output is act(F(x) + x) (plain: act(F(x)))."""

    expansion = 1

    def __init__(self, inplanes, planes, stride=1, residual=True, shortcut="conv", norm=True, act="relu", bias=False):
        super().__init__()
        self.residual, self.act_name = residual, act
        self.conv1 = nn.Conv2d(inplanes, planes, kernel_size=3, stride=stride, padding=1, bias=bias)
        self.bn1 = nn.BatchNorm2d(planes) if norm else None
        setattr(self, act, activation(act))
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, padding=1, bias=bias)
        self.bn2 = nn.BatchNorm2d(planes) if norm else None
        self.downsample = shortcut_path(inplanes, planes, stride, residual, shortcut, norm, bias)

    def forward(self, x):
        act = getattr(self, self.act_name)
        out = self.conv1(x)
        out = act(out if self.bn1 is None else self.bn1(out))
        out = self.conv2(out)
        out = out if self.bn2 is None else self.bn2(out)
        if self.residual:
            out += x if self.downsample is None else self.downsample(x)  # F(x) + x
        return act(out)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (with the stride), 1x1 expand to 4x planes; the output is act(F(x) + x)."""

    expansion = 4

    def __init__(self, inplanes, planes, stride=1, residual=True, shortcut="conv", norm=True, act="relu", bias=False):
        super().__init__()
        self.residual, self.act_name = residual, act
        self.conv1 = nn.Conv2d(inplanes, planes, kernel_size=1, bias=bias)
        self.bn1 = nn.BatchNorm2d(planes) if norm else None
        setattr(self, act, activation(act))
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=stride, padding=1, bias=bias)
        self.bn2 = nn.BatchNorm2d(planes) if norm else None
        self.conv3 = nn.Conv2d(planes, planes * 4, kernel_size=1, bias=bias)
        self.bn3 = nn.BatchNorm2d(planes * 4) if norm else None
        self.downsample = shortcut_path(inplanes, planes * 4, stride, residual, shortcut, norm, bias)

    def forward(self, x):
        act = getattr(self, self.act_name)
        out = self.conv1(x)
        out = act(out if self.bn1 is None else self.bn1(out))
        out = self.conv2(out)
        out = act(out if self.bn2 is None else self.bn2(out))
        out = self.conv3(out)
        out = out if self.bn3 is None else self.bn3(out)
        if self.residual:
            out += x if self.downsample is None else self.downsample(x)  # F(x) + x
        return act(out)
'''

_PAD_SRC = '''

class PadShortcut(nn.Module):
    """Option A of He et al. 2015: subsample by the stride, then append zero channels (no parameters)."""

    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.in_channels, self.out_channels, self.stride = in_channels, out_channels, stride

    def forward(self, x):
        if self.stride != 1:
            x = x[:, :, ::self.stride, ::self.stride]
        extra = self.out_channels - self.in_channels
        return F.pad(x, (0, 0, 0, 0, extra // 2, extra - extra // 2)) if extra else x
'''


def _uses(layers: list[dict], pred) -> bool:
    return any(pred(layer) or (layer["type"] == "sequential" and _uses(layer["layers"], pred)) for layer in layers)


def _frozen(layers: list[dict], prefix: str = "") -> list[str]:
    out = []
    for i, layer in enumerate(layers):
        name = prefix + (layer.get("name") or str(i))
        if layer.get("frozen"):
            out.append(name)
        elif layer["type"] == "sequential":
            out += _frozen(layer["layers"], name + ".")
    return out


def pytorch_source(spec: dict, input_shape=None) -> str:
    """A runnable, self-contained ``.py`` that defines the model as a class (SpecError if the spec cannot work)."""
    tr = trace(spec, input_shape)
    spec = tr.spec
    w = _Writer(tr)
    w.collect_outputs()
    cls, layers = class_name(spec), spec["layers"]
    title = docstring_text(spec["name"])  # user text: escaped so it cannot close the docstring
    names = [layer.get("name") or str(i) for i, layer in enumerate(layers)]
    attrs = all(n.isidentifier() and not keyword.iskeyword(n) for n in names)
    c, h, wd = tr.input_shape
    n_params = sum(s.params for s in tr.steps)
    uses_blocks = _uses(layers, lambda x: x["type"] in (*BLOCK_TYPES, "stage"))
    uses_pad = _uses(
        layers, lambda x: x["type"] in (*BLOCK_TYPES, "stage") and x["shortcut"] == "pad" and x["residual"]
    )
    uses_dict = _uses(
        layers,
        lambda x: (
            x["type"] == "sequential"
            and [k.get("name") or str(i) for i, k in enumerate(x["layers"])]
            != [str(i) for i in range(len(x["layers"]))]
        ),
    )
    out = [
        f'"""{title}: generated by CNN Playground from its model spec.',
        "",
        f"Input [N, {c}, {h}, {wd}] -> output [N, {', '.join(map(str, tr.output_shape))}]; {n_params:,} parameters.",
        "Needs only PyTorch: `python this_file.py` builds the model and checks the output shape.",
        '"""',
        "",
        *(["from collections import OrderedDict", ""] if uses_dict else []),
        "import torch",
        "import torch.nn as nn",
        *(["import torch.nn.functional as F"] if uses_pad else []),
    ]
    if uses_blocks:
        out.append(_BLOCKS_SRC.replace("{pad}", _PAD_SRC if uses_pad else ""))
    else:
        out.append("")
    out += [
        "",
        f"class {cls}(nn.Module):",
        f'    """{title}."""',
        "",
        "    def __init__(self):",
        "        super().__init__()",
    ]
    for layer, name in zip(layers, names):
        expr = w.module(layer, name, "        ")
        out.append(f"        self.{name} = {expr}" if attrs else f"        self.add_module({name!r}, {expr})")
    frozen = _frozen(layers)
    if frozen:
        out.append(f"        for name in {frozen!r}:  # frozen: not trained")
        out.append("            self.get_submodule(name).requires_grad_(False)")
    out += ["", f"    def forward(self, x):  # x: {_shape(tr.input_shape)}"]
    if attrs:
        width = max([len(f"x = self.{n}(x)") for n in names] + [0])
        for n, layer in zip(names, layers):
            call = f"x = self.{n}(x)"
            out.append(f"        {call.ljust(width)}  # {_shape(w.outputs.get(n, ()))}")
    else:
        out += ["        for layer in self.children():", "            x = layer(x)"]
    out.append(f"        return x  # {_shape(tr.output_shape)}")
    out += [
        "",
        "",
        'if __name__ == "__main__":',
        f"    model = {cls}().eval()",
        f"    x = torch.randn(2, {c}, {h}, {wd})",
        f'    print(f"Output: {{list(model(x).shape)}}")  # [2, {", ".join(map(str, tr.output_shape))}]',
        '    print(f"Parameters: {sum(p.numel() for p in model.parameters()):,}")',
        "",
    ]
    return "\n".join(out)
