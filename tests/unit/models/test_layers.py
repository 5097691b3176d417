"""The leaf table: every facet of every registered layer type held to PyTorch, and a new type added in one place.

``_check_facets`` knows nothing about any particular type: it builds the module a leaf
declares and compares each of its other facets (shape, parameters, class name, source,
MACs, receptive-field window, activation memory, what autograd saves for the backward pass,
buffers, torchinfo's mult-adds) with what PyTorch does. ``SpaceToDepth`` below is a layer type the playground does not have: registered
in the table for one test, it flows through the vocabulary, trace, summary, build and the
exported source with no other module edited.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torchinfo
from torch.utils.flop_counter import FlopCounterMode

from playground.models.arithmetic import LayerError
from playground.models.blocks import PadShortcut
from playground.models.codegen import class_name, pytorch_source
from playground.models.layers import LEAVES, Field, LayerType, Leaf, leaf, need_feature_map
from playground.models.spec import build, trace
from playground.models.summary import summarize
from playground.models.vocab import BLOCK_TYPES, CONTAINER_TYPES, LAYER_TYPES, SpecError, normalize

FEATURE_MAP, FLAT = (4, 12, 12), (6,)


def _defaults(lf: Leaf) -> dict:
    """A layer of type ``lf`` with every setting at its default (the normalized form)."""
    return {"type": lf.type, **{f.name: f.default for f in lf.word.fields}}


def _dependencies(module: nn.Module, in_shape: tuple) -> dict[tuple[int, int], set[tuple[int, int]]]:
    """Output position -> the input positions that change it (raised one at a time, on every channel)."""
    module = module.double().eval()
    x = torch.rand(1, *in_shape, dtype=torch.float64)
    with torch.no_grad():
        y = module(x.clone())
        deps: dict[tuple[int, int], set[tuple[int, int]]] = {}
        for i in range(in_shape[1]):
            for j in range(in_shape[2]):
                x2 = x.clone()
                x2[0, :, i, j] += 10.0  # enough to become the max of any pooling window
                changed = (module(x2) - y).abs().sum(1)[0] > 1e-9
                for o in changed.nonzero().tolist():
                    deps.setdefault(tuple(o), set()).add((i, j))
    return deps


def _check_window(lf: Leaf, layer: dict, in_shape: tuple, out_shape: tuple, module: nn.Module) -> None:
    window = lf.window(layer, in_shape, out_shape)
    if len(out_shape) != 3:
        assert window is None, "a flat output sees the whole input: the window must be None"
        return
    assert window is not None
    (kh, kw), (sh, sw), (dh, dw) = window
    deps = _dependencies(module, in_shape)
    for axis, rf, stride in ((0, dh * (kh - 1) + 1, sh), (1, dw * (kw - 1) + 1, sw)):
        extent = max(max(p[axis] for p in ins) - min(p[axis] for p in ins) + 1 for ins in deps.values())
        assert extent == rf, f"receptive field along axis {axis}"
        m = out_shape[1 + axis]
        if m > 1:  # the jump: how far the window moves between neighbouring outputs (in the middle, unclipped)
            a = [out_shape[1] // 2, out_shape[2] // 2]
            b = list(a)
            a[axis], b[axis] = m // 2 - 1, m // 2
            start = [min(p[axis] for p in deps[tuple(o)]) for o in (a, b)]
            assert start[1] - start[0] == stride, f"jump along axis {axis}"


def _check_facets(lf: Leaf, layer: dict, in_shape: tuple) -> None:
    """Every facet ``lf`` declares for ``layer`` on a per-sample ``in_shape``, against PyTorch."""
    out_shape, params = lf.output(layer, in_shape, "Layer x")
    module = lf.build(layer, in_shape)
    assert type(module).__name__ == lf.type_name(layer, in_shape)
    assert params == sum(p.numel() for p in module.parameters())
    float_buffers = sum(b.numel() for b in module.buffers() if b.is_floating_point())  # not num_batches_tracked
    assert lf.buffers(layer, in_shape) == float_buffers

    # The source text makes the same module: same class, same settings, same state_dict shapes.
    made = eval(lf.source(layer, in_shape), {"nn": nn, "PadShortcut": PadShortcut})
    assert repr(made) == repr(module)
    assert [(k, v.shape) for k, v in made.state_dict().items()] == [
        (k, v.shape) for k, v in module.state_dict().items()
    ]

    x = torch.randn(1, *in_shape)
    with FlopCounterMode(display=False) as counter:
        y = module.eval()(x.clone())
    assert tuple(y.shape[1:]) == out_shape
    assert counter.get_total_flops() == 2 * lf.macs(layer, in_shape, out_shape)  # FLOPs = 2 x MACs
    info = torchinfo.summary(module, input_data=x.clone(), verbose=0)
    assert lf.torchinfo_mult_adds(params, out_shape) == info.total_mult_adds

    # Activation memory: a view or an in-place layer hands back its input's storage (training mode: dropout works).
    x = torch.randn(2, *in_shape)
    y = module.train()(x)
    assert lf.allocates(layer) == (y.data_ptr() != x.data_ptr())

    _check_saved(lf, layer, in_shape, out_shape, module)
    if len(in_shape) == 3:
        _check_window(lf, layer, in_shape, out_shape, module)


def _check_saved(lf: Leaf, layer: dict, in_shape: tuple, out_shape: tuple, module: nn.Module) -> None:
    """What autograd keeps for the backward pass (saved_tensors_hooks) against ``saves`` and ``saved_extra``."""
    params = {p.untyped_storage().data_ptr() for p in [*module.parameters(), *module.buffers()]}
    saved: dict[int, int] = {}

    def pack(t):
        if t.dim() != 1 or t.numel() != in_shape[0]:  # not batch norm's per-channel statistics (a few bytes)
            saved[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    leaf_x = torch.randn(2, *in_shape, requires_grad=True)
    x = leaf_x * 1.0  # not a leaf, so an in-place layer may write over it
    x_ptr = x.untyped_storage().data_ptr()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        y = module.train()(x)
    y_ptr = y.untyped_storage().data_ptr()
    keep_in, keep_out = lf.saves(layer)
    expect = ({x_ptr} if keep_in else set()) | ({y_ptr} if keep_out else set())
    got = {p for p in saved if p in (x_ptr, y_ptr)}
    assert got == expect, f"{lf.type} declares (input, output) = {keep_in, keep_out}; autograd kept otherwise"
    extra = sum(n for p, n in saved.items() if p not in (x_ptr, y_ptr) and p not in params)
    assert extra == 2 * lf.saved_extra(layer, in_shape, out_shape), lf.type


# Besides each type's defaults: settings where the facets branch (strides, dilation, 1-D inputs, in place).
SAMPLES = [
    (
        {
            "type": "conv",
            "out_channels": 6,
            "kernel": [3, 5],
            "stride": [2, 1],
            "padding": [1, 2],
            "dilation": [1, 2],
            "groups": 2,
            "bias": False,
        },
        FEATURE_MAP,
    ),  # fmt: skip
    ({"type": "conv", "out_channels": 3, "padding": "same", "dilation": 2}, FEATURE_MAP),
    ({"type": "maxpool", "kernel": 3, "stride": 2, "padding": 1, "dilation": 2, "ceil_mode": True}, FEATURE_MAP),
    ({"type": "avgpool", "kernel": [3, 2], "stride": 1, "padding": 1, "count_include_pad": False}, FEATURE_MAP),
    ({"type": "adaptive_avgpool", "output": [2, 3]}, FEATURE_MAP),
    ({"type": "adaptive_maxpool", "output": [4, 2]}, FEATURE_MAP),
    ({"type": "batchnorm", "affine": False}, FLAT),
    ({"type": "activation", "fn": "leaky_relu", "inplace": True}, FEATURE_MAP),
    ({"type": "activation", "fn": "sigmoid", "inplace": True}, FLAT),  # PyTorch has no in-place Sigmoid module
    ({"type": "linear", "out_features": 3, "bias": False}, FLAT),
    ({"type": "dropout", "p": 0.2}, FLAT),
    ({"type": "pad_shortcut", "out_channels": 8, "stride": 2}, (4, 11, 11)),
]


@pytest.mark.parametrize("name", LEAVES.names())
def test_every_leaf_type_declares_every_facet_as_pytorch_does_it(name):
    lf = LEAVES.get(name)
    checked = 0
    for shape in (FEATURE_MAP, FLAT):
        layer = _defaults(lf)
        try:
            lf.output(layer, shape, "Layer x")
        except LayerError:  # e.g. a conv on a flat vector: nothing to hold to PyTorch
            continue
        _check_facets(lf, layer, shape)
        checked += 1
    for layer, shape in SAMPLES:
        if layer["type"] == name:
            _check_facets(lf, {**_defaults(lf), **layer}, shape)
            checked += 1
    assert checked, f"{name}: its defaults work on no sample input"


def test_the_vocabulary_is_the_tables_words_then_blocks_and_containers():
    words = [t for t in LAYER_TYPES if t not in (*BLOCK_TYPES, *CONTAINER_TYPES)]
    assert words == [n for n, lf in LEAVES.items() if lf.in_vocabulary]
    assert all(LAYER_TYPES[t] is LEAVES.get(t).word for t in words)
    assert "pad_shortcut" in LEAVES and "pad_shortcut" not in LAYER_TYPES  # made by blocks, never written
    with pytest.raises(ValueError, match="Unknown leaf layer type 'stage'. Choose one of: conv, batchnorm"):
        LEAVES.get("stage")


def test_a_type_missing_a_facet_or_reusing_a_name_cannot_be_registered():
    class NoSource(Leaf):
        word = LayerType("no_source", "No source", "Identity", (), "Builds, but cannot be exported.")

        def output(self, layer, shape, what):
            return shape, 0

        def build(self, layer, in_shape):
            return nn.Identity()

    with pytest.raises(TypeError, match="abstract method.*source"):
        leaf(NoSource)

    class Conv(NoSource):
        word = LEAVES.get("conv").word

        def source(self, layer, in_shape):
            return "nn.Identity()"

    with pytest.raises(ValueError, match="'conv' is already registered"):
        leaf(Conv)
    assert "no_source" not in LEAVES and "no_source" not in LAYER_TYPES


# --------------------------------------------------------------------------- a new layer type, in one place


class SpaceToDepth(Leaf):
    """``nn.PixelUnshuffle``: each factor x factor patch becomes factor**2 channels (a toy, for this test)."""

    word = LayerType(
        "space_to_depth",
        "Space to depth",
        "PixelUnshuffle",
        (Field("factor", "int", 2, "Side of the patch folded into channels", 1, 16),),
        "Trades resolution for channels without losing a value.",
    )

    def output(self, layer, shape, what):
        need_feature_map(what, shape)
        c, h, w = shape
        f = layer["factor"]
        if h % f or w % f:
            raise LayerError(f"{what} needs a height and width divisible by {f}, not {h}x{w}.")
        return (c * f * f, h // f, w // f), 0

    def build(self, layer, in_shape):
        return nn.PixelUnshuffle(layer["factor"])

    def source(self, layer, in_shape):
        return f"nn.PixelUnshuffle({layer['factor']})"

    def saves(self, layer):
        return False, False  # a reshuffle: its backward is the inverse reshuffle

    def window(self, layer, in_shape, out_shape):
        f = layer["factor"]
        return (f, f), (f, f), (1, 1)


@pytest.fixture
def space_to_depth():
    leaf(SpaceToDepth)
    yield LEAVES.get("space_to_depth")
    del LEAVES._items["space_to_depth"]  # Registry has no unregister; only a test takes a type back


def test_a_type_registered_in_the_table_works_everywhere(space_to_depth):
    _check_facets(space_to_depth, _defaults(space_to_depth), FEATURE_MAP)
    spec = {
        "name": "folded",
        "input": [3, 8, 8],
        "layers": [
            {"type": "conv", "name": "conv", "out_channels": 4, "padding": 1},
            {"type": "space_to_depth", "name": "fold"},
            {"type": "flatten", "name": "flat"},
            {"type": "linear", "name": "fc", "out_features": 5},
        ],
    }
    assert "space_to_depth" in LAYER_TYPES and normalize(spec)["layers"][1]["factor"] == 2
    assert [s.out_shape for s in trace(spec).steps] == [(4, 8, 8), (16, 4, 4), (256,), (5,)]

    row = {r.name: r for r in summarize(spec).rows}["fold"]
    assert (row.type, row.output_shape, row.macs, row.allocates) == ("PixelUnshuffle", (1, 16, 4, 4), 0, True)
    assert (row.receptive_field, row.jump) == ((4, 4), (2, 2))  # the conv's 3, plus (2 - 1) x 1

    ours = build(spec).eval()
    source = pytorch_source(spec)
    assert "self.fold = nn.PixelUnshuffle(2)" in source
    ns: dict = {"__name__": "generated"}
    exec(compile(source, "generated.py", "exec"), ns)
    theirs = ns[class_name(spec)]().eval()
    theirs.load_state_dict(ours.state_dict(), strict=True)
    x = torch.randn(2, 3, 8, 8)
    torch.testing.assert_close(theirs(x), ours(x), rtol=0, atol=0)

    err = trace({**spec, "input": [3, 7, 7]}, raise_errors=False).error
    assert str(err) == "Layer fold (PixelUnshuffle) needs a height and width divisible by 2, not 7x7."
    assert (err.path, err.item) == ("fold", (1,))


def test_a_type_taken_back_out_of_the_table_is_no_word_any_more(space_to_depth):
    del LEAVES._items["space_to_depth"]
    try:
        with pytest.raises(SpecError, match="unknown layer type 'space_to_depth'"):
            normalize({"layers": [{"type": "space_to_depth"}]})
    finally:
        LEAVES.register("space_to_depth", space_to_depth)  # the fixture takes it back again
