"""Watching one run: status, progress with ETA and throughput, Stop, and the live curves.

The view is a fragment that reruns every ``POLL`` while the run is running, every
``QUEUED_POLL`` while it waits in the queue (``run_every=None`` once it ended). Each rerun reads only the events appended since the last
one (the offset is a private value of the page, ``ui.state``). When the run ends the whole
page reruns once, so the results appear and the polling stops.

Watching must not slow the run (bench/bench_launch_to_90.py --pairs measures a watched run
against an unwatched one in a real browser). Redrawing the four-panel chart is what costs:
about 20 ms of server CPU to build and send it and far more in the browser to draw it, on
every poll. So the status, progress and metrics follow every poll, but the chart is rebuilt
only when there is something new to show and at most every ``CHART_SECONDS`` (at once when an
epoch ends or the smoothing changes); between rebuilds the same figure is sent again, which
the browser does not redraw.
"""

from __future__ import annotations

import time
from pathlib import Path

import streamlit as st

from playground.runs import store as runs
from playground.runs.history import RunHistory, outcome
from playground.viz import train as vz
from ui import state
from ui.train import NS, learn

STATUS_ICONS = {
    "queued": ":material/hourglass_top:",
    "running": ":material/play_circle:",
    "completed": ":material/check_circle:",
    "stopped": ":material/stop_circle:",
    "failed": ":material/error:",
    "diverged": ":material/trending_up:",
    "crashed": ":material/warning:",
}


POLL = "2s"  # the status and progress; a person reads them no faster
QUEUED_POLL = "5s"  # waiting behind another run: nothing moves but the queue, and that run needs the CPU
CHART_SECONDS = 6.0  # the chart's redraws while a run trains, at most one per this many seconds


def history(run: Path) -> RunHistory:
    """The run's events so far: only new bytes are read on each call."""
    held = state.stash(NS, f"events_{run.name}", lambda: {"offset": 0, "history": RunHistory()})
    events, held["offset"] = runs.read_events(run, held["offset"])
    return held["history"].add(events)


def _now() -> float:
    return time.monotonic()


def chart(run: Path, h: RunHistory, smoothing: float, active: bool):
    """The live figure: rebuilt when there is news (see the module docstring), else the one drawn before."""
    held = state.stash(NS, f"chart_{run.name}", dict)
    news = (len(h.steps), len(h.epochs), h.end is not None)  # (step events, epochs, ended)
    if held.get("smoothing") == smoothing:
        if held["news"] == news:
            return held["figure"]  # nothing new: the same figure, which the browser does not redraw
        if active and held["news"][1:] == news[1:] and _now() - held["built"] < CHART_SECONDS:
            return held["figure"]  # only new steps, and the last redraw is recent
    held.update(figure=vz.live_figure(h, smoothing), news=news, smoothing=smoothing, built=_now())
    return held["figure"]


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
    status = runs.read_status(run).get("status")
    every = (QUEUED_POLL if status == "queued" else POLL) if status in runs.ACTIVE else None
    st.fragment(run_every=every)(_live)(run, status)


def _live(run: Path, was: str | None) -> None:
    if not run.is_dir():
        st.info("This run was deleted.")
        return
    info = runs.run_info(run)
    h = history(run)
    if was in runs.ACTIVE and not info.active:
        st.rerun()  # it just ended: the whole page shows the results, and polling stops
    if was == "queued" and info.status != "queued":
        st.rerun()  # it left the queue: the whole page, so the fragment polls at the running pace
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
    st.plotly_chart(chart(run, h, smoothing, info.active), width="stretch", key=f"{NS}_live_chart")
    if info.active:
        learn.live(run)
