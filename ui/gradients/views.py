"""Widgets and views of the skip-connection page: the study's settings, training with progress, the charts.

A study is cached per config (``st.cache_data``), so going back to a setup, or another session
asking for the same one, shows it at once. The progress bar is created inside the cached function:
on a cache hit Streamlit replays it, already emptied.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict

import streamlit as st

from playground.labs.gradients import GradFlowConfig, GradFlowResult, run_study, study_data
from playground.viz import gradients as viz
from ui import state
from ui.text import plain
from ui.widgets import bounds, options

NS = "gradients"
WIDGETS = {"depth", "dataset", "batch_norm", "steps", "lr", "record_steps", "seed"}
DATASET_LABELS = {"digits": "Handwritten digits (8x8)", "shapes": "Shapes (32x32)"}


def _steps_changed() -> None:
    # Keep the recorded steps inside the run: the multiselect's options are 0 .. steps - 1.
    steps = state.value(NS, "steps")
    kept = [s for s in state.value(NS, "record_steps", []) if s < steps]
    state.set_value(NS, "record_steps", sorted(set(kept + [0, steps - 1]))[:5])


def controls(cfg: GradFlowConfig) -> bool:
    """Draw the settings; returns True when "Train both networks" was pressed."""
    c = st.columns([3, 2, 2], gap="medium")
    c[0].select_slider(
        "Depth (weight layers, 6n + 2)",
        options(GradFlowConfig, "depth"),
        key=state.key(NS, "depth"),
        help="He et al.'s CIFAR ResNets: a 3x3 conv, three stages of n blocks of two 3x3 convs, a fc layer.",
    )
    c[1].radio(
        "Data",
        options(GradFlowConfig, "dataset"),
        key=state.key(NS, "dataset"),
        format_func=DATASET_LABELS.get,
        horizontal=True,
    )
    c[2].toggle(
        "Batch normalisation",
        key=state.key(NS, "batch_norm"),
        help="Off: the classic setting in which deep plain networks' gradients vanish. On: see below.",
    )
    c = st.columns([2, 2, 3, 1], gap="medium", vertical_alignment="bottom")
    c[0].select_slider(
        "Training steps", options(GradFlowConfig, "steps"), key=state.key(NS, "steps"), on_change=_steps_changed
    )
    c[1].select_slider("Learning rate (SGD, momentum 0.9)", options(GradFlowConfig, "lr"), key=state.key(NS, "lr"))
    c[2].multiselect(
        "Record gradients at steps",
        list(range(cfg.steps)),
        key=state.key(NS, "record_steps"),
        max_selections=5,
        help="Step 0 is the untrained network: the first backward pass.",
    )
    c[3].number_input("Seed", key=state.key(NS, "seed"), **bounds(GradFlowConfig, "seed"))
    return st.button("Train both networks", type="primary", icon=":material/play_arrow:", key=f"{NS}_train")


def config_key(cfg: GradFlowConfig) -> str:
    """The study's identity: its settings as sorted JSON."""
    return json.dumps(asdict(cfg), sort_keys=True)


@st.cache_data(show_spinner=False, max_entries=32)
def _study(key: str) -> tuple[GradFlowResult, float]:
    cfg = GradFlowConfig(**json.loads(key))
    bar = st.progress(0.0, text="Preparing the data ...")
    t0 = time.perf_counter()
    images, labels, classes = study_data(cfg)
    result = run_study(
        cfg,
        images,
        labels,
        len(classes),
        on_step=lambda done, total: bar.progress(
            done / total, text=f"Training the plain and the residual network: step {done} of {total}"
        ),
    )
    bar.empty()
    return result, time.perf_counter() - t0


def study(cfg: GradFlowConfig) -> tuple[GradFlowResult, float] | None:
    """The study for ``cfg`` (trained now, with a progress bar, unless cached); None with a sentence if unusable."""
    try:
        cfg.validate()
    except ValueError as exc:
        st.error(plain(exc))
        return None
    return _study(config_key(cfg))


def _ratio(x: float) -> str:
    return f"{x:.1e}" if x < 0.01 or x > 100 else f"{x:.2f}"


def results(cfg: GradFlowConfig, result: GradFlowResult, seconds: float) -> None:
    """Headline numbers, the loss curves and the per-layer gradient norms."""
    last = max(result.grad_norms["plain"]) if result.grad_norms["plain"] else None
    c = st.columns(4)
    if last is not None:
        for col, net in zip(c[:2], ("plain", "residual")):
            col.metric(
                f"{net.capitalize()}: first / last gradient",
                _ratio(result.first_to_last(net, last)),
                help=f"At step {last}: the gradient norm reaching layer 1 divided by the norm at the last "
                "layer. "
                "Near 1: the gradient flows. Orders of magnitude below 1: it vanishes on its way back. "
                "Far above 1: it explodes.",
            )
    for col, net in zip(c[2:], ("plain", "residual")):
        tail = [v for v in result.losses[net][-5:] if math.isfinite(v)]
        col.metric(
            f"{net.capitalize()}: loss, last 5 steps",
            f"{sum(tail) / len(tail):.3f}" if tail else "diverged",
            delta=f"{(sum(tail) / len(tail) - result.losses[net][0]):+.3f} since step 0" if tail else None,
            delta_color="inverse",
        )
    st.caption(
        f"Gradient ratios at step {last}. Depth {cfg.depth}, {cfg.steps} steps of {cfg.batch_size} images, "
        f"trained in {seconds:.1f} s on this machine's CPU (cached: this setup shows at once next time)."
    )
    zeros = sorted({i + 1 for steps in result.grad_norms["plain"].values() for i, v in enumerate(steps) if v == 0})
    if zeros:
        st.caption(
            f"The plain network's layers {zeros[0]} to {zeros[-1]} received a gradient of exactly 0: it fell "
            "below the smallest number float32 can hold (about 1e-38) and vanished completely; the chart leaves "
            "them out, since a log scale has no 0."
        )
    left, right = st.columns([2, 3], gap="medium")
    left.plotly_chart(viz.loss_curves(result.losses), width="stretch", key=f"{NS}_loss_chart")
    right.plotly_chart(viz.grad_norms(result.layer_names, result.grad_norms), width="stretch", key=f"{NS}_norm_chart")


SETUP = """
**What you see.** Both networks have the same {depth} layers and start from the same weights; the only difference
is the skip connections. The right chart shows, for every layer, how large the gradient of the loss with respect to
its weights is: this is what SGD updates that layer with.
"""

# One paragraph per verdict on the plain network's first / last ratio (playground.labs.gradients.gradient_verdict).
PLAIN = {
    "vanishing": """
**Why the plain network's early layers get (almost) nothing** (first / last = {ratio}). Back-propagation multiplies
the gradient by the derivative of every layer it passes on its way back to the input. In a plain network that is one
factor per layer; when most of them are below 1, {depth} of them in a row shrink the gradient by orders of magnitude:
the first layers barely learn, and the whole network with them. This is the *vanishing gradient*.
""",
    "exploding": """
**Why the plain network's early layers get *more* than the last** (first / last = {ratio}). Back-propagation
multiplies the gradient by the derivative of every layer on its way back; here most factors are above 1 (with batch
normalisation, every layer's activations are rescaled to unit variance, so nothing fades), and {depth} of them in a
row blow it up: an *exploding gradient*. Training is clipped here so the run survives; the plain network still
trains worse than its residual twin.
""",
    "neither": """
**Here the plain network's gradient neither vanishes nor explodes** (first / last = {ratio}, within a factor of 10
of 1). {why} Make it deeper, or turn batch normalisation {toggle}, to see a plain network's gradient
{other} on its way back.
""",
}

RESIDUAL = """
**Why the residual network's gradients stay balanced**{ratio}. Each residual block outputs
**F(x) + x** instead of F(x). Its derivative is **F'(x) + 1**: the identity path contributes a 1, so however small
F'(x) is, the gradient arriving at a block passes through the skip connection unchanged. That is how ResNet trains
networks of 152 layers and more.
"""


def explanation(cfg: GradFlowConfig, result: GradFlowResult | None = None) -> None:
    """The article's argument, following what the chart shows: vanishing, exploding or neither."""
    st.markdown(SETUP.format(depth=cfg.depth))
    if result is None or not result.grad_norms["plain"]:
        st.markdown(
            "*Train both networks: the explanation then follows what the chart shows, a vanishing gradient, an "
            "exploding one, or neither.*"
        )
        st.markdown(RESIDUAL.format(ratio=""))
        return
    last = max(result.grad_norms["plain"])
    verdict = result.verdict("plain", last)
    why = (
        "Batch normalisation keeps every layer's activations at unit variance, so at this depth the factors the "
        "gradient is multiplied by stay near 1."
        if cfg.batch_norm
        else f"At depth {cfg.depth} the factors it is multiplied by do not compound far enough."
    )
    st.markdown(
        PLAIN[verdict].format(
            depth=cfg.depth,
            ratio=_ratio(result.first_to_last("plain", last)),
            why=why,
            toggle="off" if cfg.batch_norm else "on",
            other="vanish" if cfg.batch_norm else "explode",
        )
    )
    st.markdown(RESIDUAL.format(ratio=f" (first / last = {_ratio(result.first_to_last('residual', last))})"))
