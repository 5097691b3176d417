"""One-click hand-offs between pages: "Train this model", "Use for training", "Open in Inside", "Fine-tune this".

A hand-off writes the target page's config for this session (``ui.state.save_config`` and the
widgets of the fields it changes, which the target has not drawn yet), then ``st.switch_page``s
there: the target's ``restore`` picks the config up as if the user had set it, and its own
``clamp_once`` still checks it. A spec or pipeline travels as a JSON file in the run store's
uploads folder (where the Training page keeps uploads, and what a run process reads), so there is
no download and re-upload.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import streamlit as st

from playground.runs.store import uploads_dir
from playground.training.models import save_upload_file
from ui import state
from ui.catalog import PAGES


def _switch(url_path: str) -> None:
    st.switch_page(next(e.path for e in PAGES if e.url_path == url_path))


def _open(url_path: str, cls: type, widgets: set[str], changes: dict[str, Any]) -> None:
    cfg = replace(state.saved_config(url_path) or cls(), **changes)
    state.save_config(cfg, url_path)
    for name, value in changes.items():
        if name in widgets:
            state.set_value(url_path, name, value)
    _switch(url_path)


def _to_training(field: str, text: str, label: str) -> None:
    """The Training page with ``field`` (model, augment) set to ``text`` kept as an upload; shown as ``label``."""
    from playground.training.loop import TrainConfig
    from ui.train import NS
    from ui.train.form import WIDGETS

    path = str(save_upload_file(text.encode("utf-8"), uploads_dir(), ".json"))
    state.stash(NS, "names", dict)[path] = label  # the Training page's menus show this instead of the file name
    _open(NS, TrainConfig, WIDGETS, {field: path})


def train_model(spec_json: str, name: str) -> None:
    """Architecture Lab -> Training page, with this model spec selected."""
    _to_training("model", spec_json, f"{name} (from the Architecture Lab)")


def train_with_pipeline(pipeline_json: str) -> None:
    """Augmentation Studio -> Training page, with this pipeline as the training augmentation."""
    _to_training("augment", pipeline_json, "the Augmentation Studio's pipeline")


def open_inside(run_id: str) -> None:
    """A finished run -> Inside a trained network, on that run."""
    from playground.labs.inside import InsideConfig
    from ui.inside.views import NS, WIDGETS

    _open(NS, InsideConfig, WIDGETS, {"source": "run", "run": run_id, "layer": 0, "index": 0})


def fine_tune(run_id: str) -> None:
    """A finished run -> Transfer learning, with that run's model as the backbone, fine-tuning."""
    from playground.labs.transfer import TransferLabConfig
    from ui.transfer.editor import NS, STAGE_PREFIX, WIDGETS

    state.drop_widgets(STAGE_PREFIX)  # the per-stage toggles start from the new backbone
    _open(
        NS, TransferLabConfig, WIDGETS, {"weights": "run", "run": run_id, "mode": "fine_tuning", "stage_overrides": {}}
    )
