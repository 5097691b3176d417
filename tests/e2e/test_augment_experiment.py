"""The augmentation experiment in a real browser: one click launches the pair, All runs overlays them live and
says how much of the overfitting gap the pipeline closed."""

import re

import pytest

from tests.e2e.conftest import ARTIFACTS, open_page

pytestmark = pytest.mark.e2e


def test_one_click_trains_with_and_without_the_pipeline_and_shows_the_gap(page, app_url):
    # 300 shapes keep the two runs short (12 epochs each); the page's default is 1,000.
    open_page(page, app_url, "train", "dataset=shapes&dataset_size=300&augment=cifar")
    page.get_by_role("tab", name="Augmentation").click()
    page.get_by_role("button", name="Does it help? Launch with and without this pipeline").click()
    page.get_by_text("Two runs launched").wait_for(timeout=30_000)
    # Both runs ended (the second queued behind the first): the overlay, the gap table and the sentence.
    sentence = page.get_by_text(re.compile(r"Without augmentation: validation [\d.]+%.*epoch 12\)\. With cifar"))
    sentence.wait_for(timeout=240_000)
    page.wait_for_function(
        """() => [...document.querySelectorAll("[data-testid='stDataFrame']")].some(t => {
            const cells = [...t.querySelectorAll('td,th')].map(c => c.textContent);
            return cells.includes('with cifar') && cells.includes('without augmentation');
        })""",
        timeout=60_000,
    )
    text = sentence.inner_text()
    without, with_aug = (float(g) for g in re.findall(r"a gap of ([\d.]+) points", text))
    assert without > 0  # 12 epochs on 240 training images: it learns them by heart
    traces = page.evaluate(
        """() => [...document.querySelectorAll('.js-plotly-plot')].flatMap(p => (p.data || []).map(t => t.name))"""
    )
    assert {"with cifar (train)", "without augmentation (train)"} <= set(traces)
    chart = page.locator("[data-testid='stPlotlyChart']").filter(has_text="train dashed")
    chart.scroll_into_view_if_needed()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "augment_experiment.png"), full_page=True)
