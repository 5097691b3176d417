"""The skip-connection page through AppTest: settings, training with progress, cached results, the charts."""

from __future__ import annotations

import json
import time

PAGE = "pages/gradients.py"


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def charts(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def test_opens_explained_and_untrained_then_trains_both_networks(app_page):
    at = app_page(PAGE, query={"depth": "14", "steps": "20", "record_steps": "[0,19]"})
    assert not at.exception
    assert at.title[0].value == "Skip connections and vanishing gradients"
    assert "depth 14" in at.info[0].value and not charts(at)
    text = " ".join(m.value for m in at.markdown)
    assert "F(x) + x" in text and "F'(x) + 1" in text and "vanishing gradient" in text
    at.button(key="gradients_train").click().run()
    assert not at.exception
    m = metrics(at)
    assert set(m) == {
        "Plain: first / last gradient",
        "Residual: first / last gradient",
        "Plain: loss, last 5 steps",
        "Residual: loss, last 5 steps",
    }
    assert float(m["Plain: first / last gradient"]) < float(m["Residual: first / last gradient"])
    loss, norms = charts(at)
    assert [t["name"] for t in loss["data"] if t.get("showlegend") is not False] == [
        "Plain network (no skips)",
        "Residual network (F(x) + x)",
    ]
    assert len(loss["data"][0]["y"]) == 20
    assert norms["layout"]["yaxis"]["type"] == "log"
    steps = sorted({t["name"] for t in norms["data"]})
    assert steps == ["step 0", "step 19"] and len(norms["data"][0]["x"]) == 14  # one point per weight layer
    assert any("trained in" in c.value for c in at.caption)


def test_results_are_cached_per_setup_and_the_link_holds_it(app_page):
    at = app_page(PAGE, query={"depth": "8", "steps": "10", "record_steps": "[0,9]", "lr": "0.1"})
    at.button(key="gradients_train").click().run()
    first = metrics(at)
    t0 = time.perf_counter()
    at.run()
    assert time.perf_counter() - t0 < 3 and metrics(at) == first  # a rerun shows the cached study
    assert {k: at.query_params[k] for k in ("depth", "steps", "lr")} == {"depth": "8", "steps": "10", "lr": "0.1"}
    at.toggle(key="gradients_batch_norm").set_value(True).run()
    assert not charts(at) and "Press **Train both networks**" in at.info[0].value  # another setup: train again
    at.button(key="gradients_train").click().run()
    assert not at.exception and len(charts(at)) == 2 and metrics(at) != first
    assert at.query_params["batch_norm"] == "1"


def test_fewer_steps_drop_recorded_steps_outside_the_run(app_page):
    at = app_page(PAGE)
    assert at.multiselect(key="gradients_record_steps").value == [0, 30, 59]
    at.select_slider(key="gradients_steps").set_value(20).run()
    assert not at.exception
    assert at.multiselect(key="gradients_record_steps").value == [0, 19]


def test_a_hostile_link_is_pulled_back_with_sentences(app_page):
    at = app_page(
        PAGE, query={"depth": "30", "steps": "7", "lr": "99", "record_steps": '[0,500,"x"]', "dataset": "imagenet"}
    )
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert "depth = 30" in warnings and "dataset = 'imagenet'" in warnings and "lr = 99.0" in warnings
    assert at.select_slider(key="gradients_depth").value == 32 and at.select_slider(key="gradients_steps").value == 10
    assert at.radio(key="gradients_dataset").value == "digits" and at.multiselect(
        key="gradients_record_steps"
    ).value == [0]


def test_a_gradient_that_underflows_to_zero_is_explained(app_page, monkeypatch):
    # As at depth 56 without batch norm: the plain net's first layers get a gradient below float32's range.
    from playground.labs.gradients import GradFlowResult
    from ui.gradients import views as gradient_views

    def fake_study(cfg, images, labels, num_classes, on_step=None):
        names = [f"layer{i}" for i in range(cfg.depth)]
        plain = [0.0, 0.0] + [10.0 ** (i - cfg.depth) for i in range(2, cfg.depth)]
        return GradFlowResult(
            names,
            {"plain": [2.3] * cfg.steps, "residual": [1.0] * cfg.steps},
            {"plain": {0: plain}, "residual": {0: [0.5] * cfg.depth}},
        )

    monkeypatch.setattr(gradient_views, "run_study", fake_study)
    at = app_page(PAGE, query={"depth": "8", "steps": "10", "record_steps": "[0]", "seed": "7"})
    at.button(key="gradients_train").click().run()
    assert not at.exception
    assert any("layers 1 to 2 received a gradient of exactly 0" in c.value for c in at.caption)
    norms = [json.loads(c.proto.spec) for c in at.get("plotly_chart")][1]
    assert norms["data"][0]["y"][:3] == [None, None, 1e-06]


def _fake_study(ratio: float):
    """A study whose plain network's first / last gradient ratio is ``ratio`` (the residual's is 1)."""
    from playground.labs.gradients import GradFlowResult

    def fake(cfg, images, labels, num_classes, on_step=None):
        names = [f"layer{i}" for i in range(cfg.depth)]
        plain = [ratio] + [1.0] * (cfg.depth - 1)
        return GradFlowResult(
            names,
            {"plain": [2.3] * cfg.steps, "residual": [1.0] * cfg.steps},
            {"plain": {0: plain}, "residual": {0: [1.0] * cfg.depth}},
        )

    return fake


def test_the_explanation_follows_what_the_chart_shows(app_page, monkeypatch):
    # With batch norm on, a first / last ratio of 1.58 is neither vanishing nor exploding: the text must say so.
    from ui.gradients import views as gradient_views

    for seed, (ratio, shown, absent) in enumerate(
        [
            (1.58, "neither vanishes nor explodes", ("This is the *vanishing gradient*", "*exploding gradient*")),
            (2e-7, "This is the *vanishing gradient*", ("neither vanishes", "*exploding gradient*")),
            (40.0, "*exploding gradient*", ("neither vanishes", "This is the *vanishing gradient*")),
        ]
    ):
        monkeypatch.setattr(gradient_views, "run_study", _fake_study(ratio))
        at = app_page(
            PAGE, query={"depth": "8", "steps": "10", "record_steps": "[0]", "batch_norm": "1", "seed": str(20 + seed)}
        )
        at.button(key="gradients_train").click().run()
        assert not at.exception
        text = " ".join(m.value for m in at.markdown)
        assert shown in text, ratio
        assert not any(a in text for a in absent), ratio
        assert metrics(at)["Plain: first / last gradient"] in text  # the sentence quotes the chart's number
