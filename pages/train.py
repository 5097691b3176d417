"""Training Runs: launch short runs, watch them live, compare them, and look inside the results."""

import streamlit as st

from playground.common.urlstate import to_query
from playground.labs.train import preflight
from playground.runs import store as runs
from ui import state
from ui.router import ensure_routed
from ui.train import form, live, results
from ui.train import runs as listing
from ui.widgets import show_flash

ensure_routed()  # a server's first visit may run this file without app.py (see ui/router.py)

NS = form.NS

st.title("Training Runs")
st.caption(
    "Train a CNN for real: pick the data, the model and the augmentation, launch, and watch the loss fall and the "
    "accuracy rise while it trains. Every run is its own process: it survives closing this tab, Stop really stops "
    "it, and a crash never takes the app down. The address bar holds the setup and the run you watch."
)
show_flash(NS)
cfg = form.restore()

setup_col, run_col = st.columns([5, 7], gap="large")
with setup_col:
    st.subheader("New run")
    data_tab, model_tab, pipe_tab, train_tab = st.tabs(
        ["Data", "Model", "Augmentation", "Training"], key=f"{NS}_setup_tabs"
    )
    with data_tab:
        overview = form.data_tab(cfg)
    check = preflight(cfg, overview)  # no overview (data refused or missing): Launch stays off, with a sentence
    with model_tab:
        form.model_tab(cfg, check)
    with pipe_tab:
        form.pipelines_tab(cfg, check)
    with train_tab:
        form.training_tab(cfg)
    form.launch_button(cfg, check)

infos = runs.list_runs()
with run_col:
    st.subheader("Watch a run")
    watched = listing.pick_run(infos)
    if watched is None:
        st.info(
            "No runs yet: set one up on the left and launch it. The defaults (SimpleCNN on shapes) reach about "
            "90% validation accuracy within a minute on a laptop CPU.",
            icon=":material/rocket_launch:",
        )
    else:
        live.watch(watched.path)
        listing.delete_button(watched)

if watched is not None:
    results.show(watched)

st.subheader("All runs")
if infos:
    listing.live_table(infos)
    listing.compare(infos)
else:
    st.caption("Runs you launch here (or with `python -m playground train`) are listed here.")

state.publish(cfg, NS, {**to_query(cfg), **({"run": watched.id} if watched is not None else {})})
