"""Watch it learn: the run's snapshots (``playground.training.snapshots``) on the Training page.

While a run trains, the live view shows its newest snapshot (``live``); afterwards a slider steps
through them all and Play runs through them in order (``show``). The pieces of state are this
section's own: private values (``ui.state.recall/remember``) and a slider keyed
``train_learn_step_<run>``, which no setup field shares; the slider is drawn only once there are
snapshots. Play re-creates the slider under a new key when it ends (``_gen``), so nothing here ever
writes a widget's value.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from playground.runs import store as runs
from playground.training import snapshots as sn
from playground.viz import train as vz
from ui import state
from ui.text import plain
from ui.train import NS

PLAY_SECONDS = 1.2  # one snapshot per this many seconds while playing
KEPT = 16  # snapshots' pictures and figures kept per session, so a poll or a slider move does not redo them


def _index(run: Path) -> dict | None:
    index = sn.read_index(runs.snapshots_dir(run))
    return index if index and index["snapshots"] else None


def label(entry: dict) -> str:
    """How a snapshot is named on the slider: ``step 10 · epoch 0.83``."""
    return f"step {entry['step']} · epoch {entry['epoch']:g}"


def _drawing(run: Path, index: dict, entry: dict) -> dict:
    """The pictures (PNG bytes) and figures of one snapshot, made once per session."""
    held = state.stash(NS, "learn_drawings", dict)
    k = f"{run.name}/{entry['file']}"
    if k not in held:
        arrays = sn.load(runs.snapshots_dir(run), entry)
        classes = index.get("classes", [])
        name = lambda i: classes[i] if 0 <= i < len(classes) else str(i)  # noqa: E731
        held[k] = {
            "pictures": {n: vz.png(p) for n, p in vz.snapshot_pictures(arrays, index.get("layers", [])).items()},
            "arrays": arrays,
            "top3": [
                f"true {name(int(t))}: " + ", ".join(f"{name(int(i))} {p:.0%}" for i, p in zip(ti, tp))
                for t, ti, tp in zip(arrays["labels"], arrays["top_i"], arrays["top_p"])
            ]
            if "top_i" in arrays
            else [],
        }
        while len(held) > KEPT:
            held.pop(next(iter(held)))
    return held[k]


def _figures(d: dict, classes: list[str]) -> tuple:
    """The confusion and top-3 charts of a drawing (the browsing view's; built once, on first use)."""
    if "figures" not in d:
        a = d["arrays"]
        cm = vz.confusion_figure(a["confusion"].tolist(), classes) if "confusion" in a else None
        top = vz.snapshot_topk_figure(a["top_i"], a["top_p"], a["labels"], classes) if "top_i" in a else None
        d["figures"] = (cm, top)
    return d["figures"]


def _draw(run: Path, index: dict, entry: dict, where: str) -> None:
    """One snapshot. Live (``where == "live"``) it is pictures and text only: the view is sent again on every
    poll while the run trains, and a chart costs far more to send and draw than a picture the browser has."""
    d = _drawing(run, index, entry)
    st.markdown(
        f"**{label(entry).capitalize()}**: {entry['accuracy']:.1%} of {entry['images']:,} validation images right"
    )
    pics = d["pictures"]
    cm, top = _figures(d, index.get("classes", [])) if where != "live" else (None, None)
    left, right = st.columns([3, 2])
    with left:
        if "grad_cam" in pics:
            st.caption("Grad-CAM on four fixed validation images: warm where the predicted class's evidence is")
            st.image(pics["grad_cam"], width="stretch")
        if top is not None:
            st.caption("Top-3 predictions (green: the true class)")
            st.plotly_chart(top, width="stretch", key=f"{NS}_learn_topk_{where}")
        elif d["top3"]:
            st.caption(plain("Top-3 predictions: " + "; ".join(d["top3"])))
        if "filters" in pics:
            st.caption("First-layer filters (each scaled to its own range)")
            st.image(pics["filters"])
    with right:
        if cm is not None:
            st.caption("Confusion matrix (rows true, columns predicted)")
            st.plotly_chart(cm, width="stretch", key=f"{NS}_learn_cm_{where}")
        elif "confusion" in pics:
            st.caption("Confusion matrix (rows true, columns predicted)")
            st.image(pics["confusion"])
        for name, pic in pics.items():
            if name.startswith("maps: "):
                st.caption(plain(f"Feature maps of {name[6:]}: a row per image, first channels"))
                st.image(pic, width="stretch")


def live(run: Path) -> None:
    """The newest snapshot of a run that trains (inside the live view's fragment)."""
    index = _index(run)
    if index is None:
        return
    st.markdown("#### Watch it learn")
    entries = index["snapshots"]
    st.caption(
        "The first snapshot; a slider steps through them all when the run ends."
        if len(entries) == 1
        else f"The newest of {len(entries)} snapshots; a slider steps through them all when the run ends."
    )
    _draw(run, index, entries[-1], "live")


def show(info: runs.RunInfo) -> None:
    """The finished run's snapshots: a slider and Play (nothing while it trains or before it has any)."""
    if info.active or _index(info.path) is None:
        return
    playing = state.recall(NS, "learn_playing") == info.id
    st.fragment(run_every=PLAY_SECONDS if playing else None)(_browse)(info.path, playing)


def _gen(run: Path) -> int:
    return state.recall(NS, f"learn_gen_{run.name}", 0)


def slider_key(run_id: str, gen: int = 0) -> str:
    """The slider's widget key (a new one after each Play, see the module docstring)."""
    return state.key(NS, f"learn_step_{run_id}" + (f"_{gen}" if gen else ""))


def _play(run: Path) -> None:
    state.remember(NS, "learn_playing", run.name)
    state.remember(NS, f"learn_pos_{run.name}", 0)


def _end_play(run: Path) -> None:
    state.remember(NS, "learn_playing", None)
    state.remember(NS, f"learn_gen_{run.name}", _gen(run) + 1)  # the next slider starts where Play stopped


def _browse(run: Path, ticking: bool) -> None:
    playing = state.recall(NS, "learn_playing") == run.name
    if playing != ticking:  # Play or Pause was pressed, or Play ended: the whole page, to start or stop the tick
        st.rerun()
    index = _index(run)
    if index is None:
        return
    entries = index["snapshots"]
    labels = [label(e) for e in entries]
    pos_name = f"learn_pos_{run.name}"
    pos = min(state.recall(NS, pos_name, len(entries) - 1), len(entries) - 1)
    st.subheader("Watch it learn")
    when = (
        "at its first steps (0, 10 and 50, where most of the change happens) and after every epoch"
        if not index.get("thinned")
        else "from its first steps (0, 10 and 50, where most of the change happens) to its last epoch"
    )
    st.caption(f"{len(entries)} snapshots of this run as it trained: {when}. Move the slider, or press Play.")
    if index.get("stopped"):
        st.caption(plain(index["stopped"]))
    if index.get("thinned"):
        n = int(index["thinned"])
        st.caption(
            f"{n} more {'was' if n == 1 else 'were'} left out so that snapshots take at most "
            f"{sn.SNAPSHOT_SHARE:.0%} of the run's time (a short run has few steps to share it with)."
        )
    left, right = st.columns([6, 1], vertical_alignment="bottom")
    with right:
        if playing:
            st.button("Pause", icon=":material/pause:", key=f"{NS}_learn_pause", on_click=_end_play, args=(run,))
        else:
            st.button("Play", icon=":material/play_arrow:", key=f"{NS}_learn_play", on_click=_play, args=(run,))
    with left:
        if playing:
            st.progress((pos + 1) / len(entries), text=f"Playing: {labels[pos]} ({pos + 1} of {len(entries)})")
        elif len(entries) > 1:
            chosen = st.select_slider(
                "Snapshot", labels, value=labels[pos], key=slider_key(run.name, _gen(run)), help="Step through training"
            )
            pos = labels.index(chosen)
            state.remember(NS, pos_name, pos)
    _draw(run, index, entries[pos], "browse")
    if playing:
        if pos + 1 < len(entries):
            state.remember(NS, pos_name, pos + 1)  # the next tick shows the next one
        else:
            _end_play(run)  # the last one shown: the next tick goes back to the slider, on it
