"""Property tests: our arithmetic against PyTorch's own layers, thousands of random configurations.

For every drawn configuration we run the real ``nn.Conv2d`` / ``nn.MaxPool2d`` / ``nn.AvgPool2d``.
Where PyTorch produces an output, we must accept and predict its exact shape; where PyTorch
raises, we must reject with an explanation. Receptive field and jump are checked independently
through autograd: the gradient of one output unit with respect to the input is non-zero exactly
on that unit's receptive field.
"""

import warnings

import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playground.models.arithmetic import (
    PADDING_MODES,
    ConvSpec,
    PoolSpec,
    analyse_chain,
    analyse_layer,
    conv_padding,
    to_module,
)

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])
pairs = lambda lo, hi: st.tuples(st.integers(lo, hi), st.integers(lo, hi))  # noqa: E731


def _torch_outcome(spec, shape):
    """The output shape PyTorch produces, or None when it raises."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return tuple(to_module(spec, shape[1])(torch.zeros(shape)).shape)
        except (RuntimeError, ValueError):
            return None


def _assert_agrees(spec, shape):
    ours = analyse_layer(spec, shape)
    theirs = _torch_outcome(spec, shape)
    if theirs is None:
        assert ours.error, f"PyTorch rejects {spec} on {shape} but we accept it"
        assert len(ours.error) > 30 and ours.error.endswith((".", ")")), ours.error
    else:
        assert ours.error is None, f"PyTorch accepts {spec} on {shape} -> {theirs}, we say: {ours.error}"
        assert ours.out_shape == theirs


conv_specs = st.builds(
    ConvSpec,
    out_channels=st.integers(1, 6),
    kernel=pairs(1, 7),
    stride=pairs(1, 4),
    padding=st.one_of(st.sampled_from(["same", "valid"]), pairs(-3, 4)),  # negative: crops, except with zeros
    dilation=pairs(1, 3),
    groups=st.integers(1, 4),
    bias=st.booleans(),
    padding_mode=st.sampled_from(PADDING_MODES),
)
pool_specs = st.builds(
    PoolSpec,
    pool=st.sampled_from(["max", "avg"]),
    kernel=pairs(1, 6),
    stride=pairs(1, 4),
    padding=pairs(0, 3),
    dilation=pairs(1, 3),
    ceil_mode=st.booleans(),
)
shapes = st.tuples(st.just(1), st.integers(1, 6), st.integers(1, 14), st.integers(1, 14))


@settings(max_examples=2500, **SETTINGS)
@given(spec=conv_specs, shape=shapes)
def test_conv_shape_and_rejection_equal_pytorch(spec, shape):
    _assert_agrees(spec, shape)


@settings(max_examples=2500, **SETTINGS)
@given(spec=pool_specs, shape=shapes)
def test_pool_shape_and_rejection_equal_pytorch(spec, shape):
    _assert_agrees(spec, shape)


@settings(max_examples=600, **SETTINGS)
@given(
    spec=st.one_of(
        st.builds(
            ConvSpec,
            out_channels=st.integers(0, 3),
            kernel=pairs(0, 4),
            stride=pairs(0, 3),
            padding=pairs(-1, 3),
            dilation=pairs(0, 2),
            groups=st.integers(0, 3),
        ),
        st.builds(
            PoolSpec,
            pool=st.sampled_from(["max", "avg"]),
            kernel=pairs(0, 4),
            stride=pairs(0, 3),
            padding=pairs(-1, 3),
            dilation=pairs(0, 2),
        ),
    ),
    shape=shapes,
)
def test_zero_and_negative_settings_rejected_whenever_pytorch_rejects(spec, shape):
    ours = analyse_layer(spec, shape)
    theirs = _torch_outcome(spec, shape)
    if theirs is None:
        assert ours.error
    elif ours.error is None:
        assert ours.out_shape == theirs


# --------------------------------------------------------------------------- receptive field


def _rf_layer(spec):
    """A geometry-preserving stand-in: convs keep their geometry; max pools become avg pools
    (same windows) so every input in the window receives gradient."""
    if isinstance(spec, ConvSpec):
        return ConvSpec(1, spec.kernel, spec.stride, spec.padding, spec.dilation, 1, False, "zeros")
    return PoolSpec("avg", spec.kernel, spec.stride, spec.padding, (1, 1), spec.ceil_mode)


def _forward_ones(x, specs):
    for spec in specs:
        if isinstance(spec, ConvSpec):
            (pt, pb), (pl, pr) = conv_padding(spec)
            x = F.conv2d(
                F.pad(x, (pl, pr, pt, pb)),
                torch.ones(1, 1, *spec.kernel, dtype=x.dtype),
                stride=spec.stride,
                dilation=spec.dilation,
            )
        else:
            x = F.avg_pool2d(
                x, spec.kernel, spec.stride, spec.padding, ceil_mode=spec.ceil_mode, count_include_pad=True
            )
    return x


def _support(grad):
    rows = torch.nonzero(grad.abs().sum(1) > 0).flatten()
    cols = torch.nonzero(grad.abs().sum(0) > 0).flatten()
    return (int(rows.min()), int(rows.max())), (int(cols.min()), int(cols.max()))


layer_specs = st.one_of(
    st.builds(
        ConvSpec,
        out_channels=st.just(1),
        kernel=pairs(1, 5),
        stride=pairs(1, 2),
        padding=st.one_of(st.just("valid"), pairs(0, 2)),
        dilation=pairs(1, 2),
    ),
    st.builds(PoolSpec, pool=st.just("avg"), kernel=pairs(1, 3), stride=pairs(1, 3), padding=st.just((0, 0))),
)


@settings(max_examples=150, **SETTINGS)
@given(specs=st.lists(layer_specs, min_size=1, max_size=4))
def test_receptive_field_and_jump_equal_the_gradient_support(specs):
    specs = [_rf_layer(s) for s in specs]
    rf_guess = analyse_chain((1, 1, 512, 512), specs)[-1]
    assert rf_guess.error is None
    size = (
        2 * rf_guess.receptive_field[0] + 4 * rf_guess.jump[0] + 8,
        2 * rf_guess.receptive_field[1] + 4 * rf_guess.jump[1] + 8,
    )
    rep = analyse_chain((1, 1, *size), specs)[-1]
    x = torch.ones(1, 1, *size, dtype=torch.float64, requires_grad=True)
    y = _forward_ones(x, specs)
    assert tuple(y.shape) == rep.out_shape
    i, j = y.shape[2] // 2, y.shape[3] // 2
    starts = []
    for di, dj in ((0, 0), (1, 0), (0, 1)):
        (g,) = torch.autograd.grad(y[0, 0, i + di, j + dj], x, retain_graph=True)
        (r0, r1), (c0, c1) = _support(g[0, 0])
        if (di, dj) == (0, 0):
            assert (r1 - r0 + 1, c1 - c0 + 1) == rep.receptive_field
        starts.append((r0, c0))
    assert starts[1][0] - starts[0][0] == rep.jump[0]
    assert starts[2][1] - starts[0][1] == rep.jump[1]
