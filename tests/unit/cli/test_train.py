"""The CLI contract: `python -m playground train ... --json` and `python -m playground runs`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from playground.cli import main

ROOT = Path(__file__).resolve().parents[3]
KEYS = {"run_dir", "status", "epochs", "final_train_loss", "final_val_loss", "final_val_accuracy", "images_per_second"}


def cli(*args, env=None, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", "playground", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def test_train_prints_progress_then_one_json_object_last(tmp_path):
    proc = cli(
        "train",
        "--model",
        "simplecnn",
        "--dataset",
        "digits",
        "--epochs",
        "2",
        "--batch-size",
        "64",
        "--lr",
        "0.05",
        "--optimizer",
        "sgd",
        "--device",
        "cpu",
        "--seed",
        "1",
        "--runs-dir",
        str(tmp_path),
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert any(line.startswith("epoch   1") for line in lines) and any(line.startswith("epoch   2") for line in lines)
    summary = json.loads(lines[-1])
    assert KEYS <= set(summary)
    assert summary["status"] == "completed" and summary["epochs"] == 2
    assert 0.5 < summary["final_val_accuracy"] <= 1.0  # a fraction, not a percentage
    assert summary["images_per_second"] > 0 and summary["final_train_loss"] > 0
    run = Path(summary["run_dir"])
    assert run.parent == tmp_path and (run / "weights.pt").is_file()
    # images_per_second is the steady rate (epoch 2: epoch 1 carries the warm-up); the mean has its own name.
    epochs = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]
    epochs = [e for e in epochs if e["type"] == "epoch"]
    assert summary["images_per_second"] == pytest.approx(epochs[1]["images_per_second"], rel=2e-3)
    seen = sum(e["images_per_second"] * e["epoch_seconds"] for e in epochs)
    mean = seen / sum(e["epoch_seconds"] for e in epochs)
    assert summary["images_per_second_mean"] == pytest.approx(mean, rel=1e-2)
    config = json.loads((run / "config.json").read_text())
    assert (config["epochs"], config["batch_size"], config["lr"], config["seed"]) == (2, 64, 0.05, 1)

    listed = cli("runs", "--runs-dir", str(tmp_path))
    assert listed.returncode == 0 and run.name in listed.stdout and "completed" in listed.stdout


@pytest.mark.parametrize(
    "args, says",
    [
        (["--model", "no-such-net"], "Unknown model 'no-such-net'"),
        (["--dataset", "imagenet"], "Unknown dataset 'imagenet'"),
        (["--optimizer", "rmsprop"], "invalid choice: 'rmsprop'"),
        (["--epochs", "0"], "Epochs must be between 1 and"),
        (["--epochs", "ten"], "invalid int value: 'ten'"),
        (["--lr", "-0.1"], "learning rate must be a positive number"),
        (["--batch-size", "0"], "batch size must be between"),
        (["--augment", "mystery"], "'mystery'"),
        (["--device", "tpu"], "invalid choice: 'tpu'"),
        (["--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_a_bad_argument_is_one_line_on_stderr_and_exit_status_2(tmp_path, capsys, args, says):
    try:
        code = main(["train", *args, "--runs-dir", str(tmp_path)])
    except SystemExit as exc:  # argparse's own errors (choices, types) exit from inside the parser
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    assert says in err and len(err.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())  # nothing was created for a bad command


def test_bad_arguments_through_the_real_entry_point(tmp_path):
    proc = cli("train", "--optimizer", "rmsprop", "--runs-dir", str(tmp_path))
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and proc.stdout == ""
    proc = cli("train", "--model", "nope", "--runs-dir", str(tmp_path))
    assert proc.returncode == 2 and proc.stderr.strip().startswith("error: Unknown model 'nope'. Choose one of:")


def test_a_diverging_run_exits_1_with_the_reason_in_the_json(tmp_path, capsys):
    code = main(
        [
            "train",
            "--dataset",
            "digits",
            "--epochs",
            "2",
            "--lr",
            "100000",
            "--device",
            "cpu",
            "--runs-dir",
            str(tmp_path),
            "--json",
        ]
    )
    out = capsys.readouterr().out.strip().splitlines()
    summary = json.loads(out[-1])
    assert code == 1 and summary["status"] == "diverged" and "learning rate" in summary["reason"]


def test_a_folder_of_images_is_a_dataset_argument(tmp_path, capsys):
    from PIL import Image

    for c, colour in (("red", (220, 20, 20)), ("blue", (20, 20, 220))):
        (tmp_path / "imgs" / c).mkdir(parents=True)
        for i in range(6):
            Image.new("RGB", (20, 20), colour).save(tmp_path / "imgs" / c / f"{i}.png")
    code = main(
        [
            "train",
            "--dataset",
            str(tmp_path / "imgs"),
            "--epochs",
            "1",
            "--device",
            "cpu",
            "--runs-dir",
            str(tmp_path / "runs"),
            "--json",
        ]
    )
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0 and summary["status"] == "completed"
    config = json.loads((Path(summary["run_dir"]) / "config.json").read_text())
    assert config["dataset"] == "images" and config["data_path"] == str((tmp_path / "imgs").resolve())


def test_runs_lists_as_json_and_says_when_empty(tmp_path, capsys):
    assert main(["runs", "--runs-dir", str(tmp_path)]) == 0
    assert "No runs yet" in capsys.readouterr().out
    assert main(["runs", "--runs-dir", str(tmp_path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["runs", "--runs-dir", str(tmp_path), "--stop", "nope"]) == 2
    assert "There is no run 'nope'" in capsys.readouterr().err


def test_model_and_pipelines_from_json_files_are_kept_in_the_run_folder(tmp_path, capsys):
    from playground.augment.spec import make_step
    from playground.models.zoo import model_spec

    (tmp_path / "half.json").write_text(json.dumps(model_spec("simplecnn", width=0.5)))  # as the Architecture Lab saves
    crop = {"steps": [make_step("RandomCrop", size=8, padding=1), make_step("ToTensor")]}  # as the Studio saves
    (tmp_path / "crop.json").write_text(json.dumps(crop))
    code = main(
        [
            "train",
            "--model",
            str(tmp_path / "half.json"),
            "--augment",
            str(tmp_path / "crop.json"),
            "--dataset",
            "digits",
            "--epochs",
            "1",
            "--lr",
            "0.05",
            "--device",
            "cpu",
            "--runs-dir",
            str(tmp_path / "runs"),
            "--json",
        ]
    )
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0 and summary["status"] == "completed"
    config = json.loads((Path(summary["run_dir"]) / "config.json").read_text())
    assert config["model"]["layers"][0]["layers"][0]["out_channels"] == 16  # the spec itself, not a path to it
    assert [s["name"] for s in config["augment"]["steps"]] == ["RandomCrop", "ToTensor"]


def test_a_transfer_setup_file_trains_and_bad_files_are_one_line(tmp_path, capsys):
    setup = {
        "kind": "transfer",
        "backbone": "resnet18",
        "weights": "random",
        "head": [{"type": "linear", "out": "classes"}],
    }
    (tmp_path / "transfer.json").write_text(json.dumps(setup))
    code = main(
        [
            "train",
            "--model",
            str(tmp_path / "transfer.json"),
            "--dataset",
            "digits",
            "--dataset-size",
            "300",
            "--epochs",
            "1",
            "--device",
            "cpu",
            "--runs-dir",
            str(tmp_path / "runs"),
            "--json",
        ]
    )
    out = capsys.readouterr().out.strip().splitlines()
    assert code == 0 and json.loads(out[-1])["status"] == "completed"
    assert any("parameters" in line and "Training on cpu" in line for line in out)
    (tmp_path / "broken.json").write_text("{not json")
    for model in (str(tmp_path / "broken.json"), str(tmp_path / "missing.json")):
        assert main(["train", "--model", model, "--runs-dir", str(tmp_path / "bad")]) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and err.startswith("error: ")
    assert not (tmp_path / "bad").exists()
