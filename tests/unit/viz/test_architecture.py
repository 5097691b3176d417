"""The Architecture Lab's figures show what the summary says: every skip connection as an arc,
every edge labelled with its shape, bars that add up to the totals."""

from __future__ import annotations

import pytest

from playground.models.summary import summarize
from playground.viz.architecture import diagram_graph, network_diagram, params_macs_chart, receptive_field_chart


@pytest.mark.parametrize(
    "name, detail, arcs",
    [
        ("resnet50", "auto", 16),
        ("resnet20", "layers", 9),
        ("resnet20", "blocks", 9),
        ("plain20", "auto", 0),
        ("simplecnn", "auto", 0),
    ],
)
def test_one_arc_per_skip_connection(name, detail, arcs):
    fig = network_diagram(summarize(name), detail)
    assert len([s for s in fig.layout.shapes if s.type == "path"]) == arcs


def test_layer_view_arcs_end_at_the_addition_and_name_the_shortcut():
    s = summarize("resnet20")
    nodes, arcs = diagram_graph(s, "layers")
    assert all(nodes[b].kind == "add" and a < b for a, b, _ in arcs)
    labels = [label for _, _, label in arcs]
    assert labels.count("subsample /2 + zero channels") == 2 and labels.count("identity") == 7
    _, arcs50 = diagram_graph(summarize("resnet50"), "blocks")
    assert [label for _, _, label in arcs50].count("1x1 conv /2 + BN") == 3


def test_edges_carry_the_tensor_shapes():
    fig = network_diagram(summarize("simplecnn"))
    texts = [a.text for a in fig.layout.annotations]
    assert "32×32×32" in texts and "32×16×16" in texts and "128" in texts  # after the flatten: 128 features


def test_bars_add_up_and_receptive_field_curve_ends_at_the_summary():
    s = summarize("vgg11")
    bars = params_macs_chart(s)
    assert sum(bars.data[0].y) == s.total_params and sum(bars.data[1].y) == s.total_macs
    ys = list(receptive_field_chart(s).data[0].y)
    assert ys == sorted(ys) and ys[0] == 3  # it only grows, from the first 3x3 conv
    assert s.receptive_field[0] in ys  # ... through the last feature map's 150 px
