"""``python -m playground conv``: the article's numbers from the shell, one-line errors."""

import json
import subprocess
import sys


def _run(*args):
    return subprocess.run(
        [sys.executable, "-m", "playground", "conv", *args], capture_output=True, text=True, timeout=120
    )


def test_article_stride_two_in_json():
    r = _run("--input", "4x3x32x32", "--layer", "conv:out=16,k=3,s=2,p=1", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["layers"][0]["output_shape"] == [4, 16, 16, 16]
    assert data["layers"][0]["params"] == 448


def test_readable_table_and_one_line_errors():
    r = _run("--input", "4x3x32x32", "--layer", "conv:out=16,k=3,s=1,p=1", "--layer", "pool:max,k=2")
    assert r.returncode == 0 and "[4, 16, 16, 16]" in r.stdout
    for args, words in [
        (("--input", "4x3x8x8", "--layer", "conv:out=4,k=3,g=2"), "does not divide the 3 input channels"),
        (
            (
                "--input",
                "4x3",
            ),
            "needs four numbers",
        ),
        (
            (
                "--layer",
                "dense:4",
            ),
            "must start with 'conv:' or 'pool:'",
        ),
        (
            (
                "--layer",
                "conv:q=1",
            ),
            "unknown conv option 'q'",
        ),
        (("--nonsense",), "unrecognized arguments"),
    ]:
        r = _run(*args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert words in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_negative_padding_crops_with_reflect_replicate_circular_as_pytorch_does():
    import torch

    for mode in ("reflect", "replicate", "circular"):
        r = _run("--input", "1x4x7x12", "--layer", f"conv:out=4,k=2x6,s=2,p=-1x1,mode={mode}", "--json")
        assert r.returncode == 0, r.stderr
        conv = torch.nn.Conv2d(4, 4, (2, 6), stride=2, padding=(-1, 1), padding_mode=mode)
        assert json.loads(r.stdout)["layers"][0]["output_shape"] == list(conv(torch.zeros(1, 4, 7, 12)).shape)
    r = _run("--input", "1x4x7x12", "--layer", "conv:out=4,k=2x6,s=2,p=-1x1")  # zeros: PyTorch refuses it too
    assert r.returncode == 2 and "cannot be negative with padding mode 'zeros'" in r.stderr
