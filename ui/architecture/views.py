"""The Architecture Lab's results: the layer table with its totals, the training-memory estimate,
the plots and the exports. Pure rendering over ``playground``."""

from __future__ import annotations

import json
import re

import pandas as pd
import streamlit as st

from playground.labs.architecture import (
    DIAGRAM_DETAIL,
    OPTIMIZERS,
    TABLE_LEVELS,
    ArchConfig,
    check_against_pytorch,
    config_query,
)
from playground.models.codegen import pytorch_source
from playground.models.export import export_refusal, export_spec
from playground.models.spec import trace
from playground.models.summary import Summary, available_memory, gib, group_rows, summary_from_trace
from playground.models.vocab import dumps
from playground.viz import architecture as vz
from playground.viz.animation import freeze
from ui import handoff, state
from ui.architecture import editor as arch_editor
from ui.exports import model_files
from ui.widgets import bounds, options, pair_text, shape_text, share_link

NS = arch_editor.NS


def summarize_spec(spec: dict, batch_size: int) -> Summary:
    """The table for ``spec``; a spec that breaks gives the rows up to the break and ``.error``."""
    return summary_from_trace(trace(spec, raise_errors=False, normalized=True), batch_size)


def _no_totals(s: Summary, what: str) -> bool:
    """A sentence instead of figures while the model is broken: sums of the layers before the break would lie."""
    if s.error is None:
        return False
    st.info(
        f"No {what} while the model is broken: the sentence under *Layer by layer* says which layer fails and "
        "how to fix it.",
        icon=":material/info:",
    )
    return True


TABLE_ROWS = 60  # rows shown without scrolling inside the table (a VGG-19 has 47)


def totals(s: Summary) -> None:
    """The figures under the table (none while the model is broken)."""
    if _no_totals(s, "totals"):
        return
    top, bottom = st.columns(2), st.columns(2)
    top[0].metric("Output shape", shape_text(s.output_shape), help="With the batch: [N, classes] for a classifier")
    top[1].metric("Parameters", f"{s.total_params:,}", help="Weights and biases; batch-norm statistics are buffers")
    bottom[0].metric(
        "MACs per image",
        f"{s.total_macs / 1e9:,.3f} G" if s.total_macs >= 1e7 else f"{s.total_macs:,}",
        help="Multiply-accumulates of the convs and linear layers (torchvision's _ops counts the same)",
    )
    bottom[1].metric(
        "Receptive field",
        f"{pair_text(s.receptive_field)} px" if s.receptive_field else "n/a",
        help="The input patch one value of the last feature map (before global pooling) sees",
    )
    st.caption(
        f"Trainable **{s.trainable_params:,}** · frozen **{s.frozen_params:,}** · FLOPs = 2 x MACs = "
        f"**{s.total_flops / 1e9:,.3f} GFLOPs** per image · activations for a batch of {s.batch_size}: "
        f"**{gib(s.activation_bytes)}**"
    )


def broken(s: Summary) -> None:
    """Where the model breaks, in a sentence with the fix, and a button to edit that layer."""
    if s.error is None:
        return
    path = ".".join(map(str, s.error.item or ()))
    c = st.columns([5, 1], vertical_alignment="center")
    c[0].error(
        f"**The model breaks here.** {s.error} The table stops at the last layer that works.", icon=":material/error:"
    )
    if path:
        c[1].button(
            "Edit it",
            key=f"{NS}_goto_error",
            on_click=arch_editor.select,
            args=(path,),
            icon=":material/edit:",
            width="stretch",
        )


def table(s: Summary, cfg: ArchConfig) -> None:
    """Per layer: shape, parameters (trainable/frozen), MACs and FLOPs, activation memory, receptive field, jump."""
    c = st.columns([3, 2], vertical_alignment="bottom")
    c[0].markdown(f"**{s.name}** on input {shape_text(s.input_shape)}")
    c[1].selectbox(
        "Rows",
        options(ArchConfig, "table"),
        key=state.key(NS, "table"),
        format_func=TABLE_LEVELS.get,
        label_visibility="collapsed",
    )
    rows = group_rows(s, cfg.table)
    frame = pd.DataFrame(
        [
            {
                "Layer": r.name,
                "Type": r.type,
                "Output shape": shape_text(r.output_shape),
                "Trainable": r.trainable_params,
                "Frozen": r.frozen_params,
                "MACs": r.macs,
                "FLOPs (2×MACs)": r.flops,
                "Activations": gib(r.activation_bytes) if r.allocates else "in place",
                "RF": pair_text(r.receptive_field) if r.receptive_field else "all",
                "Jump": pair_text(r.jump) if r.jump else "",
            }
            for r in rows
        ]
    )
    cols = {  # header: (width in pixels, help)
        # Widths add up to less than the page's 940 px content width, so the last column (Jump) is not cut off.
        "Layer": (110, "The module's name in PyTorch"),
        "Type": (128, "The PyTorch class"),
        "Output shape": (125, "With the batch"),
        "Trainable": (88, "Parameters that training updates"),
        "Frozen": (60, "Parameters kept fixed (transfer learning)"),
        "MACs": (100, "Multiply-accumulates per image"),
        "FLOPs (2×MACs)": (104, "FLOPs = 2 x MACs: a multiply and an add"),
        "Activations": (80, "Memory of this layer's output for the whole batch (in place: none)"),
        "RF": (56, "Receptive field: the input patch (pixels) one output value sees; 'all' after the flatten"),
        "Jump": (56, "Input pixels between neighbouring outputs (the product of the strides so far)"),
    }
    numbers = {
        c: (
            st.column_config.NumberColumn(c, format="localized", width=w, help=h)
            if c in ("Trainable", "Frozen", "MACs", "FLOPs (2×MACs)")
            else st.column_config.Column(c, width=w, help=h)
        )
        for c, (w, h) in cols.items()
    }
    if len(rows) > TABLE_ROWS:
        st.caption(
            f"{len(rows)} rows: the table shows {TABLE_ROWS} at a time, scroll inside it for the rest "
            "(or show residual blocks or top-level layers)."
        )
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        height=38 + 35 * min(max(len(rows), 1), TABLE_ROWS),  # every row of a VGG, classifier included
        column_config=numbers,
        key=f"{NS}_table_view",
    )


@st.cache_data(show_spinner=False, max_entries=4)
def _device() -> tuple[int | None, str]:
    return available_memory()


def memory(s: Summary) -> None:
    """Training memory for the chosen batch size and optimizer, against this machine's device."""
    c = st.columns(2)
    c[0].number_input("Batch size", key=state.key(NS, "batch_size"), **bounds(ArchConfig, "batch_size"))
    c[1].selectbox(
        "Optimizer",
        options(ArchConfig, "optimizer"),
        key=state.key(NS, "optimizer"),
        format_func=OPTIMIZERS.get,
        help="Extra values it keeps per trainable weight: Adam 2, SGD with momentum 1, plain SGD none",
    )
    if _no_totals(s, "training-memory estimate"):
        return
    device_bytes, label = _device()
    m = s.memory(optimizer=state.value(NS, "optimizer"), device_bytes=device_bytes, device_label=label)
    st.markdown(
        f"**Training needs about {gib(m.total)}** (float32, the peak of one step, during the {m.peak_during}): "
        + " + ".join(f"{name} {gib(v)}" for name, v in m.parts() if v)
        + (f", of {gib(device_bytes)} ({label})." if device_bytes else ".")
    )
    if device_bytes:
        st.progress(min(1.0, m.total / device_bytes))
    if m.warning():
        st.warning(m.warning(), icon=":material/memory:")


@st.cache_data(show_spinner=False, max_entries=16)
def _figures(spec_json: str, batch_size: int, detail: str):
    # Kept frozen (as JSON): a cached plotly object is rebuilt, validated, on every hit (0.3 s here).
    s = summarize_spec(json.loads(spec_json), batch_size)
    return tuple(
        freeze(f) for f in (vz.network_diagram(s, detail), vz.params_macs_chart(s), vz.receptive_field_chart(s))
    )


def plots(s: Summary, spec: dict) -> None:
    """The diagram, parameters and MACs per layer, and receptive-field growth, in tabs."""
    if not s.rows:
        st.info("Add layers to see the diagram and the charts.")
        return
    diagram, bars, rf = _figures(json.dumps(spec), s.batch_size, state.value(NS, "diagram"))
    t1, t2, t3 = st.tabs(["Network diagram", "Parameters & MACs", "Receptive field"])
    with t1:
        st.radio(
            "Detail",
            options(ArchConfig, "diagram"),
            key=state.key(NS, "diagram"),
            format_func=DIAGRAM_DETAIL.get,
            horizontal=True,
        )
        st.caption(
            "Tensor shapes (per image) label the edges; orange arcs are skip connections, labelled with "
            "what the shortcut does when the shape changes."
        )
        st.plotly_chart(diagram, width="stretch", key=f"{NS}_diagram_chart")
    with t2:
        st.caption("Early convs run on big feature maps (most MACs); late layers and classifiers hold most parameters.")
        st.plotly_chart(bars, width="stretch", key=f"{NS}_bars_chart")
    with t3:
        st.caption(
            "Each conv or pool adds (kernel − 1) x jump pixels to the receptive field; strides multiply the "
            "jump. Two stacked 3x3 convs see 5x5, like one 5x5 conv."
        )
        st.plotly_chart(rf, width="stretch", key=f"{NS}_rf_chart")


def _slug(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_") or "model"


def export(s: Summary, spec: dict, cfg: ArchConfig) -> None:
    """PyTorch source and JSON downloads, JSON upload, a shareable link, a check against PyTorch."""
    slug = _slug(spec["name"])
    c = st.columns(3)
    with c[0]:
        st.markdown("**PyTorch source**")
        if s.error is None:
            source = pytorch_source(spec)
            st.download_button(
                "Download .py",
                source,
                file_name=f"{slug}.py",
                mime="text/x-python",
                key=f"{NS}_download_py",
                icon=":material/code:",
                width="stretch",
            )
        else:
            source = None
            st.caption("Fix the error above to export runnable code.")
    with c[1]:
        st.markdown("**JSON spec**")
        st.download_button(
            "Download .json",
            dumps(spec) + "\n",
            file_name=f"{slug}.json",
            mime="application/json",
            key=f"{NS}_download_json",
            icon=":material/data_object:",
            width="stretch",
        )
    with c[2]:
        st.markdown("**Check**")
        if st.button(
            "Run it in PyTorch",
            key=f"{NS}_check",
            width="stretch",
            disabled=s.error is not None,
            help="Builds the model on the meta device and compares every shape and count with the table",
        ):
            ok, text = check_against_pytorch(spec)
            (st.success if ok else st.error)(text)
    if st.button(
        "Train this model",
        key=f"{NS}_train_this",
        type="primary",
        icon=":material/model_training:",
        disabled=s.error is not None,
        help="Open the Training page with this model selected (its classes and input follow the dataset there)",
    ):
        handoff.train_model(dumps(spec) + "\n", spec["name"])
    st.markdown("**Model file** with the initial weights a run with seed 0 starts from")
    refusal = "Fix the error above to export the model." if s.error is not None else export_refusal(s.total_params)
    model_files(NS, slug, lambda fmt, opset: export_spec(spec, fmt, opset=opset).data, refusal)
    arch_editor.upload_widget()
    st.markdown("**Share this model**: the link holds the preset, knobs and your edits.")
    share_link(config_query(cfg))
    if source:
        with st.expander("Preview the PyTorch source"):
            st.code(source, language="python")
