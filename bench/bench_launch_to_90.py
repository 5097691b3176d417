"""Time from clicking Launch in the browser to 90% validation accuracy on the page.

    python bench/bench_launch_to_90.py [--dataset shapes] [--epochs 5] [--runs 1]

Starts the real app (``streamlit run app.py``) with a temporary run store, opens the Training
page in headless Chromium with the default preset (SimpleCNN on shapes; only the dataset and
epochs can be changed through the link), clicks Launch and watches the live view the way a person
does: the "Validation accuracy" figure the page shows after every epoch. Reports, in seconds
after the click:

- the run's folder created, its first event (the process started, the data loaded, the model
  built), its first epoch, and the epoch that reached 90% -- from the run's own events;
- when the page showed 90% (what a person sees: includes the page's 1-second polling);
- the final accuracy and the training throughput;
- what watching costs: CPU time of the app server (the page's 1-second fragment: new events, status,
  figure) and of headless Chromium (drawing it) per second of training, as a share of one core.
  The server's share is what a run loses on the machine that trains; the browser normally runs on
  the viewer's own machine, here on the same two cores.

``--pairs N`` then launches N more pairs of the same run, one watched by the page and one launched
from the page that is then left (the browser goes to the home page, so nothing polls), the order
alternating from pair to pair, and compares their steady training throughput (the epochs after
the first, as the run reports it): the ratio watched / not watched per pair and its median
(target >= 0.95x). The browser runs on the same two cores, so this is the pessimistic case.

    python bench/bench_launch_to_90.py --runs 0 --pairs 3     # the watched / unwatched ratio only
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playground.runs import store as runs  # noqa: E402

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(store: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {**os.environ, "PLAYGROUND_RUNS_DIR": str(store), "OMP_WAIT_POLICY": "PASSIVE"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.headless",
            "true",
            "--server.port",
            str(port),
            "--browser.gatherUsageStats",
            "false",
            "--server.fileWatcherType",
            "none",
            "--server.address",
            "127.0.0.1",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read().decode().strip() == "ok":
                    return proc, url
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("the app did not start")


def _ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime
    except (OSError, IndexError, ValueError):
        return 0


def _descendants(root: int) -> list[int]:
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    found, frontier = [], [root]
    while frontier:
        p = frontier.pop()
        kids = [c for c, pp in parents.items() if pp == p]
        found += kids
        frontier += kids
    return found


def cpu_seconds(pids: list[int]) -> float:
    """CPU time (user + system) of these processes so far."""
    return sum(_ticks(p) for p in pids) / os.sysconf("SC_CLK_TCK")


def settle(pg) -> None:
    pg.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=120_000)
    pg.wait_for_timeout(300)
    pg.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=120_000)


def one_run(browser, url: str, store: Path, query: str, timeout: float, server_pid: int, watch: bool = True) -> dict:
    pg = browser.new_page(viewport={"width": 1400, "height": 1000})
    pg.goto(url)
    settle(pg)
    pg.goto(f"{url}/train?{query}")
    settle(pg)  # the page is ready: data overview loaded, Launch enabled
    before = {p.name for p in store.iterdir()} if store.is_dir() else set()
    button = pg.get_by_role("button", name="Launch run")
    browser_pids = [p for p in _descendants(os.getpid()) if "chrom" in _cmdline(p)]
    cpu0 = (cpu_seconds([server_pid]), cpu_seconds(browser_pids))
    t_click = time.time()
    button.click()
    if not watch:
        pg.get_by_text("Waiting for the first steps").or_(pg.get_by_text(re.compile(r"^Epoch "))).first.wait_for()
        pg.goto(url)  # leave: nothing watches this run any more
    metric = (
        pg.locator("[data-testid='stMetric']").filter(has_text="Best so far").locator("[data-testid='stMetricValue']")
    )
    seen_90, last = None, None
    while watch and time.time() - t_click < timeout:
        try:
            text = metric.first.inner_text(timeout=200) if metric.count() else ""
        except Exception:  # noqa: BLE001 - the element is being replaced by a rerun
            text = ""
        m = re.match(r"([\d.]+)%", text)
        if m:
            last = float(m.group(1))
            if last >= 90 and seen_90 is None:
                seen_90 = time.time() - t_click
                break
        if pg.get_by_text(re.compile(r"^(Completed|Stopped|Training failed)")).count():
            break
        time.sleep(0.1)
    run = next(p for p in store.iterdir() if p.name not in before and (p / "config.json").is_file())
    runs.wait(run, timeout=timeout)
    t_end = time.time()
    cpu1 = (cpu_seconds([server_pid]), cpu_seconds(browser_pids))
    events, _ = runs.read_events(run)
    created = float(json.loads((run / "status.json").read_text())["created"])
    start = next(e for e in events if e["type"] == "start")
    t0 = start["wall"] - start["time"]  # wall clock of the trainer's t = 0
    epochs = [e for e in events if e["type"] == "epoch"]
    hit = next((e for e in epochs if e["val_accuracy"] >= 0.9), None)
    status = runs.read_status(run)
    pg.close()
    return {
        "run": run.name,
        "folder_created": created - t_click,
        "first_event": t0 + start["time"] - t_click,
        "first_epoch": (t0 + epochs[0]["time"] - t_click) if epochs else None,
        "run_reached_90": (t0 + hit["time"] - t_click) if hit else None,
        "epoch_90": hit["epoch"] if hit else None,
        "page_showed_90": seen_90,
        "final_accuracy": epochs[-1]["val_accuracy"] if epochs else None,
        "images_per_second": status.get("images_per_second_steady") or _steady(epochs),
        "status": status.get("status"),
        "curve": [(e["epoch"], round(e["val_accuracy"], 4), round(t0 + e["time"] - t_click, 1)) for e in epochs],
        "server_cpu": (cpu1[0] - cpu0[0]) / (t_end - t_click),
        "browser_cpu": (cpu1[1] - cpu0[1]) / (t_end - t_click),
    }


def _steady(epochs: list[dict]) -> float | None:
    """Images per second over the epochs after the first (for a run store without the steady figure)."""
    later = epochs[1:] or epochs
    seconds = sum(e["epoch_seconds"] for e in later)
    return sum(e["images_per_second"] * e["epoch_seconds"] for e in later) / seconds if seconds else None


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="shapes")
    parser.add_argument("--epochs", type=int, default=0, help="0: the preset's")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--pairs", type=int, default=0, help="then N watched/unwatched pairs, compared")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    query = "&".join(
        f"{k}={v}"
        for k, v in (("dataset", args.dataset), ("epochs", args.epochs))
        if v and not (k == "dataset" and v == "shapes")
    )
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(
        f"# bench_launch_to_90: {os.cpu_count()} CPUs, load average {load}; Training page with the default preset"
        + (f" + {query}" if query else "")
    )
    with tempfile.TemporaryDirectory() as d:
        store = Path(d) / "runs"
        proc, url = start_app(store)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=os.environ.get("PLAYGROUND_CHROMIUM", "/usr/bin/chromium"),
                    headless=True,
                    args=CHROMIUM_ARGS,
                )
                for i in range(args.runs):
                    r = one_run(browser, url, store, query, args.timeout, proc.pid)
                    fmt = lambda v: "-" if v is None else f"{v:.1f} s"  # noqa: E731
                    print(
                        f"run {i + 1} ({r['run']}): click -> folder {fmt(r['folder_created'])}, first event "
                        f"{fmt(r['first_event'])}, first epoch {fmt(r['first_epoch'])}, 90% in the run "
                        f"{fmt(r['run_reached_90'])} (epoch {r['epoch_90']}), 90% on the page "
                        f"{fmt(r['page_showed_90'])}; final {r['final_accuracy']:.1%}, "
                        f"{r['images_per_second'] or 0:,.0f} img/s, {r['status']}"
                    )
                    print(
                        "  curve (epoch, val accuracy, seconds after the click): "
                        + ", ".join(f"({e}, {a:.1%}, {t})" for e, a, t in r["curve"])
                    )
                    print(
                        f"  while the page watched: app server {r['server_cpu']:.1%} of one core, headless "
                        f"Chromium {r['browser_cpu']:.1%} of one core"
                    )
                ips: dict[bool, list[float]] = {True: [], False: []}
                for i in range(args.pairs):
                    for watch in (False, True) if i % 2 else (True, False):
                        r = one_run(browser, url, store, query, args.timeout, proc.pid, watch=watch)
                        ips[watch].append(r["images_per_second"] or 0)
                        print(
                            f"pair {i + 1}, {'watched' if watch else 'not watched'}: {ips[watch][-1]:,.0f} img/s, "
                            f"server {r['server_cpu']:.1%}, Chromium {r['browser_cpu']:.1%} of one core",
                            flush=True,
                        )
                if args.pairs:
                    ratios = [w / u for w, u in zip(ips[True], ips[False]) if u]
                    print(
                        f"watched / not watched steady throughput: median {statistics.median(ratios):.2f}x "
                        f"(per pair: {', '.join(f'{r:.2f}' for r in ratios)}; medians {statistics.median(ips[True]):,.0f} "
                        f"vs {statistics.median(ips[False]):,.0f} img/s; target >= 0.95x; browser on the same 2 cores)"
                    )
                browser.close()
        finally:
            proc.terminate()
            proc.wait(timeout=20)


if __name__ == "__main__":
    main()
