"""The sidebar every page shares: which device computes, and library versions."""

from __future__ import annotations

import streamlit as st

from playground.common.device import DeviceInfo, describe_device


@st.cache_data(show_spinner=False)
def _device_info() -> DeviceInfo:
    # Querying CUDA properties is cheap but not free; the answer never changes in a process.
    return describe_device()


def render_sidebar() -> None:
    """Draw the shared sidebar (called once per run by ``app.py``)."""
    info = _device_info()
    with st.sidebar:
        icon = {"cuda": ":material/memory:", "mps": ":material/laptop_mac:"}.get(
            info.kind, ":material/developer_board:"
        )
        st.markdown(f"**Compute device**  \n{icon} `{info.kind}`: {info.label}")
        if info.memory_bytes:
            st.caption(f"{info.memory_bytes / 2**30:.1f} GiB device memory")
        st.caption(f"torch {info.torch_version} · torchvision {info.torchvision_version}")
