"""The Training page in a real browser: launch a digits run, watch the curves grow, read the
confusion matrix; launch a long one, reload the page (it reattaches), and stop it."""

import re

import pytest

from tests.e2e.conftest import ARTIFACTS, open_page, wait_for_app

pytestmark = pytest.mark.e2e


def test_launch_to_live_curves_to_confusion_matrix(page, app_url):
    open_page(page, app_url)
    open_page(page, app_url, "train", "dataset=digits&epochs=6")
    assert page.get_by_role("heading", name="Training Runs").is_visible()
    page.get_by_text("1,438 training and 359 validation images").wait_for()
    page.get_by_role("button", name="Launch run").click()
    # Live: the progress line and the curves appear while it trains, without touching anything.
    page.get_by_text(re.compile(r"Epoch \d\.\d of 6 · step \d+ of \d+")).first.wait_for(timeout=60_000)
    page.locator("[data-testid='stPlotlyChart']").first.wait_for()
    assert "run=" in page.url
    # Done: the page switches to the results by itself.
    page.get_by_text(re.compile(r"Completed 6 epoch\(s\): \d+\.\d% validation accuracy")).wait_for(timeout=90_000)
    page.get_by_role("heading", name="Results").wait_for()
    page.get_by_text("Rows are the true class").wait_for()
    accuracy = page.locator("[data-testid='stMetric']").filter(has_text="Validation accuracy").last  # the results'
    assert float(accuracy.locator("[data-testid='stMetricValue']").inner_text().rstrip("%")) > 90
    # The confusion matrix, drawn, and the newest snapshot's under "Watch it learn" (the same epoch's).
    assert page.locator(".js-plotly-plot .heatmaplayer").count() == 2
    page.get_by_role("tab", name="Mistakes").click()
    page.get_by_text(re.compile(r"most confident of the \d+ mistakes|No mistakes")).wait_for()
    page.get_by_role("tab", name="Confusion matrix").click()


def test_reload_reattaches_and_stop_stops(page, app_url):
    open_page(page, app_url)
    open_page(page, app_url, "train", "dataset=digits&epochs=100&batch_size=32")
    page.get_by_role("button", name="Launch run").click()
    progress = page.get_by_text(re.compile(r"Epoch \d+\.\d of 100 · step \d+"))
    progress.first.wait_for(timeout=60_000)
    link = page.url
    run_id = re.search(r"run=([\w-]+)", link).group(1)
    # The "All runs" table follows the run live, with no rerun of the page: not "queued 0/100" beside epoch 1.x.
    page.wait_for_function(
        r"""id => [...document.querySelectorAll("[data-testid='stDataFrame']")].some(t => {
            const cells = [...t.querySelectorAll('td')].map(c => c.textContent);
            return cells.includes(id) && cells.includes('running') && cells.some(c => /^[1-9][0-9.]*\/100$/.test(c));
        })""",
        arg=run_id,
        timeout=60_000,
    )

    page.goto(link)  # a reload: a new session that knows only the link
    wait_for_app(page)
    page.get_by_role("heading", name=re.compile(run_id)).wait_for()
    first = progress.first.inner_text()
    page.wait_for_function("t => !document.body.innerText.includes(t)", arg=first, timeout=30_000)  # still moving

    stop = page.get_by_role("button", name="Stop", exact=True)
    stop.click()
    page.get_by_text(re.compile(r"Stopped on request during epoch \d+")).wait_for(timeout=60_000)
    page.get_by_role("heading", name="Results").wait_for()  # a stopped run keeps its last epoch's weights
    stop.wait_for(state="detached")  # the rerun that showed "Stopped" also removes the button


def test_two_app_processes_share_one_runs_folder(browser, app_env, tmp_path):
    # The deployment docs/deploy.md describes: several Streamlit processes behind a proxy, one runs folder.
    # A run launched from one process is listed, watched and stopped from the other, and the first sees it.
    from tests.e2e.conftest import serve_app

    env = {**app_env, "PLAYGROUND_RUNS_DIR": str(tmp_path / "shared-runs")}
    with serve_app(env, tmp_path / "a.log") as a, serve_app(env, tmp_path / "b.log") as b:
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        pa, pb = ctx.new_page(), ctx.new_page()
        try:
            open_page(pa, a, "train", "dataset=digits&epochs=100&batch_size=32")
            pa.get_by_role("button", name="Launch run").click()
            progress = r"Epoch \d+\.\d of 100 · step \d+"
            pa.get_by_text(re.compile(progress)).first.wait_for(timeout=60_000)
            run_id = re.search(r"run=([\w-]+)", pa.url).group(1)

            open_page(pb, b, "train")  # the other process: the newest run is listed and watched live
            pb.get_by_role("heading", name=re.compile(run_id)).wait_for()
            first = pb.get_by_text(re.compile(progress)).first.inner_text()
            pb.wait_for_function("t => !document.body.innerText.includes(t)", arg=first, timeout=30_000)
            pb.get_by_role("button", name="Stop", exact=True).click()
            # .first: the live "All runs" table says it too.
            pb.get_by_text(re.compile(r"Stopped on request during epoch \d+")).first.wait_for(timeout=60_000)

            pa.get_by_text(re.compile(r"Stopped on request during epoch \d+")).first.wait_for(timeout=30_000)
        finally:
            ctx.close()


def test_a_server_restart_mid_run_keeps_the_run_watchable_and_stoppable(browser, app_env, tmp_path):
    # Fault injection: the app server goes away while a run trains (a redeploy, a crash) and comes back.
    # The run is its own process: it keeps training, and the new server lists, watches and stops it.
    from tests.e2e.conftest import serve_app

    env = {**app_env, "PLAYGROUND_RUNS_DIR": str(tmp_path / "runs")}
    progress = re.compile(r"Epoch \d+\.\d of 100 · step \d+")
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        pg = ctx.new_page()
        with serve_app(env, tmp_path / "before.log") as url:
            open_page(pg, url, "train", "dataset=digits&epochs=100&batch_size=32")
            pg.get_by_role("button", name="Launch run").click()
            pg.get_by_text(progress).first.wait_for(timeout=60_000)
            run_id = re.search(r"run=([\w-]+)", pg.url).group(1)
        with serve_app(env, tmp_path / "after.log") as url:  # a new server process on the same runs folder
            open_page(pg, url, "train", f"run={run_id}")
            pg.get_by_role("heading", name=re.compile(run_id)).wait_for()
            first = pg.get_by_text(progress).first.inner_text()
            pg.wait_for_function("t => !document.body.innerText.includes(t)", arg=first, timeout=30_000)  # training on
            pg.get_by_role("button", name="Stop", exact=True).click()
            pg.get_by_text(re.compile(r"Stopped on request during epoch \d+")).first.wait_for(timeout=60_000)
    finally:
        ctx.close()


@pytest.mark.slow  # about 40 s: a 12-epoch run, then Play through its snapshots
def test_watch_it_learn_shows_the_newest_snapshot_live_then_a_slider_and_play(page, app_url):
    open_page(page, app_url)
    # 12 epochs: 3 could end between two polls of the live view (2 s), which then never showed a snapshot.
    open_page(page, app_url, "train", "dataset=digits&epochs=12&batch_size=32")
    page.get_by_role("button", name="Launch run").click()
    shown = page.get_by_text(re.compile(r"^Step \d+ · epoch [\d.]+: [\d.]+% of [\d,]+ validation images right$"))
    # Live: the newest snapshot, beside the curves, while it trains.
    page.get_by_text(re.compile(r"The newest of \d+ snapshots|The first snapshot;")).wait_for(timeout=60_000)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "watch_it_learn_live.png"))
    page.get_by_text(re.compile(r"Completed 12 epoch\(s\)")).wait_for(timeout=120_000)
    # Afterwards: the slider, on the newest; Home moves it to step 0 and the pictures follow.
    page.get_by_role("heading", name="Watch it learn").wait_for()
    last = shown.inner_text()
    assert not last.startswith("Step 0 ·")
    page.locator("[data-testid='stSlider']").filter(has_text="Snapshot").get_by_role("slider").focus()
    page.keyboard.press("Home")
    page.get_by_text(re.compile(r"^Step 0 · epoch 0: ")).wait_for()
    wait_for_app(page)
    assert page.locator(".js-plotly-plot .heatmaplayer").count() >= 1  # the snapshot's confusion matrix, drawn
    # Play runs through them in order and comes back to the slider, on the last one.
    page.get_by_role("button", name="Play").click()
    page.get_by_text(re.compile(r"Playing: step \d+ · epoch [\d.]+ \(2 of \d+\)")).wait_for(timeout=20_000)
    page.get_by_role("button", name="Play").wait_for(timeout=30_000)
    page.get_by_text(last, exact=True).wait_for()
    wait_for_app(page)
    maps = page.get_by_text(re.compile(r"^Feature maps of ")).last
    maps.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "watch_it_learn_filters_and_maps.png"))  # the lower half of the section
