"""Plotly figures and image mosaics for the Training page (no streamlit here)."""

from __future__ import annotations

import copy
import functools

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from playground.runs.history import RunHistory, smooth, thin

TRAIN, VAL, LR = "#2e86de", "#e4572e", "#6c757d"
PALETTE = ("#2e86de", "#e4572e", "#4caf50", "#9467bd", "#f2b134", "#17becf", "#8c564b", "#e377c2")


_LAYOUT = {
    "margin": {"l": 10, "r": 10, "t": 40, "b": 10},
    "template": "plotly_white",
    "hovermode": "x unified",
    "legend": {"orientation": "h", "y": -0.12, "x": 0.5, "xanchor": "center"},
}


def _layout(fig: go.Figure, height: int) -> go.Figure:
    fig.update_layout(height=height, **_LAYOUT)
    fig.update_annotations(font_size=13)
    return fig


@functools.lru_cache(maxsize=8)
def _grid(rows: int, cols: int, titles: tuple[str, ...], vspace: float, hspace: float) -> dict:
    """make_subplots' layout (axis domains, titles), made once: the live chart is rebuilt every second."""
    layout = make_subplots(
        rows=rows, cols=cols, subplot_titles=titles, vertical_spacing=vspace, horizontal_spacing=hspace
    ).to_dict()["layout"]
    layout.pop("template", None)  # plotly's whole default theme: copying and validating it costs more than the rest
    return layout


def _line(x, y, panel: int, **kw) -> dict:
    """A scatter trace on subplot ``panel`` (1-based, row by row), as a plain dict: no per-trace validation."""
    ref = "" if panel == 1 else str(panel)
    return {"type": "scatter", "x": list(x), "y": list(y), "xaxis": f"x{ref}", "yaxis": f"y{ref}", **kw}


def live_figure(history: RunHistory, smoothing: float = 0.6) -> go.Figure:
    """Four panels: loss per step (raw and smoothed), loss per epoch, accuracy per epoch, learning rate.

    Built from dicts over a cached grid (about 15 ms instead of 40 ms with make_subplots each time): the page
    redraws it every second while a run trains, on the machine that trains.
    """
    layout = copy.deepcopy(
        _grid(2, 2, ("Training loss per step", "Loss per epoch", "Accuracy per epoch", "Learning rate"), 0.2, 0.09)
    )
    steps, losses = history.series("loss")
    data = []
    if steps:
        data.append(
            _line(
                *thin(steps, losses),
                1,
                name="step loss",
                mode="lines",
                opacity=0.3,
                showlegend=False,
                line={"color": TRAIN, "width": 1},
            )
        )
        data.append(
            _line(
                *thin(steps, smooth(losses, smoothing)),
                1,
                name=f"smoothed ({smoothing:.2f})",
                mode="lines",
                showlegend=False,
                line={"color": TRAIN, "width": 2.5},
            )
        )
    for key, name, colour in (("train_loss", "training", TRAIN), ("val_loss", "validation", VAL)):
        data.append(
            _line(
                *history.series(key, per="epoch"),
                2,
                name=name,
                mode="lines+markers",
                line={"color": colour},
                legendgroup=name,
            )
        )
    for key, name, colour in (("train_accuracy", "training", TRAIN), ("val_accuracy", "validation", VAL)):
        x, y = history.series(key, per="epoch")
        data.append(
            _line(
                x,
                [100 * v for v in y],
                3,
                name=name,
                mode="lines+markers",
                line={"color": colour},
                legendgroup=name,
                showlegend=False,
            )
        )
    data.append(
        _line(*thin(*history.series("lr")), 4, name="learning rate", mode="lines", showlegend=False, line={"color": LR})
    )
    epochs = (history.start or {}).get("epochs") or 1
    per_epoch = {"dtick": 1} if epochs <= 12 else {"nticks": 8}  # one tick per epoch while they fit
    for axis, title in (("xaxis", "step"), ("xaxis2", "epoch"), ("xaxis3", "epoch"), ("xaxis4", "step")):
        layout[axis]["title"] = {"text": title}
        if title == "epoch":
            layout[axis].update(per_epoch)
    layout["yaxis3"].update(title={"text": "%"}, rangemode="tozero")
    layout["yaxis4"]["exponentformat"] = "e"
    if history.start:  # the axes span the whole run from the start, so the curves grow into them
        total = history.start.get("total_steps") or 1
        for axis in ("xaxis", "xaxis4"):
            layout[axis]["range"] = [0, total]
        for axis in ("xaxis2", "xaxis3"):
            layout[axis]["range"] = [0.8, epochs + 0.2]
    layout.update({k: v for k, v in _LAYOUT.items() if k != "template"}, height=600)  # Streamlit's theme applies
    for note in layout["annotations"]:
        note["font"] = {"size": 13}
    return go.Figure({"data": data, "layout": layout})


def compare_figure(histories: dict[str, RunHistory], smoothing: float = 0.6, train_accuracy: bool = False) -> go.Figure:
    """Runs overlaid: smoothed training loss, validation loss and validation accuracy against epochs.

    ``train_accuracy`` adds each run's training accuracy per epoch, dashed in the run's colour, to the
    accuracy panel: the space between a run's two lines is its overfitting gap.
    """
    fig = make_subplots(
        rows=1,
        cols=3,
        horizontal_spacing=0.07,
        subplot_titles=("Training loss (smoothed)", "Validation loss", "Validation accuracy (%)"),
    )
    for i, (label, h) in enumerate(histories.items()):
        colour = PALETTE[i % len(PALETTE)]
        _, losses = h.series("loss")
        xs, ys = thin(h.step_epochs(), smooth(losses, smoothing))
        fig.add_trace(
            go.Scatter(x=xs, y=ys, name=label, mode="lines", line=dict(color=colour), legendgroup=label), 1, 1
        )
        x, y = h.series("val_loss", per="epoch")
        fig.add_trace(
            go.Scatter(
                x=x, y=y, name=label, mode="lines+markers", line=dict(color=colour), legendgroup=label, showlegend=False
            ),
            1,
            2,
        )
        x, y = h.series("val_accuracy", per="epoch")
        fig.add_trace(
            go.Scatter(
                x=x,
                y=[100 * v for v in y],
                name=label,
                mode="lines+markers",
                line=dict(color=colour),
                legendgroup=label,
                showlegend=False,
            ),
            1,
            3,
        )
        if train_accuracy:
            x, y = h.series("train_accuracy", per="epoch")
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=[100 * v for v in y],
                    name=f"{label} (train)",
                    mode="lines",
                    line=dict(color=colour, dash="dash"),
                    legendgroup=label,
                ),
                1,
                3,
            )
    for col in (1, 2, 3):
        fig.update_xaxes(title_text="epoch", row=1, col=col)
    fig = _layout(fig, 380)
    if train_accuracy:
        fig.layout.annotations[2].text = "Accuracy (%): validation solid, train dashed"
        fig.update_layout(height=420, legend_y=-0.25)  # two legend rows: below the axis titles, not on them
    return fig


def confusion_figure(confusion: list[list[int]], class_names: list[str]) -> go.Figure:
    """Rows true, columns predicted; colour = share of the true class, text = counts."""
    cm = np.asarray(confusion, dtype=float)
    share = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    fig = go.Figure(
        go.Heatmap(
            z=share.tolist(),
            x=class_names,
            y=class_names,
            text=cm.astype(int).tolist(),
            texttemplate="%{text}",
            colorscale="Blues",
            zmin=0,
            zmax=1,
            colorbar=dict(title="share", tickformat=".0%"),
            hovertemplate="true %{y}, predicted %{x}: %{text} (%{z:.1%} of %{y})<extra></extra>",
        )
    )
    fig.update_xaxes(title_text="predicted", side="bottom", type="category")
    fig.update_yaxes(title_text="true", autorange="reversed", type="category")
    n = len(class_names)
    fig.update_layout(height=min(160 + 30 * n, 640), margin=dict(l=10, r=10, t=20, b=10), template="plotly_white")
    return fig


def per_class_figure(
    accuracy: list[float | None], class_names: list[str], counts: list[int] | None = None
) -> go.Figure:
    """A bar per class: the share of its validation images classified right."""
    values = [None if a is None else 100 * a for a in accuracy]
    text = [("no images" if a is None else f"{a:.0f}%") for a in values]
    fig = go.Figure(
        go.Bar(
            x=class_names,
            y=values,
            text=text,
            textposition="outside",
            marker_color=TRAIN,
            customdata=counts or [None] * len(values),
            hovertemplate="%{x}: %{y:.1f}% of %{customdata} images<extra></extra>",
        )
    )
    fig.update_yaxes(title_text="right (%)", range=[0, 110])
    fig.update_xaxes(type="category")
    fig.update_layout(height=320, margin=dict(l=10, r=10, t=20, b=10), template="plotly_white")
    return fig


def topk_figure(predictions: list[tuple[str, float]]) -> go.Figure:
    """Horizontal bars: the top-k classes and their probabilities, most probable on top."""
    names = [n for n, _ in predictions][::-1]
    probs = [100 * p for _, p in predictions][::-1]
    fig = go.Figure(
        go.Bar(
            x=probs,
            y=names,
            orientation="h",
            text=[f"{p:.1f}%" for p in probs],
            textposition="outside",
            marker_color=TRAIN,
        )
    )
    fig.update_xaxes(range=[0, 115], title_text="probability (%)")
    fig.update_yaxes(type="category")
    fig.update_layout(height=60 + 36 * len(names), margin=dict(l=10, r=10, t=10, b=10), template="plotly_white")
    return fig


def to_display(image: np.ndarray, min_side: int = 64) -> np.ndarray:
    """uint8 ``(C, H, W)`` -> ``(H', W')`` or ``(H', W', 3)`` for st.image, enlarged with whole-pixel blocks."""
    arr = np.asarray(image)
    arr = arr[0] if arr.shape[0] == 1 else arr.transpose(1, 2, 0)
    k = max(1, -(-min_side // max(arr.shape[0], arr.shape[1])))  # ceil: 8x8 digits become 64x64
    return arr.repeat(k, axis=0).repeat(k, axis=1) if k > 1 else arr


def mosaic(images: np.ndarray, columns: int = 2, min_side: int = 48, gap: int = 2) -> np.ndarray:
    """uint8 ``(k, C, H, W)`` -> one image: a grid of enlarged tiles, ``columns`` wide, white gaps between."""
    tiles = [to_display(im, min_side) for im in images]
    if not tiles:
        return np.full((min_side, min_side), 255, dtype=np.uint8)
    th, tw = tiles[0].shape[:2]
    rows = -(-len(tiles) // columns)
    extra = tiles[0].shape[2:]
    out = np.full((rows * th + (rows - 1) * gap, columns * tw + (columns - 1) * gap, *extra), 255, dtype=np.uint8)
    for i, t in enumerate(tiles):
        r, c = divmod(i, columns)
        out[r * (th + gap) : r * (th + gap) + th, c * (tw + gap) : c * (tw + gap) + tw] = t
    return out


def lr_find_figure(lrs: list[float], losses: list[float], raw: list[float], suggestion: float | None) -> go.Figure:
    """The learning-rate finder's curve: smoothed (and raw, faint) loss against the rate on a log axis,
    with the suggested rate marked."""
    fig = go.Figure()
    fig.add_scatter(x=lrs, y=raw, mode="lines", name="loss", line=dict(color="#c9ced6", width=1))
    fig.add_scatter(x=lrs, y=losses, mode="lines", name="smoothed loss", line=dict(color="#1f77b4", width=2))
    if suggestion is not None:
        y = losses[min(range(len(lrs)), key=lambda i: abs(lrs[i] - suggestion))]
        fig.add_scatter(
            x=[suggestion], y=[y], mode="markers", name=f"suggested {suggestion:.2g}", marker=dict(size=12, color="red")
        )
    top = max(losses[: max(1, len(losses) // 10)] or [1.0]) * 1.6  # a blow-up at the end must not squash the curve
    fig.update_layout(
        height=320,
        margin=dict(l=10, r=10, t=20, b=10),
        template="plotly_white",
        xaxis=dict(type="log", title="learning rate"),
        yaxis=dict(title="training loss", range=[0, top]),
        legend=dict(orientation="h", y=1.1),
    )
    return fig


# --------------------------------------------------------------------------- "Watch it learn" snapshots


def snapshot_pictures(arrays: dict[str, np.ndarray], layers: list[str]) -> dict[str, np.ndarray]:
    """One snapshot's pictures (``playground.training.snapshots.load``), uint8 ``(H, W, 3)`` for st.image:
    ``filters`` (first-layer weights, one tile each), ``grad_cam`` (one overlay per fixed image) and
    ``maps: <layer>`` (a row of channels per image) and ``confusion`` (the matrix as a picture, for the live
    view, which shows no chart it would have to send again on every poll), for what the snapshot holds."""
    from playground.training import snapshots as sn

    out = {}
    if "filters" in arrays:
        out["filters"] = sn.filters_picture(arrays["filters"])
    if "cam" in arrays:
        out["grad_cam"] = sn.cam_picture(arrays["images"], arrays["cam"], side=128)
    for j, name in enumerate(layers):
        if f"maps{j}" in arrays:
            out[f"maps: {name}"] = sn.maps_picture(arrays[f"maps{j}"], tile=40)
    if "confusion" in arrays:
        from playground.runs.tensorboard import confusion_image

        out["confusion"] = confusion_image(arrays["confusion"].tolist())
    return out


def png(image: np.ndarray) -> bytes:
    """A uint8 picture as PNG bytes: encoded once, so a page that shows it on every poll does not redo it."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image)).save(buf, "PNG")
    return buf.getvalue()


def snapshot_topk_figure(top_i: np.ndarray, top_p: np.ndarray, labels: np.ndarray, class_names: list[str]) -> go.Figure:
    """The top-3 predictions for each fixed image: one small bar panel per image, the true class in its title,
    the right answer's bar green."""
    n = len(labels)
    name = lambda i: class_names[i] if 0 <= i < len(class_names) else str(i)  # noqa: E731
    fig = make_subplots(
        rows=1, cols=max(n, 1), subplot_titles=[f"true: {name(int(t))}" for t in labels], horizontal_spacing=0.06
    )
    for c, (ti, tp, t) in enumerate(zip(top_i, top_p, labels), start=1):
        names = [name(int(i)) for i in ti][::-1]
        probs = [100 * float(p) for p in tp][::-1]
        colours = ["#4caf50" if int(i) == int(t) else TRAIN for i in ti][::-1]
        fig.add_trace(
            go.Bar(
                x=probs,
                y=names,
                orientation="h",
                marker_color=colours,
                text=[f"{p:.0f}%" for p in probs],
                textposition="auto",
                showlegend=False,
                hovertemplate="%{y}: %{x:.1f}%<extra></extra>",
            ),
            row=1,
            col=c,
        )
        fig.update_xaxes(range=[0, 100], showticklabels=False, row=1, col=c)
        fig.update_yaxes(type="category", row=1, col=c)
    fig.update_layout(height=190, margin=dict(l=10, r=10, t=30, b=10), template="plotly_white")
    fig.update_annotations(font_size=12)
    return fig
