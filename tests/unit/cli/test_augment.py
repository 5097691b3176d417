"""``python -m playground augment PIPELINE IMAGE --n N --seed S --out DIR``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from playground.augment import preview as ap
from playground.augment.pipelines import load_pipeline, to_json
from playground.cli import main
from playground.common.images import load_image

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def photo_file(tmp_path) -> Path:
    rng = np.random.default_rng(0)
    path = tmp_path / "cat.jpg"
    Image.fromarray((rng.random((120, 160, 3)) * 255).astype(np.uint8)).save(path, quality=90)
    return path


def test_writes_n_pngs_into_a_new_folder_and_prints_their_paths(photo_file, tmp_path, capsys):
    out = tmp_path / "deep" / "new" / "dir"
    assert main(["augment", "cifar", str(photo_file), "--n", "3", "--seed", "5", "--out", str(out)]) == 0
    printed = capsys.readouterr().out.split()
    assert printed == [str(out / f"cat_{i:03d}.png") for i in range(3)]
    assert all(Image.open(p).size == (32, 32) for p in printed)


def test_files_are_the_preview_grid(photo_file, tmp_path, capsys):
    assert main(["augment", "article-train", str(photo_file), "--n", "2", "--seed", "9", "--out", str(tmp_path)]) == 0
    spec = load_pipeline("article-train")
    image = ap.image_tensor(load_image(photo_file.read_bytes(), "cat.jpg").image)
    grid = ap.preview_grid(spec, image, n=2, seed=9)
    for i, path in enumerate(capsys.readouterr().out.split()):
        saved = np.asarray(Image.open(path))
        assert np.array_equal(saved, ap.display_array(grid[i], ap.last_normalize(spec)))  # denormalised to view


def test_pipeline_as_json_text_or_file(photo_file, tmp_path, capsys):
    spec_file = tmp_path / "mine.json"
    spec_file.write_text(to_json({"steps": [{"name": "CenterCrop", "params": {"size": [40, 60]}}, "ToTensor"]}))
    assert main(["augment", str(spec_file), str(photo_file), "--n", "1", "--out", str(tmp_path / "a")]) == 0
    text = '[{"name": "RandomCrop", "params": {"size": 24}}]'
    assert main(["augment", text, str(photo_file), "--n", "1", "--out", str(tmp_path / "b")]) == 0
    first, second = capsys.readouterr().out.split()
    assert Image.open(first).size == (60, 40) and Image.open(second).size == (24, 24)


@pytest.mark.parametrize(
    "args,says",
    [
        (["nope", "{img}"], "'nope' is neither a pipeline preset"),
        (
            ['{"steps": [{"name": "Normalize"}]}', "{img}"],
            "Step 1 (Normalize): it comes before the image is a float tensor",
        ),
        (
            ['[{"name": "RandomCrop", "params": {"size": 500}}]', "{img}"],
            "a 500x500 crop is larger than the 160x120 image",
        ),
        (["cifar", "{empty}"], "empty.png is empty (0 bytes)"),
        (["cifar", "{pdf}"], "paper.jpg is not an image this app can read"),
        (["cifar", "{missing}"], "does not exist or is not a file"),
        (["cifar", "{img}", "--n", "0"], "--n must be between 1 and 1000"),
    ],
)
def test_bad_input_is_one_line_on_stderr_and_exit_2(args, says, photo_file, tmp_path, capsys):
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "paper.jpg").write_bytes(b"%PDF-1.5\n%\xb5\xb5\n1 0 obj\n<< >>\nendobj\n")
    paths = {
        "img": photo_file,
        "empty": tmp_path / "empty.png",
        "pdf": tmp_path / "paper.jpg",
        "missing": tmp_path / "x.png",
    }
    argv = (
        ["augment"] + [str(paths[a[1:-1]]) if a[1:-1] in paths else a for a in args] + ["--out", str(tmp_path / "out")]
    )
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and says in err
    assert not (tmp_path / "out").exists()  # nothing written for bad input


def test_real_entry_point(photo_file, tmp_path):
    ok = subprocess.run(
        [
            sys.executable,
            "-m",
            "playground",
            "augment",
            "cifar",
            str(photo_file),
            "--n",
            "2",
            "--out",
            str(tmp_path / "o"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0 and len(ok.stdout.split()) == 2, ok.stderr
    bad = subprocess.run(
        [sys.executable, "-m", "playground", "augment", "cifar", str(tmp_path / "nothing.png")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr


def test_default_size_limit_is_the_studios_and_help_stays_light():
    from playground.augment.preview import PREVIEW_MAX_SIDE
    from playground.cli import build_parser

    args = build_parser().parse_args(["augment", "cifar", "x.png"])
    assert args.max_side == PREVIEW_MAX_SIDE and args.n == 16 and args.seed == 0 and args.out == "augmented"
    light = subprocess.run(
        [sys.executable, "-c", "import sys, playground.cli.augment; print('torch' in sys.modules)"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert light.stdout.strip() == "False"
