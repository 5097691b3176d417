"""The sidebar every page shares: which device computes, and library versions.

Describing the device means importing torch and torchvision: seconds on a cold server, and the
home page needs neither. So the first run starts that import in a background thread and the
sidebar says "checking" until it is done (a small fragment polls for it, then reruns the page
once); every later run finds the answer ready. The same thread then imports every page's modules,
so a page's first open after a start does not pay for them.
"""

from __future__ import annotations

import threading

import streamlit as st

from playground.common.device import DeviceInfo, describe_device

_INFO: list[DeviceInfo] = []  # filled once per process by the warm-up thread
_FAILED: list[str] = []
_LOCK = threading.Lock()
_STARTED = threading.Event()


def _describe() -> None:
    try:
        _INFO.append(describe_device())
    except Exception as exc:  # a broken torch install: say so in the sidebar rather than fail every page
        _FAILED.append(f"{type(exc).__name__}: {exc}")
        return
    _import_pages()


def _import_pages() -> None:
    """Import every page's ``ui/<slug>/`` modules (and so their torchvision, zoo, transforms...) ahead of use.

    A page's first run after a server start used to spend 3-6 s importing; done here, in the
    background while the visitor reads the home page, the first open costs what any other does.
    """
    import importlib
    import pkgutil

    from ui.catalog import PAGES

    for entry in PAGES:
        try:
            pkg = importlib.import_module(f"ui.{entry.url_path}")
            for mod in pkgutil.iter_modules(pkg.__path__):
                importlib.import_module(f"{pkg.__name__}.{mod.name}")
        except Exception:  # the page's own run reports any import problem, with its traceback hidden
            continue


def warm_up() -> None:
    """Start describing the device (importing torch) in the background, once per process."""
    with _LOCK:
        if not _STARTED.is_set():
            _STARTED.set()
            threading.Thread(target=_describe, name="playground-warm-up", daemon=True).start()


def device_info(wait: float = 0.0) -> DeviceInfo | None:
    """The device description, or None while the warm-up is still importing torch."""
    warm_up()
    if not _INFO and not _FAILED and wait:
        threading.Event().wait(wait)
    return _INFO[0] if _INFO else None


def _draw(info: DeviceInfo) -> None:
    icon = {"cuda": ":material/memory:", "mps": ":material/laptop_mac:"}.get(info.kind, ":material/developer_board:")
    st.markdown(f"**Compute device**  \n{icon} `{info.kind}`: {info.label}")
    if info.memory_bytes:
        st.caption(f"{info.memory_bytes / 2**30:.1f} GiB device memory")
    st.caption(f"torch {info.torch_version} · torchvision {info.torchvision_version}")


def _until_ready() -> None:
    if _INFO or _FAILED:
        st.rerun()  # once: the page's next run draws the answer and stops this polling
    st.caption("Checking the compute device…")


def render_sidebar() -> None:
    """Draw the shared sidebar (called once per run by ``app.py``)."""
    info = device_info()
    with st.sidebar:
        if info is not None:
            _draw(info)
        elif _FAILED:
            st.warning(f"PyTorch could not be loaded: {_FAILED[0]}")
        else:
            st.fragment(run_every="0.5s")(_until_ready)()
