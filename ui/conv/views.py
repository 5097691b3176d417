"""The explorer's result views: the layer table, formulas, the VGG comparison,
the sliding window and the image tab. Pure rendering over ``playground``."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import streamlit as st

from playground.common.images import ImageError, load_image, load_sample, to_tensor
from playground.labs import conv as kernels
from playground.labs.conv import ExplorerConfig, first_conv_and_pool
from playground.models.arithmetic import LayerReport, LayerSpec, analyse_layer, stacked_vs_single
from playground.viz import conv as vz
from ui import state
from ui.conv.editor import NS, WIDGETS
from ui.text import plain
from ui.widgets import IMAGE_TYPES, bounds, options, pair_text, shape_text


def _publish_section() -> ExplorerConfig:
    """In a section's own rerun (a fragment): the page's config with this section's widgets, mirrored to the URL.

    A widget inside a fragment reruns only that fragment, so the page script's own ``publish`` does not run.
    """
    cfg = state.read(state.saved_config(NS), NS, WIDGETS)
    state.publish(cfg, NS)
    return cfg


@st.cache_data(show_spinner=False, max_entries=32)
def _window_figure(spec: LayerSpec, hw: tuple[int, int], seed: int):
    # Built once per geometry and shared by every session: the animation is pure in (spec, hw, seed).
    return vz.sliding_window(spec, hw, seed=seed)


def _count(n: int | None) -> int | float | None:
    """A count for the table: above 2**53 as a float, since the table's int64 columns overflow at 9.2e18
    (the widgets' maxima give a fully-connected equivalent of 1e21); below it, exact."""
    return float(n) if n is not None and abs(n) >= 2**53 else n


def layer_table(cfg: ExplorerConfig, reports: list[LayerReport]) -> None:
    """Per-layer shapes and costs, formulas, and the error (with its fix) where the chain breaks."""
    rows = [
        {
            "Layer": "input",
            "Output shape": shape_text(cfg.input_shape),
            "Parameters": 0,
            "Fully-connected equivalent": None,
            "MACs per image": 0,
            "Receptive field": "1",
            "Jump": "1",
        }
    ]
    for r in reports:
        if r.error:
            continue
        rows.append(
            {
                "Layer": f"{r.index + 1}. {r.label}",
                "Output shape": shape_text(r.out_shape),
                "Parameters": _count(r.params),
                "Fully-connected equivalent": _count(r.fc_params),
                "MACs per image": _count(r.macs),
                "Receptive field": pair_text(r.receptive_field),
                "Jump": pair_text(r.jump),
            }
        )
    st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        width="stretch",
        key="conv_table",
        # Short headers (the full words in their help) so all seven columns fit the page without a scroll bar.
        column_config={
            "Layer": st.column_config.TextColumn("Layer"),
            "Output shape": st.column_config.TextColumn("Output", help="Output shape [N, C, H, W]"),
            "Parameters": st.column_config.NumberColumn("Params", format="localized", help="Weights and biases"),
            "Fully-connected equivalent": st.column_config.NumberColumn(
                "FC equiv.",
                format="localized",
                help="Parameters a fully-connected layer would need for the same input and output sizes",
            ),
            "MACs per image": st.column_config.NumberColumn(
                "MACs", format="localized", help="Multiply-accumulates per image (FLOPs = 2 x MACs)"
            ),
            "Receptive field": st.column_config.TextColumn(
                "RF", help="Receptive field: the input patch one value sees"
            ),
            "Jump": st.column_config.TextColumn("Jump", help="Input pixels between neighbouring outputs"),
        },
    )
    bad = next((r for r in reports if r.error), None)
    if bad:
        st.error(
            f"**Layer {bad.index + 1}** ({bad.label}) on input {shape_text(bad.in_shape)}: {bad.error}",
            icon=":material/error:",
        )
    ok = [r for r in reports if not r.error]
    if ok:
        last = ok[-1]
        st.success(
            f"Output shape: **{shape_text(last.out_shape)}**  ·  {sum(r.params for r in ok):,} parameters  ·  "
            f"{sum(r.macs for r in ok):,} MACs per image (FLOPs = 2 x MACs)  ·  receptive field {pair_text(last.receptive_field)}"
        )
    for r in ok:
        with st.expander(f"Layer {r.index + 1}: how {shape_text(r.in_shape)} becomes {shape_text(r.out_shape)}"):
            st.code(f"height: {r.formulas[0]}\nwidth:  {r.formulas[1]}", language=None, wrap_lines=True)
            st.caption(
                "⌊ ⌋ rounds down (the default: a window that would run past the padded input is dropped). "
                "With ceil_mode=True pooling rounds up (⌈ ⌉), keeping a last partial window, unless it would start inside the "
                "right/bottom padding."
            )
            if r.fc_params is not None:
                ratio = r.fc_params / max(r.params, 1)
                st.markdown(
                    f"**Weight sharing:** this conv has **{r.params:,}** parameters. A fully-connected layer mapping the same "
                    f"{shape_text(r.in_shape[1:])} input to the same {shape_text(r.out_shape[1:])} output would need "
                    f"**{r.fc_params:,}**: about **{ratio:,.0f}x** more."
                )
            st.markdown(
                f"**Receptive field** {pair_text(r.receptive_field)}: each output value depends on a "
                f"{r.receptive_field[0]}x{r.receptive_field[1]} patch of the input. **Jump** {pair_text(r.jump)}: neighbouring "
                "outputs are that many input pixels apart (the product of the strides so far)."
            )


@st.fragment
def vgg_comparison() -> None:
    """Two stacked 3x3 convs against one 5x5 (or three against a 7x7): the VGG argument."""
    c1, c2, c3 = st.columns(3)
    ch = c1.number_input("Channels (in = out)", 1, 1024, 64, key="conv_vgg_channels")
    n = c2.selectbox("Stacked 3x3 convs", (2, 3), key="conv_vgg_n")
    size = c3.number_input("Feature map size", 4, 512, 32, key="conv_vgg_size")
    res = stacked_vs_single(int(ch), (int(size), int(size)), 3, int(n))
    big = res["big_kernel"]
    st.plotly_chart(
        vz.params_comparison(
            [
                (f"{n} x conv 3x3", res["stacked_params"], res["stacked_macs"]),
                (f"1 x conv {big}x{big}", res["single_params"], res["single_macs"]),
            ]
        ),
        width="stretch",
        key="conv_vgg_chart",
    )
    saved = 1 - res["stacked_params"] / res["single_params"]
    st.markdown(
        f"Both see a **{big}x{big}** receptive field (stacked: {pair_text(res['stacked'][-1].receptive_field)}, "
        f"single: {pair_text(res['single'][-1].receptive_field)}). The stack needs **{res['stacked_params']:,}** parameters "
        f"against **{res['single_params']:,}** ({saved:.0%} fewer) and adds {n - 1} more non-linearity: "
        "depth from small kernels is cheaper and more expressive, VGG's argument."
    )


@st.fragment
def sliding_window_tab(cfg: ExplorerConfig, specs: list[LayerSpec]) -> None:
    """The kernel (or pooling window) of one chosen layer stepping over a small example input.

    A fragment: its three widgets rerun this tab only, and the figure comes from a cache.
    """
    if not specs:
        st.info("Add a layer to see its window slide.")
        return
    c = st.columns(3)
    c[0].selectbox(
        "Layer",
        list(range(1, len(specs) + 1)),
        key=state.key(NS, "window_layer"),
        format_func=lambda i: f"{i}: {'Conv2d' if specs[i - 1].kind == 'conv' else 'Pooling'}",
    )
    c[1].number_input(
        "Example input height", key=state.key(NS, "window_height"), **bounds(ExplorerConfig, "window_height")
    )
    c[2].number_input(
        "Example input width", key=state.key(NS, "window_width"), **bounds(ExplorerConfig, "window_width")
    )
    idx = min(int(state.value(NS, "window_layer")), len(specs)) - 1
    spec = specs[idx]
    hw = (int(state.value(NS, "window_height")), int(state.value(NS, "window_width")))
    rep = analyse_layer(spec, (1, 1, *hw))  # one channel: the view shows a single slice
    if rep.error:
        st.error(f"On a {hw[0]}x{hw[1]} example: {rep.error}")
        return
    st.caption(
        "Grey cells are padding (what the layer really reads there: zeros, reflected/replicated/circular values, or −∞ for "
        "max pooling). Orange cells are the taps of the current window, spaced by the dilation; the window moves by the "
        "stride. Press ▶ Play or drag the slider. One input and one output channel are shown."
    )
    cfg = _publish_section()
    fig = _window_figure(spec, hw, int(cfg.kernel_seed))
    # On a narrow screen the chart keeps cells wide enough for their numbers and scrolls sideways in its box
    # (plotly lays itself out to its element's width; the box clips and scrolls). On a wide one nothing changes.
    with st.container(key="conv_window_box"):
        w = vz.min_width_px(fig)
        st.html(
            "<style>.st-key-conv_window_box{overflow-x:auto}"
            f".st-key-conv_window_box [data-testid='stElementContainer']:has(.js-plotly-plot){{min-width:{w}px}}</style>"
        )
        st.plotly_chart(fig, width="stretch", key="conv_window_chart")


@st.cache_data(show_spinner=False, max_entries=16)
def _decode(data: bytes, name: str, side: int = 512):
    return load_image(data, name=name, max_side=side)


@st.cache_data(show_spinner=False, max_entries=8)
def _sample(name: str, side: int = 512):
    return load_sample(name, max_side=side)


def _drop_typed_cells() -> None:
    # Another kernel preset (or seed): the cells typed over the previous one no longer apply.
    cfg = state.saved_config(NS)
    if cfg is not None and cfg.kernel_cells:
        state.save_config(replace(cfg, kernel_cells=[]), NS)


def image_tab(cfg: ExplorerConfig, specs: list[LayerSpec]) -> list:
    """Filter a photo with a kernel using the chain's first conv geometry, then its first pooling.

    Returns the kernel's hand-typed cells (empty when it is the preset's), for the link. Not a fragment:
    the typed cells go into the page's link, which the page script writes.
    """
    conv, pool = first_conv_and_pool(specs)
    c = st.columns(4)
    c[0].selectbox("Sample photo", options(ExplorerConfig, "image"), key=state.key(NS, "image"))
    upload = c[1].file_uploader("…or your own photo", type=IMAGE_TYPES, key=f"{NS}_upload")
    c[2].selectbox(
        "Kernel",
        options(ExplorerConfig, "kernel"),
        key=state.key(NS, "kernel"),
        format_func=lambda n: kernels.KERNEL_LABELS.get(n, n),
        on_change=_drop_typed_cells,
    )
    c[3].number_input(
        "Random kernel seed",
        key=state.key(NS, "kernel_seed"),
        on_change=_drop_typed_cells,
        **bounds(ExplorerConfig, "kernel_seed"),
    )
    side = kernels.photo_side(conv.kernel)  # a big kernel gets a smaller photo: the work stays bounded
    try:
        loaded = _decode(upload.getvalue(), upload.name, side) if upload else _sample(cfg.image, side)
    except ImageError as exc:
        st.error(plain(f"{exc} Showing the sample photo instead."))
        loaded = _sample(cfg.image, side)
    left, mid, right = st.columns(3)
    with left:
        image = to_tensor(loaded.image, gray=True)  # (1, H, W) in [0, 1]
        st.image(
            loaded.image,
            caption=f"input ({image.shape[1]}x{image.shape[2]}, height x width; grayscale for the conv)",
            width="stretch",
        )
        if loaded.notes:
            st.caption("Image: " + "; ".join(loaded.notes))
        preset = kernels.make_kernel(cfg.kernel, conv.kernel, cfg.kernel_seed).round(decimals=4)
        typed = kernels.typed_kernel(cfg.kernel_cells, conv.kernel)  # the link's hand-typed cells, if they fit
        base = typed if typed is not None else preset
        st.caption(
            f"Kernel {conv.kernel[0]}x{conv.kernel[1]} (size, stride, padding and dilation from the chain's first conv). Edit any cell:"
        )
        edited = st.data_editor(
            pd.DataFrame(base.numpy()).round(4),
            key=f"conv_kernel_cells_{cfg.kernel}_{conv.kernel}_{cfg.kernel_seed}",
            width="stretch",
        )
    kernel = kernels.kernel_from_cells(edited.apply(pd.to_numeric, errors="coerce").to_numpy(dtype="float32"))
    cells = kernels.kernel_cells(kernel, preset)
    try:
        fmap = kernels.conv_with_kernel(image, kernel, conv)
        pooled = kernels.pool_map(fmap, pool)
    except ValueError as exc:
        mid.error(str(exc))
        return cells
    mid.plotly_chart(vz.feature_map(fmap, "conv output"), width="stretch", key="conv_fmap")
    right.plotly_chart(
        vz.feature_map(pooled, f"after {pool.pool} pooling {pair_text(pool.kernel)}"),
        width="stretch",
        key="conv_pooled",
    )
    st.subheader("Translation invariance")
    st.number_input("Largest shift (pixels)", key=state.key(NS, "max_shift"), **bounds(ExplorerConfig, "max_shift"))
    try:
        results = kernels.translation_study(image, kernel, conv, pool, int(cfg.max_shift))
    except ValueError as exc:
        st.error(plain(exc))
        return cells
    st.plotly_chart(vz.shift_chart(results), width="stretch", key="conv_shift_chart")
    r1 = next((r for r in results if r.shift == 1), results[-1])
    st.markdown(
        f"Shifting the photo by 1 pixel changes the conv output by **{r1.conv_change:.0%}** position by position, but the "
        f"pooled output by **{r1.pooled_change:.0%}**: pooling summarises a neighbourhood, so small shifts matter less. "
        "The dotted line compares the conv output after undoing the shift: close to zero, because convolution is "
        "*equivariant* (a shifted input gives a shifted output); only the borders differ."
    )
    return cells
