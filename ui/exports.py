"""The model-file downloads the Architecture Lab and the Training results share: ONNX (with its opset),
safetensors and a ``torch.export`` ``.pt2``. The bytes come from the core (``playground.models.export``),
made when the button is pressed (Streamlit's deferred download), so drawing the page traces nothing."""

from __future__ import annotations

from typing import Callable

import streamlit as st

from playground.models.export import DEFAULT_OPSET, OPSETS, WEIGHT_FORMATS

LABELS = {
    "onnx": "ONNX (.onnx: Netron, onnxruntime)",
    "safetensors": "safetensors (.safetensors: the weights)",
    "pt2": "torch.export program (.pt2)",
}


def model_files(ns: str, stem: str, make: Callable[[str, int], bytes], refusal: str | None = None) -> None:
    """A format picker, the ONNX opset and a download button; ``make(fmt, opset)`` returns the file's bytes.

    ``refusal``: a sentence shown instead of the button (a model too large to export here, a broken one).
    """
    left, mid, right = st.columns([3, 2, 3], vertical_alignment="bottom")
    fmt = left.selectbox(
        "Model file", WEIGHT_FORMATS, format_func=LABELS.get, key=f"{ns}_export_format", help="Weights included"
    )
    opset = mid.selectbox(
        "ONNX opset",
        OPSETS,
        index=OPSETS.index(DEFAULT_OPSET),
        key=f"{ns}_export_opset",
        disabled=fmt != "onnx",
        help="The ONNX operator set version; the batch dimension is always dynamic",
    )
    if refusal:
        right.caption(refusal)
        return
    right.download_button(
        f"Download .{fmt}",
        lambda: make(fmt, int(opset)),
        file_name=f"{stem}.{fmt}",
        mime="application/octet-stream",
        key=f"{ns}_export_download",
        icon=":material/download:",
        width="stretch",
        on_click="ignore",
    )
