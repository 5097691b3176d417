"""Watching one run: status, progress with ETA and throughput, Stop, and the live curves.

The view is a fragment that reruns every second while the run is queued or running
(``run_every=None`` once it ended). Each rerun reads only the events appended since the last
one (the offset is a private value of the page, ``ui.state``), so
polling costs the run almost nothing (bench/bench_train.py measures it). When the run ends
the whole page reruns once, so the results appear and the polling stops.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from playground.runs import store as runs
from playground.runs.history import RunHistory, outcome
from playground.viz import train as vz
from ui import state
from ui.train import NS

STATUS_ICONS = {
    "queued": ":material/hourglass_top:",
    "running": ":material/play_circle:",
    "completed": ":material/check_circle:",
    "stopped": ":material/stop_circle:",
    "failed": ":material/error:",
    "diverged": ":material/trending_up:",
    "crashed": ":material/warning:",
}


def history(run: Path) -> RunHistory:
    """The run's events so far: only new bytes are read on each call."""
    held = state.stash(NS, f"events_{run.name}", lambda: {"offset": 0, "history": RunHistory()})
    events, held["offset"] = runs.read_events(run, held["offset"])
    return held["history"].add(events)


def _stop(run: Path) -> None:
    if runs.request_stop(run):
        state.remember(NS, "stopping", run.name)


def _model_line(info: runs.RunInfo, h: RunHistory) -> str:
    from playground.runs.history import short_value

    cfg = info.config
    parts = [
        f"**{short_value(cfg.get('model'))}** on **{cfg.get('dataset')}**",
        f"{cfg.get('optimizer', '').upper() if cfg.get('optimizer') == 'sgd' else cfg.get('optimizer', '')} "
        f"lr {cfg.get('lr', 0):g} ({cfg.get('schedule')})",
        f"batch {cfg.get('batch_size')}",
        f"{cfg.get('epochs')} epochs",
    ]
    if h.start:
        p, t = h.start["params"], h.start.get("trainable_params", h.start["params"])
        parts.append(f"{p:,} parameters" if t == p else f"{t:,} of {p:,} parameters trainable")
        parts.append(f"on {h.start['device']}")
    return " · ".join(parts)


def watch(run: Path) -> None:
    """Draw the live view of ``run``; it polls by itself while the run is active."""
    active = runs.read_status(run).get("status") in runs.ACTIVE
    st.fragment(run_every="1s" if active else None)(_live)(run, active)


def _live(run: Path, was_active: bool) -> None:
    if not run.is_dir():
        st.info("This run was deleted.")
        return
    info = runs.run_info(run)
    h = history(run)
    if was_active and not info.active:
        st.rerun()  # it just ended: the whole page shows the results, and polling stops
    st.markdown(f"#### {STATUS_ICONS.get(info.status, '')} {info.id}")
    st.markdown(_model_line(info, h))
    level, sentence = outcome(info.status, info.reason, info.final)
    if info.active and state.recall(NS, "stopping") == info.id:
        level, sentence = "info", "Stopping: the run finishes its current step and saves its weights…"
    if not (info.status == "running" and not info.reason):
        getattr(st, level)(sentence)
    p = h.progress()
    if p is not None:
        st.progress(p.fraction, text=p.text())
    if info.active:
        st.button("Stop", icon=":material/stop_circle:", key=f"{NS}_stop", on_click=_stop, args=(run,))
    if not h.steps and not h.epochs:
        if info.active:
            st.caption("Waiting for the first steps…")
        return
    if h.epochs:
        last, best = h.epochs[-1], h.best()
        m = st.columns(4)
        m[0].metric(
            "Val accuracy", f"{last['val_accuracy']:.1%}", help=f"Validation accuracy after epoch {last['epoch']}"
        )
        m[1].metric("Best so far", f"{best['val_accuracy']:.1%}", help=f"epoch {best['epoch']}")
        m[2].metric("Val loss", f"{last['val_loss']:.3f}" if last.get("val_loss") is not None else "–")
        m[3].metric("Train loss", f"{last['train_loss']:.3f}" if last.get("train_loss") is not None else "–")
    smoothing = st.slider(
        "Smoothing of the step loss",
        0.0,
        0.99,
        0.6,
        0.01,
        key=f"{NS}_smoothing",
        help="An exponential moving average, as TensorBoard draws it: 0 shows every step.",
    )
    st.plotly_chart(vz.live_figure(h, smoothing), width="stretch", key=f"{NS}_live_chart")
