"""Plotly figures for the Architecture Lab (no streamlit here): the network diagram, where the
parameters and MACs are, and how the receptive field grows with depth. All from a ``Summary``."""

from __future__ import annotations

from dataclasses import dataclass

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from playground.models.summary import Row, Summary, group_rows

COLORS = {
    "conv": "#ff6f3c",
    "batchnorm": "#8da0cb",
    "activation": "#66c2a5",
    "maxpool": "#4c78a8",
    "avgpool": "#4c78a8",
    "adaptive_avgpool": "#4c78a8",
    "adaptive_maxpool": "#4c78a8",
    "dropout": "#b8b8b8",
    "flatten": "#b8b8b8",
    "linear": "#9467bd",
    "group": "#f2b134",
    "add": "#ffffff",
    "input": "#e8e4da",
    "pad_shortcut": "#b8b8b8",
}
MAX_LAYER_NODES = 45  # beyond this the diagram draws one box per residual block
HALF_W, BOX_H = 1.5, 0.62


def _pair(v) -> str:
    v = v if isinstance(v, (list, tuple)) else (v, v)
    return str(v[0]) if v[0] == v[1] else f"{v[0]}x{v[1]}"


def _kernel(v) -> str:
    v = v if isinstance(v, (list, tuple)) else (v, v)
    return f"{v[0]}x{v[1]}"


def shape_text(shape: tuple) -> str:
    """``64×56×56`` (per image, batch left out) for edge labels."""
    return "×".join(str(v) for v in shape[1:])


def describe(row: Row) -> str:
    """A short label: ``Conv 7x7 /2, 64``, ``MaxPool 3x3 /2``, ``Linear 2048→1000``, ``Bottleneck 64→256 /2``."""
    layer, k = row.layer, row.kind
    if k == "conv":
        stride = "" if layer["stride"] == 1 else f" /{_pair(layer['stride'])}"
        return f"Conv {_kernel(layer['kernel'])}{stride}, {row.output_shape[1]}"
    if k in ("maxpool", "avgpool"):
        stride = layer["stride"] if layer["stride"] is not None else layer["kernel"]
        return f"{'Max' if k == 'maxpool' else 'Avg'}Pool {_kernel(layer['kernel'])} /{_pair(stride)}"
    if k.startswith("adaptive"):
        return f"Adaptive{'Avg' if 'avg' in k else 'Max'}Pool → {row.output_shape[2]}x{row.output_shape[3]}"
    if k == "linear":
        return f"Linear {row.input_shape[1]}→{row.output_shape[1]}"
    if k == "dropout":
        return f"Dropout p={layer['p']:g}"
    if k == "group":
        stride = row.input_shape[-1] // row.output_shape[-1] if len(row.output_shape) == 4 else 1
        return f"{row.type} {row.input_shape[1]}→{row.output_shape[1]}{' /' + str(stride) if stride > 1 else ''}"
    if k == "add":
        return "+"
    return row.type


@dataclass
class Node:
    name: str
    label: str
    kind: str
    shape: tuple
    hover: str


def _hover(r: Row) -> str:
    rf = f"{_pair(r.receptive_field)} px" if r.receptive_field else "whole input"
    return (
        f"<b>{r.name}</b> ({r.type})<br>output {list(r.output_shape)}<br>{r.params:,} parameters"
        f"<br>{r.macs:,} MACs per image<br>receptive field {rf}"
    )


def _skip_label(rows: list[Row]) -> str:
    if not rows:
        return "identity"
    first = rows[0]
    stride = first.layer.get("stride", 1)
    if first.kind == "pad_shortcut":
        return f"subsample /{stride} + zero channels"
    return f"1x1 conv{' /' + str(stride) if stride != 1 else ''}{' + BN' if len(rows) > 1 else ''}"


def diagram_graph(summary: Summary, detail: str = "auto") -> tuple[list[Node], list[tuple[int, int, str]]]:
    """Nodes (top to bottom, starting with the input) and skip arcs ``(from node, to node, label)``.

    ``detail``: ``layers`` (every layer; a skip arc ends at its ``+`` node), ``blocks`` (a residual
    block is one box, its arc spans it) or ``auto`` (layers while they fit).
    """
    rows = summary.rows
    if detail == "auto":
        detail = "layers" if sum(r.role != "skip" for r in rows) <= MAX_LAYER_NODES else "blocks"
    n, c, h, w = summary.input_shape
    nodes = [Node("input", f"input {c}×{h}×{w}", "input", summary.input_shape, f"input {list(summary.input_shape)}")]
    arcs: list[tuple[int, int, str]] = []
    skips: dict[str, list[Row]] = {}
    for r in rows:
        if r.role == "skip":
            skips.setdefault(r.block or "", []).append(r)
    if detail == "layers":
        starts: dict[str, int] = {}
        for r in rows:
            if r.role == "skip":
                continue
            if r.block and r.block not in starts:
                starts[r.block] = len(nodes) - 1  # the node feeding the block
            label = "+" if r.kind == "add" else f"{r.name}  ·  {describe(r)}"
            nodes.append(Node(r.name, label, r.kind, r.output_shape, _hover(r)))
            if r.kind == "add":
                arcs.append((starts[r.block], len(nodes) - 1, _skip_label(skips.get(r.block, []))))
        return nodes, arcs
    residual = {r.block for r in rows if r.kind == "add"}
    for g in group_rows(summary, "blocks"):
        nodes.append(Node(g.name, f"{g.name}  ·  {describe(g)}", g.kind, g.output_shape, _hover(g)))
        if g.name in residual:
            arcs.append((len(nodes) - 2, len(nodes) - 1, _skip_label(skips.get(g.name, []))))
    return nodes, arcs


def network_diagram(summary: Summary, detail: str = "auto") -> go.Figure:
    """Boxes top to bottom, the tensor shape on every edge, skip connections as arcs on the right."""
    nodes, arcs = diagram_graph(summary, detail)
    fig = go.Figure()
    shapes, notes = [], []
    for i, nd in enumerate(nodes):
        y = -i
        if nd.kind == "add":
            shapes.append(
                dict(
                    type="circle",
                    x0=-0.22,
                    x1=0.22,
                    y0=y - 0.22,
                    y1=y + 0.22,
                    line=dict(color="#1f2430", width=1.5),
                    fillcolor="#ffffff",
                )
            )
            notes.append(dict(x=0, y=y, text="<b>+</b>", showarrow=False, font=dict(size=15)))
        else:
            shapes.append(
                dict(
                    type="rect",
                    x0=-HALF_W,
                    x1=HALF_W,
                    y0=y - BOX_H / 2,
                    y1=y + BOX_H / 2,
                    line=dict(color="rgba(31,36,48,0.35)", width=1),
                    fillcolor=COLORS.get(nd.kind, "#dddddd"),
                    layer="below",
                )
            )
            notes.append(dict(x=0, y=y, text=nd.label, showarrow=False, font=dict(size=12, color="#1f2430")))
        if i + 1 < len(nodes):
            top = y - (0.22 if nd.kind == "add" else BOX_H / 2)
            bottom = -(i + 1) + (0.22 if nodes[i + 1].kind == "add" else BOX_H / 2)
            shapes.append(dict(type="line", x0=0, x1=0, y0=top, y1=bottom, line=dict(color="#1f2430", width=1.2)))
            notes.append(
                dict(
                    x=-0.06,
                    y=(top + bottom) / 2,
                    text=shape_text(nd.shape),
                    showarrow=False,
                    xanchor="right",
                    font=dict(size=10, color="#5a5f6b"),
                )
            )
    for a, b, label in arcs:
        ya, yb = -a, -b
        x0 = HALF_W if nodes[a].kind != "add" else 0.22
        x1 = 0.22 if nodes[b].kind == "add" else HALF_W
        bulge = HALF_W + 0.5 + min(0.9, 0.08 * (b - a))
        shapes.append(
            dict(
                type="path",
                path=f"M {x0},{ya} C {bulge},{ya} {bulge},{yb} {x1},{yb}",
                line=dict(color="#ff6f3c", width=2),
            )
        )
        notes.append(
            dict(
                x=bulge - 0.12,
                y=(ya + yb) / 2,
                text=label,
                showarrow=False,
                xanchor="left",
                font=dict(size=10, color="#c4471b"),
            )
        )
    fig.add_trace(
        go.Scatter(
            x=[0] * len(nodes),
            y=[-i for i in range(len(nodes))],
            mode="markers",
            marker=dict(size=28, opacity=0),
            hovertext=[nd.hover for nd in nodes],
            hoverinfo="text",
            showlegend=False,
        )
    )
    fig.update_layout(
        shapes=shapes,
        annotations=notes,
        height=90 + 50 * len(nodes),
        margin=dict(l=10, r=10, t=30, b=10),
        xaxis=dict(visible=False, range=[-HALF_W - 0.9, HALF_W + 2.9], fixedrange=True),
        yaxis=dict(visible=False, range=[-len(nodes) + 0.4, 0.6], fixedrange=True),
        plot_bgcolor="rgba(0,0,0,0)",
        paper_bgcolor="rgba(0,0,0,0)",
        title=dict(
            text=f"{summary.name}: {sum(nd.kind not in ('input', 'add') for nd in nodes)} boxes, "
            f"{len(arcs)} skip connection{'s' if len(arcs) != 1 else ''}",
            font=dict(size=14),
        ),
    )
    return fig


def chart_rows(summary: Summary, limit: int = 60) -> list[Row]:
    """The rows worth a bar: those with parameters or MACs, grouped to blocks or stages when there are many."""
    for level in ("layers", "blocks", "top"):
        rows = [r for r in group_rows(summary, level) if r.params or r.macs]
        if len(rows) <= limit:
            return rows
    return rows


def params_macs_chart(summary: Summary) -> go.Figure:
    """Two bar charts sharing the layer axis: parameters, and MACs per image (FLOPs = 2 x MACs)."""
    rows = chart_rows(summary)
    names = [r.name for r in rows]
    colors = [COLORS.get(r.kind, "#dddddd") for r in rows]
    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.06,
        subplot_titles=("Parameters", "MACs per image (FLOPs = 2 x MACs)"),
    )
    fig.add_trace(
        go.Bar(
            x=names,
            y=[r.params for r in rows],
            marker_color=colors,
            name="parameters",
            hovertemplate="%{x}<br>%{y:,} parameters<extra></extra>",
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Bar(
            x=names,
            y=[r.macs for r in rows],
            marker_color=colors,
            name="MACs",
            hovertemplate="%{x}<br>%{y:,} MACs<extra></extra>",
        ),
        row=2,
        col=1,
    )
    fig.update_layout(
        height=520,
        showlegend=False,
        margin=dict(l=10, r=10, t=40, b=10),
        bargap=0.15,
        plot_bgcolor="rgba(0,0,0,0)",
        paper_bgcolor="rgba(0,0,0,0)",
    )
    fig.update_xaxes(tickangle=-60, tickfont=dict(size=9))
    return fig


def receptive_field_chart(summary: Summary) -> go.Figure:
    """Receptive field (and jump) after each layer of the main path, against the input size."""
    rows = [r for r in summary.rows if r.role != "skip" and r.receptive_field]
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    x = list(range(1, len(rows) + 1))
    names = [r.name for r in rows]
    fig.add_trace(
        go.Scatter(
            x=x,
            y=[r.receptive_field[0] for r in rows],
            mode="lines+markers",
            name="receptive field (height)",
            line=dict(color="#ff6f3c", width=2.5),
            customdata=names,
            hovertemplate="%{customdata}<br>receptive field %{y} px<extra></extra>",
        )
    )
    if any(r.receptive_field[0] != r.receptive_field[1] for r in rows):
        fig.add_trace(
            go.Scatter(
                x=x,
                y=[r.receptive_field[1] for r in rows],
                mode="lines",
                name="receptive field (width)",
                line=dict(color="#ff6f3c", dash="dot"),
            )
        )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=[r.jump[0] for r in rows],
            mode="lines",
            name="jump (input pixels between outputs)",
            line=dict(color="#4c78a8", width=1.5, shape="hv"),
            customdata=names,
            hovertemplate="%{customdata}<br>jump %{y} px<extra></extra>",
        ),
        secondary_y=True,
    )
    size = summary.input_shape[2]
    fig.add_hline(
        y=size,
        line=dict(color="#5a5f6b", dash="dash", width=1),
        annotation_text=f"input height {size}",
        annotation_position="top left",
    )
    fig.update_layout(
        height=420,
        margin=dict(l=10, r=10, t=30, b=10),
        legend=dict(orientation="h", y=-0.18),
        plot_bgcolor="rgba(0,0,0,0)",
        paper_bgcolor="rgba(0,0,0,0)",
    )
    fig.update_xaxes(title_text="layer (depth along the main path)")
    fig.update_yaxes(title_text="receptive field (pixels)", secondary_y=False, rangemode="tozero")
    fig.update_yaxes(title_text="jump (pixels)", secondary_y=True, rangemode="tozero", showgrid=False)
    return fig
