"""The notebook face: ``import playground as pg``, lazily, and the example notebook executed for real."""

from __future__ import annotations

import inspect
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "examples" / "notebook.ipynb"
PUBLIC = ("build_model", "summarize", "TrainConfig", "train", "load_dataset", "pipeline")


def test_import_playground_is_light_until_a_name_is_used():
    """`import playground as pg` imports no torch; the first `pg.summarize` does, and answers."""
    probe = (
        "import sys, playground as pg\n"
        "before = 'torch' in sys.modules\n"
        "total = pg.summarize('resnet18').total_params\n"
        "print(before, 'torch' in sys.modules, total)"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "True", "11689512"]  # torchvision's resnet18: 11,689,512 parameters


def test_public_names_are_the_core_typed_and_documented():
    import playground as pg
    from playground.data.datasets import load_dataset
    from playground.models.summary import summarize
    from playground.models.zoo import build_model
    from playground.training.loop import TrainConfig

    assert set(PUBLIC) <= set(dir(pg)) and set(PUBLIC) <= set(pg.__all__)
    assert (pg.build_model, pg.summarize, pg.TrainConfig, pg.load_dataset) == (
        build_model,
        summarize,
        TrainConfig,
        load_dataset,
    )
    for name in PUBLIC:
        obj = getattr(pg, name)
        assert inspect.getdoc(obj), f"pg.{name} has no docstring"
        if inspect.isfunction(obj):
            assert inspect.signature(obj).return_annotation is not inspect.Signature.empty or name == "pipeline"
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        pg.nope  # noqa: B018


def test_pg_train_takes_overrides_and_a_module():
    """Overrides that name config fields change the config; a module is trained as it is."""
    import torch

    import playground as pg

    data = pg.load_dataset("shapes", size=200, image_size=16)
    net = pg.build_model("simplecnn", num_classes=data.num_classes, input_size=16)
    before = [p.detach().clone() for p in net.parameters()]
    events = []
    result = pg.train(epochs=1, batch_size=50, data=data, model=net, emit=events.append, device="cpu")
    assert result.status == "completed" and result.model is net
    assert [e["type"] for e in events][0] == "start" and events[-1]["type"] == "end"
    assert sum(e["type"] == "epoch" for e in events) == 1
    assert events[0]["batch_size"] == 50
    assert any(not torch.equal(a, b) for a, b in zip(before, net.parameters())), "the given module was trained"


def test_pipeline_is_torchvisions_v2_pipeline():
    import torch
    from torchvision.transforms import v2

    import playground as pg

    aug = pg.pipeline("cifar")
    assert isinstance(aug, v2.Compose)
    out = aug(torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8))
    assert out.dtype == torch.float32 and tuple(out.shape) == (3, 32, 32)
    with pytest.raises(ValueError, match="neither a pipeline preset"):
        pg.pipeline("no-such-pipeline")


@pytest.mark.slow
def test_example_notebook_runs_on_the_cpu_in_under_a_minute():
    """examples/notebook.ipynb, executed cell by cell by nbclient in a real ipykernel."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "commit the notebook without outputs"
    t0 = time.perf_counter()
    NotebookClient(
        nb,
        timeout=60,
        kernel_name="python3",
        resources={"metadata": {"path": str(ROOT)}},
        env={"CUDA_VISIBLE_DEVICES": ""},
    ).execute()
    seconds = time.perf_counter() - t0
    assert seconds < 60, f"the notebook took {seconds:.0f} s"
    text = "\n".join(
        o.get("text", "") + o.get("data", {}).get("text/plain", "") for c in nb.cells for o in c.get("outputs", [])
    )
    assert not [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert "11,689,512 parameters" in text
    assert "epoch 3: train loss" in text
    accuracy = float(text.split("('completed', ")[1].split(")")[0])
    assert accuracy > 0.9, f"SimpleCNN on digits reached only {accuracy:.1%} validation accuracy"
    assert "(3, 32, 32)" in text
