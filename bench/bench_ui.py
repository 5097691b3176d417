"""One user in a real browser: how fast every page opens and answers a widget change, against a baseline commit.

    python bench/bench_ui.py [--baseline REF] [--rounds 3] [--pages conv,architecture,...] [--json FILE]

Starts two servers side by side (this checkout and ``--baseline``, default the main before the
speed work, unpacked with ``git archive``), each with its own run store, and drives headless
Chromium against both, interleaved round by round so a busy machine slows both alike. For each:

- cold start: a freshly started server, a new browser: seconds to the home page's first heading
  painted (the issue's "first paint"), and to every element drawn (no grey skeleton left);
- reload: the home page reloaded, seconds until no skeleton is left;
- visit: the home page in a new tab (a new browser context: the frontend's scripts load again);
- open: each page opened from the sidebar, as a user moves between pages, seconds until settled with
  no skeleton left; link: the same page loaded from a shared link (its query string) in that tab;
- change: per page, realistic widget changes (number inputs, selects, checkboxes), each timed from
  the input event to the app back at ``notRunning`` (see ``uibench.timed``): median and p95;
- launch: Launch on the Training page to the first live point (a step or epoch on the page).

Targets (issue 11): change median < 150 ms and p95 < 500 ms on every page; open < 1 s; cold
first paint < 4 s; launch to first live point < 5 s. The last column says whether the candidate
meets its target; the ratio is baseline / candidate (above 1: faster than the baseline).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import uibench as ub  # noqa: E402

# The main before issue 11's work: what the speed-ups are measured against.
BASELINE_REF = "fa77260"

# page -> (link query, [actions]); each action alternates between two values, so rounds repeat.
SCENARIOS: dict[str, tuple[str, list]] = {
    "conv": (
        "height=32&width=32",
        [
            ub.number("conv_l0_stride_h", 1, 2),
            ub.number("conv_l0_out_channels", 16, 8),
            ub.click("conv_l0_bias"),
            ub.number("conv_window_height", 7, 9),
            ub.tab("On an image"),
            ub.number("conv_kernel_seed", 0, 1),
            ub.number("conv_max_shift", 8, 6),
        ],
    ),
    "architecture": (
        "preset=vgg11",
        [
            ub.select("architecture_preset", "SimpleCNN", "LeNet"),
            ub.number("architecture_height", 32, 40),
            ub.number("architecture_channels", 3, 1),
        ],
    ),
    "augment": (
        "seed=3",
        [
            ub.number("augment_seed", 0, 1),
            ub.click("augment_s0_on"),
            ub.select("augment_n", "8", "16"),
        ],
    ),
    "train": (
        "epochs=3",
        [
            ub.select("train_dataset", "shapes", "digits"),
            ub.number("train_dataset_size", 2000, 3000),
            ub.tab("Training"),
            ub.number("train_epochs", 5, 6),
            ub.number("train_lr", 0.001, 0.002),
        ],
    ),
    "transfer": (
        "epochs=2",
        [
            ub.number("transfer_epochs", 3, 4),
            ub.radio("transfer_mode", "Feature extraction", "Fine-tuning"),
            ub.number("transfer_num_classes", 10, 12),
        ],
    ),
    "gradients": (
        "depth=12",
        [
            ub.click("gradients_batch_norm"),
            ub.number("gradients_seed", 0, 1),
        ],
    ),
    "inside": (
        "source=zoo",
        [
            ub.radio("inside_source", "zoo model", "trained in this app"),
        ],
    ),
}

VERBOSE = False
TARGETS = {"change_median": 0.150, "change_p95": 0.500, "open": 1.0, "paint": 4.0, "launch": 5.0}


def cold(server: ub.Server, pw) -> dict:
    """A freshly started server and browser: first paint and fully drawn, then a reload."""
    server.start()
    b = ub.launch_browser(pw)
    try:
        pg = b.new_page(viewport={"width": 1400, "height": 1000})
        first = ub.open_timed(pg, server.url)
        t = time.perf_counter()
        pg.reload(wait_until="commit")
        pg.wait_for_selector(ub.SETTLED, timeout=120_000)
        ub.wait_no_skeleton(pg, 120_000)
        reload = time.perf_counter() - t
        return {"paint": first["paint"], "drawn": first["open"], "reload": reload}
    finally:
        b.close()
        server.stop()


def page_round(browser, server: ub.Server, pages: list[str], out: dict) -> None:
    """One visitor: the home page in a new tab, then each page through the sidebar, its edits, then its link."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = ctx.new_page()
    try:
        out.setdefault("home.visit", []).append(ub.open_timed(pg, server.url)["open"])
        for name in pages:
            query, actions = SCENARIOS[name]
            try:
                took = ub.navigate_timed(pg, name)
            except Exception as exc:  # the page did not come up within the timeout: counted, and on to the next
                out.setdefault(f"{name}.timeouts", []).append(f"open: {type(exc).__name__}")
                print(f"  {server.name:9s} {name:12s} {'open (sidebar)':34s} FAILED {type(exc).__name__}", flush=True)
                pg.goto(server.url)
                pg.wait_for_selector(ub.SETTLED, timeout=120_000)
                continue
            out.setdefault(f"{name}.open", []).append(took)
            if VERBOSE:
                print(f"  {server.name:9s} {name:12s} {'open (sidebar)':34s} {took:6.3f} s", flush=True)
            for act in actions:
                if not hasattr(act, "label"):
                    act(pg)  # a tab switch: not a rerun
                    continue
                try:
                    took = ub.timed(pg, lambda: act(pg))
                    out.setdefault(f"{name}.change", []).append(took)
                    if VERBOSE:
                        print(f"  {server.name:9s} {name:12s} {act.label:34s} {took:6.3f} s", flush=True)
                except Exception as exc:  # a widget that did not answer within the timeout
                    out.setdefault(f"{name}.timeouts", []).append(f"{act.label}: {type(exc).__name__}")
                    print(f"  {server.name:9s} {name:12s} {act.label:34s} FAILED {type(exc).__name__}", flush=True)
            try:
                took = ub.open_timed(pg, f"{server.url}/{name}?{query}")["open"]  # a shared link, in a warm tab
            except Exception as exc:
                out.setdefault(f"{name}.timeouts", []).append(f"link: {type(exc).__name__}")
                continue
            out.setdefault(f"{name}.link", []).append(took)
            if VERBOSE:
                print(f"  {server.name:9s} {name:12s} {'link (new load)':34s} {took:6.3f} s", flush=True)
    finally:
        ctx.close()


def launch(browser, server: ub.Server) -> float:
    """Launch the default run; seconds from the click to the page showing its first step or epoch."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = ctx.new_page()
    try:
        ub.open_timed(pg, f"{server.url}/train?epochs=1&dataset_size=2000")
        button = pg.get_by_role("button", name="Launch run")
        before = pg.url
        t = time.perf_counter()
        button.click()
        # The new run's own view: the address names the new run (an earlier run's chart must not count).
        pg.wait_for_function("u => location.href !== u && location.href.includes('run=')", arg=before, timeout=120_000)
        pg.wait_for_selector(ub.SETTLED, timeout=120_000)
        # The live chart appears with the run's first step events (ui/train/live.py draws it then).
        pg.locator(".st-key-train_live_chart").first.wait_for(state="visible", timeout=120_000)
        took = time.perf_counter() - t
        stop = pg.get_by_role("button", name="Stop")
        if stop.count():
            stop.first.click()
        return took
    finally:
        ctx.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline", default=BASELINE_REF, help="commit to compare against (default: %(default)s)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--cold-rounds", type=int, default=2)
    ap.add_argument("--pages", default=",".join(SCENARIOS))
    ap.add_argument("--no-launch", action="store_true")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--candidate", type=Path, default=ub.ROOT, help="tree to measure (default: this checkout)")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every measurement as it is taken")
    args = ap.parse_args()
    global VERBOSE
    VERBOSE = args.verbose
    pages = [p for p in args.pages.split(",") if p]

    from playwright.sync_api import sync_playwright

    trees = {"baseline": ub.unpack(args.baseline), "candidate": args.candidate}
    results: dict[str, dict[str, list]] = {name: {} for name in trees}
    with sync_playwright() as pw:
        for r in range(args.cold_rounds):
            for name in sorted(trees, reverse=bool(r % 2)):
                c = cold(ub.Server(trees[name], name), pw)
                for k, v in c.items():
                    results[name].setdefault(f"cold.{k}", []).append(v)
                print(f"cold {name}: {c}", flush=True)
        servers = {name: ub.Server(tree, name).start() for name, tree in trees.items()}
        browser = ub.launch_browser(pw)
        try:
            for name, s in servers.items():  # warm each server once: imports, caches
                warm = browser.new_page()
                for p in pages:
                    ub.open_timed(warm, f"{s.url}/{p}")
                warm.close()
            for r in range(args.rounds):
                for name in sorted(servers, reverse=bool(r % 2)):
                    page_round(browser, servers[name], pages, results[name])
                    if not args.no_launch:
                        try:
                            results[name].setdefault("train.launch", []).append(launch(browser, servers[name]))
                        except Exception as exc:  # no live point within the timeout
                            results[name].setdefault("train.timeouts", []).append(f"launch: {type(exc).__name__}")
                print(f"round {r + 1}/{args.rounds} done", flush=True)
        finally:
            browser.close()
            for s in servers.values():
                s.stop()
    report(results, args.baseline)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


def report(results: dict, baseline: str) -> None:
    base, cand = results["baseline"], results["candidate"]
    print(f"\nbaseline = {baseline} (same machine, same run, interleaved); seconds; ratio = baseline/candidate")
    print(f"{'figure':28s} {'baseline':>17s} {'candidate':>17s} {'ratio':>7s}  target")
    for k in sorted(set(base) | set(cand)):
        if k.endswith(".timeouts"):
            print(f"{k:28s} {len(base.get(k, [])):>17d} {len(cand.get(k, [])):>17d}  {cand.get(k, '')}")
            continue
        bm, bp = ub.summary(base.get(k, []))
        cm, cp = ub.summary(cand.get(k, []))
        kind = k.split(".")[-1]
        if kind == "change":
            ok = cm < TARGETS["change_median"] and cp < TARGETS["change_p95"]
            goal = "med<0.15 p95<0.5"
        else:
            lim = TARGETS.get(kind)
            ok, goal = (cm < lim, f"<{lim:g}") if lim else (None, "")
        flag = "" if ok is None else ("met" if ok else "MISSED")
        print(
            f"{k:28s} {bm:8.3f} p95 {bp:5.2f} {cm:8.3f} p95 {cp:5.2f} {bm / cm if cm else float('nan'):6.2f}x  {goal} {flag}"
        )


if __name__ == "__main__":
    main()
