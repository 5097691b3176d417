"""Model files downloaded from the pages in a real browser, opened with the tools they are for:
the Architecture Lab's ONNX in onnxruntime, a finished run's safetensors in safetensors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from tests.e2e.conftest import ROOT, choose, open_page

pytestmark = pytest.mark.e2e


def _download(page, label: str, tmp_path):
    with page.expect_download(timeout=120_000) as info:
        page.get_by_role("button", name=label).click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    return path


def test_architecture_lab_onnx_download_gives_pytorchs_logits(page, app_url, tmp_path):
    import onnx
    import onnxruntime as ort

    from playground.models.spec import build
    from playground.models.zoo import model_spec

    open_page(page, app_url)
    open_page(page, app_url, "architecture")
    path = _download(page, "Download .onnx", tmp_path)
    assert path.name == "simplecnn.onnx"
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    torch.manual_seed(0)  # the page exports the initial weights of seed 0
    net = build(model_spec("simplecnn")).eval()
    x = torch.randn(3, 3, 32, 32)
    (logits,) = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"images": x.numpy()})
    with torch.no_grad():
        assert torch.allclose(torch.from_numpy(logits), net(x), atol=1e-4, rtol=0)


def test_training_results_safetensors_download_holds_the_runs_weights(page, app_url, app_env, tmp_path):
    from safetensors.torch import load_file

    from playground.training.checkpoints import load_checkpoint

    out = subprocess.run(
        [sys.executable, "-m", "playground", "train", "--dataset", "digits", "--epochs", "1"]
        + ["--runs-dir", app_env["PLAYGROUND_RUNS_DIR"], "--json"],
        cwd=ROOT,
        env=app_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    run_dir = json.loads(out.stdout.strip().splitlines()[-1])["run_dir"].rstrip("/")
    run_id = run_dir.rsplit("/", 1)[-1]
    open_page(page, app_url, "train", f"run={run_id}")
    page.get_by_role("tab", name="Weights & config").click()
    choose(page, "Model file", "safetensors (.safetensors: the weights)")
    page.get_by_role("tab", name="Weights & config").click()
    path = _download(page, "Download .safetensors", tmp_path)
    assert path.name == f"{run_id}.safetensors"
    got, saved = load_file(str(path)), load_checkpoint(f"{run_dir}/weights.pt")
    assert got.keys() == saved.keys() and all(torch.equal(got[k], saved[k]) for k in saved)
