"""CNN Playground core: plain Python + torch, never streamlit.

The Streamlit pages in ``pages/`` (and their helpers in ``ui/``) read widgets,
call into this package and render what it returns. Everything here is usable
from a notebook or the CLI (``python -m playground ...``) as well::

    import playground as pg
    net = pg.build_model("resnet20", num_classes=10)
    print(pg.summarize("resnet20").total_params)
    result = pg.train(pg.TrainConfig(epochs=1))

The six names (``build_model``, ``summarize``, ``TrainConfig``, ``train``, ``load_dataset``,
``pipeline``; documented in ``playground/api.py``) load on first use, so importing the package
(and ``python -m playground --help``) does not import torch.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

# Before torch loads (every entry point -- app.py, each page, the CLI, run workers -- imports this
# package first): OpenMP threads that spin while waiting steal the CPU from everything else on a
# small shared machine (a UI rerun next to a training run); passive waiting costs nothing here.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"

# The public face, resolved from playground.api on first access (PEP 562).
__all__ = [
    "ImageDataset",
    "Summary",
    "TrainConfig",
    "TrainResult",
    "build_model",
    "load_dataset",
    "pipeline",
    "summarize",
    "train",
]

if TYPE_CHECKING:  # for type checkers and IDEs only: nothing is imported at run time
    from playground.api import (  # noqa: F401
        ImageDataset,
        Summary,
        TrainConfig,
        TrainResult,
        build_model,
        load_dataset,
        pipeline,
        summarize,
        train,
    )


def __getattr__(name: str) -> Any:
    if name in __all__:
        from playground import api

        value = getattr(api, name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module 'playground' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
