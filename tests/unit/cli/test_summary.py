"""``python -m playground summary``: the readable table, the JSON object, one-line errors with exit status 2."""

from __future__ import annotations

import json

import pytest

from playground import cli
from playground.models.summary import summarize
from playground.models.vocab import save_spec
from playground.models.zoo import model_spec


@pytest.fixture
def run(capsys):
    """Call the real ``main`` in-process; returns (exit status, stdout, stderr)."""

    def _run(*argv: str):
        try:
            status = cli.main(list(argv))
        except SystemExit as exc:  # argparse errors
            status = exc.code
        out = capsys.readouterr()
        return status, out.out, out.err

    return _run


def test_summary_is_a_registered_command():
    assert "playground.cli.summary" in cli.COMMAND_MODULES


def test_json_output_has_the_issues_keys_and_our_numbers(run):
    status, out, err = run("summary", "resnet50", "--json")
    assert status == 0 and err == ""
    data = json.loads(out)
    assert {"output_shape", "total_params", "trainable_params", "total_macs", "layers"} <= set(data)
    assert data["output_shape"] == [1, 1000] and data["total_params"] == 25_557_032
    assert data["total_macs"] == 4_089_184_256
    row = data["layers"][0]
    assert set(row) == {"name", "type", "output_shape", "params", "macs", "receptive_field", "jump"}
    assert row == {
        "name": "conv1",
        "type": "Conv2d",
        "output_shape": [1, 64, 112, 112],
        "params": 9408,
        "macs": 118_013_952,
        "receptive_field": [7, 7],
        "jump": [2, 2],
    }
    assert data["layers"][-1]["receptive_field"] is None  # after the flatten every output sees the whole image


def test_input_and_num_classes_options(run):
    status, out, _ = run("summary", "lenet5", "--input", "1x28x28", "--num-classes", "5", "--json")
    data = json.loads(out)
    expected = summarize("lenet5", (1, 28, 28), num_classes=5)
    assert status == 0 and data["output_shape"] == [1, 5] and data["total_params"] == expected.total_params


def test_readable_table(run):
    status, out, _ = run("summary", "simplecnn")
    assert status == 0
    assert "features.0" in out and "Conv2d" in out and "[1, 32, 32, 32]" in out
    assert "Parameters:       94,986 (trainable 94,986, frozen 0)" in out
    assert "FLOPs = 2 x MACs" in out


def test_a_json_spec_file_is_a_model_too(run, tmp_path):
    path = tmp_path / "net.json"
    save_spec(model_spec("resnet20"), path)
    status, out, _ = run("summary", str(path), "--json")
    assert status == 0 and json.loads(out)["total_params"] == 269_722


@pytest.mark.parametrize(
    "argv, words",
    [
        (["summary", "resnet51"], "error: Unknown model 'resnet51'. Choose one of: simplecnn"),
        (
            ["summary", "alexnet", "--input", "3x32x32"],
            "error: Layer features.12 (MaxPool2d): a 3 window does not fit the 1x1 input",
        ),
        (["summary", "resnet18", "--input", "3x224"], "--input wants CxHxW"),
        (["summary", "missing.json"], "error: No spec file at 'missing.json'"),
    ],
)
def test_bad_input_is_one_line_on_stderr_and_exit_2(run, argv, words):
    status, out, err = run(*argv)
    assert status == 2 and out == ""
    assert words in err and err.count("\n") == 1


def test_a_broken_spec_file_is_explained(run, tmp_path):
    spec = model_spec("simplecnn")
    spec["layers"][2]["in_features"] = 64
    path = tmp_path / "broken.json"
    save_spec(spec, path)
    status, _, err = run("summary", str(path))
    assert status == 2
    assert err == (
        "error: Layer classifier (Linear) expects 64 inputs, it gets 128: set in_features=128, "
        "or change the layers before it so they produce 64.\n"
    )
