"""The three Labs pages in a real browser: transfer-learning counts that follow the toggles, the
plain-vs-residual study at depth 32, and a look inside a run trained by the CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from playwright.sync_api import expect

from playground.labs.transfer import IMAGENET_EXPERIMENT
from tests.e2e.conftest import ROOT, open_page, wait_for_app

pytestmark = pytest.mark.e2e
# Offline the page defaults to the bundled backbone (tests/e2e/test_transfer_bundled.py); these are the article's.
IMAGENET_SETUP = "&".join(f"{k}={v}" for k, v in IMAGENET_EXPERIMENT.items())
RUN_SETUP = "&".join(f"{k}={v}" for k, v in IMAGENET_EXPERIMENT.items() if k not in ("backbone", "weights"))


def _metric(page, label: str):
    return page.locator("[data-testid='stMetric']").filter(has_text=label).locator("[data-testid='stMetricValue']")


def test_transfer_page_shows_the_article_line_and_counts_follow_a_stage_toggle(page, app_url):
    open_page(page, app_url, "transfer", IMAGENET_SETUP)
    expect(page.get_by_role("heading", name="Transfer learning")).to_be_visible()
    article = page.locator("[data-testid='stCode']").filter(has_text="Trainable: 525,829 / 24,033,861 parameters")
    expect(article).to_be_visible()
    expect(_metric(page, "Frozen")).to_have_text("23,508,032")
    # Offline: the ImageNet weights are missing, and the page says so and offers the alternatives.
    expect(page.get_by_text("cannot be downloaded (this machine is offline)")).to_be_visible()
    expect(page.get_by_role("button", name="Use random initialisation")).to_be_visible()

    page.get_by_text("layer4 · 14,964,736 parameters").click()
    wait_for_app(page)
    expect(_metric(page, "Trainable")).to_have_text("15,490,565")
    toggled = page.locator("[data-testid='stCode']").filter(has_text="Trainable: 15,490,565 / 24,033,861 parameters")
    expect(toggled).to_be_visible()
    assert "stage_overrides" in page.url
    page.get_by_text("layer4 · 14,964,736 parameters").click()
    wait_for_app(page)
    expect(article).to_be_visible()
    page.set_viewport_size({"width": 1400, "height": 2800})


def test_gradient_page_trains_depth_32_and_shows_the_vanishing_gradient(page, app_url):
    open_page(page, app_url, "gradients")
    expect(page.get_by_role("heading", name="Skip connections and vanishing gradients")).to_be_visible()
    page.get_by_role("button", name="Train both networks").click()
    wait_for_app(page, timeout=120_000)
    plain = _metric(page, "Plain: first / last gradient")
    residual = _metric(page, "Residual: first / last gradient")
    expect(plain).to_be_visible(timeout=120_000)
    # The measured difference: the plain net's first layer gets a vanishing share, the residual net's a healthy one.
    assert float(plain.inner_text()) < 1e-6
    assert float(residual.inner_text()) > 1e-2
    charts = page.locator("[data-testid='stPlotlyChart']")
    expect(charts).to_have_count(2)
    expect(page.get_by_text("Training loss (same data, same initial weights)")).to_be_visible()
    expect(page.get_by_text("Residual network (F(x) + x)").first).to_be_visible()
    page.set_viewport_size({"width": 1400, "height": 2000})


def test_inside_page_shows_filters_maps_and_grad_cam_for_a_cli_run(page, app_url, app_env):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "playground",
            "train",
            "--dataset",
            "digits",
            "--epochs",
            "1",
            "--runs-dir",
            app_env["PLAYGROUND_RUNS_DIR"],
            "--json",
        ],
        cwd=ROOT,
        env=app_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    run_id = json.loads(out.stdout.strip().splitlines()[-1])["run_dir"].rstrip("/").rsplit("/", 1)[-1]

    open_page(page, app_url, "inside", f"run={run_id}")
    expect(page.get_by_role("heading", name="Inside a trained network")).to_be_visible()
    images = page.locator("[data-testid='stImage']")
    expect(page.get_by_text("What the model sees: validation image #1")).to_be_visible()
    expect(page.get_by_text("Grad-CAM for the prediction:")).to_be_visible()
    expect(page.get_by_text("32 filters of 3x3 over 1 input channel")).to_be_visible()
    expect(page.get_by_text("features.0: 32 channels of 8x8")).to_be_visible()
    assert images.count() >= 5
    for i in range(images.count()):  # every picture really drew
        assert images.nth(i).locator("img").evaluate("img => img.complete && img.naturalWidth > 0")

    # Another layer with the slider's keyboard: deeper, coarser maps.
    slider = page.locator("[data-testid='stSlider']").filter(has_text="Layer").get_by_role("slider")
    slider.focus()
    page.keyboard.press("End")
    wait_for_app(page)
    expect(page.get_by_text("features.8: 128 channels of 2x2")).to_be_visible()
    page.set_viewport_size({"width": 1400, "height": 2800})
    page.locator("[data-testid='stMain']").evaluate("el => el.scrollTo(0, 0)")


def test_transfer_page_launches_fine_tuning_and_from_scratch_and_overlays_their_curves(page, app_url, app_env):
    # The backbone: a SimpleCNN the CLI trains on generated shapes (offline there are no ImageNet weights).
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "playground",
            "train",
            "--dataset",
            "shapes",
            "--dataset-size",
            "600",
            "--epochs",
            "1",
            "--runs-dir",
            app_env["PLAYGROUND_RUNS_DIR"],
            "--json",
        ],
        cwd=ROOT,
        env=app_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    run_id = json.loads(out.stdout.strip().splitlines()[-1])["run_dir"].rstrip("/").rsplit("/", 1)[-1]

    open_page(page, app_url, "transfer", f"{RUN_SETUP}&weights=run&run={run_id}&dataset_size=400&epochs=2")
    expect(page.get_by_text("block3 · 74,112 parameters")).to_be_visible()
    page.get_by_role("button", name="Launch both runs").click()
    wait_for_app(page)
    expect(page.locator("[data-testid='stAlert']").filter(has_text="Launched ")).to_be_visible()
    # Live: both runs' status lines, then both finished, with their curves overlaid.
    status = page.locator("[data-testid='stMarkdownContainer']").filter(has_text="completed")
    expect(status).to_have_count(2, timeout=180_000)
    chart = page.locator("[data-testid='stPlotlyChart']").last
    expect(chart).to_contain_text("feature extraction")
    expect(chart).to_contain_text("from scratch")
    page.set_viewport_size({"width": 1400, "height": 3000})
    page.locator("[data-testid='stMain']").evaluate("el => el.scrollTo(0, 0)")
