"""One-click hand-offs in a real browser: the Architecture Lab's "Train this model" and the Augmentation
Studio's "Use for training" open the Training page with that model or pipeline selected; a finished
run's "Open in Inside" and "Fine-tune this" open those pages on that run."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ROOT, choose, open_page, wait_for_app

pytestmark = pytest.mark.e2e


def _click(page, name: str) -> None:
    page.get_by_role("button", name=name).click()
    wait_for_app(page)


def test_architecture_lab_train_this_model_selects_it_on_the_training_page(page, app_url):
    from playground.models.zoo import build_model

    open_page(page, app_url)
    open_page(page, app_url, "architecture")
    choose(page, "Start from", "ResNet-20 (CIFAR, 2015)")
    _click(page, "Train this model")
    expect(page.get_by_role("heading", name="Training Runs")).to_be_visible()
    assert "/train" in page.url and "model=" in page.url
    page.get_by_role("tab", name="Model").click()
    expect(page.get_by_role("combobox", name="Model")).to_have_value("Uploaded: ResNet-20 (from the Architecture Lab)")
    params = sum(p.numel() for p in build_model("resnet20", num_classes=10).parameters())  # shapes: 10 classes
    expect(page.locator("[data-testid='stMetric']").filter(has_text="Parameters").first).to_contain_text(f"{params:,}")
    expect(page.get_by_role("button", name="Launch run")).to_be_enabled()


def test_augmentation_studio_use_for_training_selects_its_pipeline(page, app_url):
    open_page(page, app_url)
    open_page(page, app_url, "augment")
    page.get_by_role("tab", name="Export").click()
    _click(page, "Use for training")
    expect(page.get_by_role("heading", name="Training Runs")).to_be_visible()
    assert "augment=" in page.url
    page.get_by_role("tab", name="Augmentation").click()
    expect(page.get_by_role("combobox", name="Training pipeline")).to_have_value(
        "Uploaded: the Augmentation Studio's pipeline"
    )


def test_a_finished_run_opens_in_inside_and_fine_tunes_on_the_transfer_page(page, app_url, app_env):
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
    run_id = json.loads(out.stdout.strip().splitlines()[-1])["run_dir"].rstrip("/").rsplit("/", 1)[-1]

    open_page(page, app_url, "train", f"run={run_id}")
    _click(page, "Open in Inside")
    expect(page.get_by_role("heading", name="Inside a trained network")).to_be_visible()
    assert f"run={run_id}" in page.url
    expect(page.get_by_text("32 filters of 3x3 over 1 input channel")).to_be_visible()

    open_page(page, app_url, "train", f"run={run_id}")
    _click(page, "Fine-tune this")
    expect(page.get_by_role("heading", name="Transfer learning")).to_be_visible()
    assert "weights=run" in page.url and f"run={run_id}" in page.url
    expect(page.get_by_role("radio", name="fine-tuning", exact=False).first).to_be_checked()
