"""`python -m playground lr-find`: the sweep of a train setup, as a table or one JSON object."""

from __future__ import annotations

import json

from playground.cli import main


def test_lr_find_prints_the_sweep_and_a_suggestion_or_json(capsys, tmp_path):
    argv = ["lr-find", "--dataset", "digits", "--device", "cpu", "--batch-size", "64", "--steps", "30"]
    assert main([*argv, "--plot", str(tmp_path / "lr.html")]) == 0
    out = capsys.readouterr().out
    html = (tmp_path / "lr.html").read_text()
    assert "learning rate" in html and "smoothed loss" in html and "suggested" in html
    assert "Suggested learning rate:" in out and "Train with --lr" in out
    assert main([*argv, "--json"]) == 0
    found = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert len(found["lrs"]) == 30 and found["lrs"] == sorted(found["lrs"])
    assert found["lrs"][0] == 1e-7 and abs(found["lrs"][-1] - 10.0) < 1e-9
    assert f"{found['suggestion']:.2e}" in out  # the table's suggestion is the JSON's: the same seeded sweep


def test_a_bad_sweep_is_one_line_and_exit_status_2(capsys):
    assert main(["lr-find", "--dataset", "digits", "--device", "cpu", "--steps", "3"]) == 2
    err = capsys.readouterr().err
    assert "A sweep takes 5 to 500 steps" in err and err.count("\n") == 1
