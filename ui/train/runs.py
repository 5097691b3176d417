"""All runs: the list with status, the run to watch, comparing several, deleting one."""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from playground.labs.augment_experiment import NO_AUGMENT, gap_sentence, is_pair, last_fit
from playground.runs import store as runs
from playground.runs.history import age, compare_rows, short_value
from playground.viz import train as vz
from ui import state
from ui.text import plain
from ui.train import NS
from ui.train.live import history
from ui.widgets import flash


def pick_run(infos: list[runs.RunInfo]) -> runs.RunInfo | None:
    """The run to watch: launched from here, picked in the list, or named by the link (``?run=ID``)."""
    ids = [r.id for r in infos]
    if state.value(NS, "run") is None:  # first visit (the link), or back from another page (this session's choice)
        state.set_value(NS, "run", state.recall(NS, "watched") or state.link_value("run", ""))
    if state.value(NS, "run") not in ids:
        if state.value(NS, "run"):
            st.warning(plain(f"There is no run {state.value(NS, 'run')!r} here (any more); pick one from the list."))
        state.set_value(NS, "run", ids[0] if ids else "")
    if not ids:
        return None
    by_id = {r.id: r for r in infos}
    state.remember(NS, "watched", state.value(NS, "run"))
    st.selectbox(
        "Run",
        ids,
        key=state.key(NS, "run"),
        label_visibility="collapsed",
        format_func=lambda i: f"{i} · {short_value(by_id[i].config.get('model'))} on {by_id[i].config.get('dataset')}",
    )
    return by_id[state.value(NS, "run")]


def live_table(infos: list[runs.RunInfo]) -> None:
    """The table, redrawn every 2 s from the store while any run is queued or running (not stale beside the
    live view: "queued 0/5" next to epoch 2.8), still once every run has ended."""

    @st.fragment(run_every="2s" if any(r.active for r in infos) else None)
    def draw() -> None:
        fresh = runs.list_runs()
        table(fresh)
        if any(r.active for r in infos) and not any(r.active for r in fresh):
            st.rerun()  # everything ended: one full rerun stops the polling

    draw()


def table(infos: list[runs.RunInfo]) -> None:
    """Every run with its status, setup and result, newest first."""
    now = time.time()
    rows = [
        {
            "Run": r.id,
            "Status": r.status,
            "Model": short_value(r.config.get("model")),
            "Dataset": r.config.get("dataset"),
            "Epoch": f"{r.progress.get('epoch', 0)}/{r.config.get('epochs', '?')}",
            "Val accuracy": r.final.get("final_val_accuracy", r.progress.get("val_accuracy")),
            "Started": age(r.created, now),
            "Reason": r.reason,
        }
        for r in infos
    ]
    st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        width="stretch",
        key=f"{NS}_runs_table",
        height=min(38 + 35 * max(len(rows), 1), 390),
        column_config={
            "Val accuracy": st.column_config.ProgressColumn(
                "Val accuracy", format="percent", min_value=0.0, max_value=1.0
            ),
            "Reason": st.column_config.TextColumn(width="large"),
        },
    )


def compare(infos: list[runs.RunInfo]) -> None:
    """Overlay the curves of the chosen runs and put their hyperparameters side by side.

    The overlay follows runs that are still training (redrawn every few seconds, as the live table is):
    the augmentation experiment's two runs are compared while the second still waits or trains.
    """
    ids = [r.id for r in infos]
    if state.value(NS, "compare") is not None:  # runs deleted since: not offered any more
        state.set_value(NS, "compare", [i for i in state.value(NS, "compare") if i in ids])
    chosen = st.multiselect(
        "Compare runs",
        ids,
        key=state.key(NS, "compare"),
        placeholder="Pick two or more runs to overlay",
        max_selections=8,
    )
    if len(chosen) < 2:
        st.caption("Pick two or more runs: their curves are overlaid and their settings compared, differences first.")
        return
    by_id = {r.id: r for r in infos}
    paths = [by_id[i].path for i in chosen]  # in the order they were picked
    live = any(by_id[i].active for i in chosen)

    @st.fragment(run_every="3s" if live else None)
    def overlay() -> None:
        picked = [runs.run_info(p) for p in paths]
        _overlay(picked)
        if live and not any(r.active for r in picked):
            st.rerun()  # both ended: one full rerun stops the polling and refreshes the list

    overlay()


def _overlay(picked: list[runs.RunInfo]) -> None:
    labels = {r.id: _label(r, picked) for r in picked}
    pair = len(picked) == 2 and is_pair(picked[0].config, picked[1].config)
    if pair:
        labels = {r.id: _pair_name(r) for r in picked}
    histories = {labels[r.id]: history(r.path) for r in picked}
    st.plotly_chart(
        vz.compare_figure(histories, state.value(NS, "smoothing", 0.6), train_accuracy=pair),
        width="stretch",
        key=f"{NS}_compare_chart",
    )
    if pair:
        _overfitting_gap(picked, histories, labels)
    fields, cells, differs = compare_rows(picked)
    n_results = 5  # status, val accuracy, val loss, images/s, seconds: always shown
    shown = [i for i, d in enumerate(differs) if d] + list(range(len(fields) - n_results, len(fields)))
    frame = pd.DataFrame(
        [cells[i] for i in shown], index=[fields[i] for i in shown], columns=[labels[r.id] for r in picked]
    )
    st.dataframe(frame, width="stretch", key=f"{NS}_compare_table", height=38 + 35 * len(shown))
    same = [f"{fields[i]} {cells[i][0]}" for i in range(len(fields) - n_results) if not differs[i]]
    st.caption("Settings that differ come first. The same in all: " + ", ".join(same) + ".")


def _pair_name(r: runs.RunInfo) -> str:
    aug = r.config.get("augment")
    return "without augmentation" if aug == NO_AUGMENT else f"with {short_value(aug)}"


def _overfitting_gap(picked: list[runs.RunInfo], histories: dict, labels: dict) -> None:
    """The experiment's answer: each run's last train and validation accuracy, the gap, and one sentence."""
    with_run = next(r for r in picked if r.config.get("augment") != NO_AUGMENT)
    without_run = next(r for r in picked if r.config.get("augment") == NO_AUGMENT)
    fits = {r.id: last_fit(histories[labels[r.id]].epochs) for r in (with_run, without_run)}
    rows = [
        {
            "Run": labels[r.id],
            "Epoch": fits[r.id].epoch if fits[r.id] else None,
            "Train accuracy": fits[r.id].train_accuracy if fits[r.id] else None,
            "Val accuracy": fits[r.id].val_accuracy if fits[r.id] else None,
            "Gap (points)": round(100 * fits[r.id].gap, 1) if fits[r.id] else None,
        }
        for r in (without_run, with_run)
    ]
    st.markdown("**Overfitting gap** (train minus validation accuracy, last epoch)")
    pct = st.column_config.NumberColumn(format="percent")
    st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        width="stretch",
        key=f"{NS}_gap_table",
        column_config={"Train accuracy": pct, "Val accuracy": pct},
    )
    sentence = gap_sentence(fits[with_run.id], fits[without_run.id], short_value(with_run.config.get("augment")))
    st.info(plain(sentence), icon=":material/insights:")


def _label(r: runs.RunInfo, picked: list[runs.RunInfo]) -> str:
    """A short legend label: the id's time and model, unique among the picked runs."""
    parts = r.id.split("-")
    short = "-".join(parts[1:-1]) if len(parts) > 3 else r.id
    return short if sum(1 for o in picked if "-".join(o.id.split("-")[1:-1]) == short) == 1 else r.id


def delete_button(info: runs.RunInfo) -> None:
    """Delete the watched run after a second, explicit click (refused while it is queued or running)."""
    with st.popover(
        "Delete run",
        icon=":material/delete:",
        disabled=info.active,
        help="Stop it first." if info.active else "Removes its folder: config, metrics, weights and log.",
    ):
        st.markdown(f"Delete run `{info.id}` with its metrics, weights and log? This cannot be undone.")
        st.button(
            "Delete it for good",
            icon=":material/delete_forever:",
            type="primary",
            key=f"{NS}_delete",
            disabled=info.active,
            on_click=_delete,
            args=(info.path,),
        )


def _delete(path) -> None:
    try:
        runs.delete_run(path)
    except ValueError as exc:
        flash(NS, "error", str(exc))
        return
    flash(NS, "success", f"Deleted run {path.name}.")
    state.set_value(NS, "run", "")  # the newest run is watched next
    state.take(NS, f"events_{path.name}")
