"""Skip connections and vanishing gradients: train a plain network and its residual twin, compare gradients."""

import streamlit as st

from playground.labs.gradients import GradFlowConfig, clamp_config
from ui import state
from ui.gradients import views
from ui.router import ensure_routed

ensure_routed()  # a server's first visit may run this file without app.py (see ui/router.py)

NS, WIDGETS = views.NS, views.WIDGETS

st.title("Skip connections and vanishing gradients")
st.caption(
    "ResNet's idea in one experiment: a deep plain network and its residual twin (the same layers, the same initial "
    "weights, the same batches; only the skip connections differ) train side by side, and the gradient reaching every "
    "layer is measured. The address bar always holds this setup: copy it to share."
)

cfg = state.restore(GradFlowConfig, NS, WIDGETS)
cfg = state.clamp_once(cfg, NS, WIDGETS, clamp_config)  # a stale or hand-edited link: say what was not usable
cfg = state.read(cfg, NS, WIDGETS)  # this run's widget values (restore gives the last run's)

pressed = views.controls(cfg)
cfg = state.read(cfg, NS, WIDGETS)
state.publish(cfg, NS)

trained = state.stash(NS, "trained", set)  # the setups trained in this session: shown again without a click
key = views.config_key(cfg)
if pressed:
    trained.add(key)
found = None
if key in trained:
    found = views.study(cfg)
    if found is not None:
        views.results(cfg, *found)
else:
    st.info(
        f"Press **Train both networks** to train the plain and the residual network of depth {cfg.depth} for "
        f"{cfg.steps} steps on this machine (a few seconds on a CPU; depth 56 takes longest).",
        icon=":material/play_arrow:",
    )
views.explanation(cfg, found[0] if found else None)
