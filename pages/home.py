"""Home: what a CNN is, and what each page lets you do."""

import streamlit as st

from ui.catalog import PAGES
from ui.router import ensure_routed

ensure_routed()  # a server's first visit may run this file without app.py (see ui/router.py)

st.title("CNN Playground")
st.markdown("Learn convolutional neural networks by changing them and watching what happens, on real PyTorch.")

st.subheader("How CNNs see the world")
st.markdown(
    """
Convolutional Neural Networks (CNNs) exploit the spatial structure of images: nearby pixels tend to be
correlated, and local patterns (edges, textures) repeat across different positions in the image.

The key idea is the **convolution**: a small filter (kernel), typically 3x3 or 5x5, slides across the
image computing the element-wise product between the filter and the patch under it. The result is a
**feature map** that lights up wherever the filter's pattern appears. **Pooling** then shrinks the maps,
cutting cost and adding a little translation invariance. Layer after layer, the network builds a
hierarchy of features: from simple edges to complex shapes to complete objects.

CNNs work so well because of three properties of images: **locality** (important features are local),
**weight sharing** (the same filter is applied everywhere, drastically reducing parameters) and
**translation invariance** (a cat is a cat whether at the centre or in a corner of the image).
"""
)

st.subheader("Where to start")
cols = st.columns(2)
for i, entry in enumerate(PAGES):
    with cols[i % 2].container(border=True):
        st.markdown(f"#### {entry.title}")
        st.write(entry.blurb)
        st.page_link(entry.path, label=f"Open {entry.title}", icon=entry.icon)
