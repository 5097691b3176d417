"""Exported code: run with the same seed, it reproduces the studio's preview grid exactly."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from playground.augment import preview as ap
from playground.augment.codegen import call_source, pipeline_source, step_source
from playground.augment.pipelines import PIPELINES, load_pipeline
from playground.augment.spec import make_step
from playground.augment.transforms import TRANSFORMS
from playground.common.images import load_image
from tests.unit.augment.test_pipelines import _pipeline_around, photo


def run_source(src: str) -> dict:
    """Execute generated code as a module would run (not as __main__) and return its namespace."""
    ns: dict = {"__name__": "exported"}
    exec(compile(src, "augment_pipeline.py", "exec"), ns)
    return ns


@pytest.mark.parametrize("preset", PIPELINES.names())
def test_exported_preset_reproduces_the_preview_grid(preset):
    spec, img = load_pipeline(preset), photo(260, 240)
    grid = ap.preview_grid(spec, img, n=4, seed=42)
    ns = run_source(pipeline_source(spec, n=4, seed=42))
    exported = ns["augmented_samples"](img)  # the defaults baked into the file: n=4, seed=42
    assert len(exported) == 4
    assert all(torch.equal(a, b) for a, b in zip(grid, exported))


@pytest.mark.parametrize("name", TRANSFORMS.names())
def test_every_transform_exports_to_code_that_reproduces_it(name):
    spec, img = _pipeline_around(name), photo()
    grid = ap.preview_grid(spec, img, n=3, seed=7)
    ns = run_source(pipeline_source(spec, n=3, seed=7, num_classes=2))
    assert all(torch.equal(a, b) for a, b in zip(grid, ns["augmented_samples"](img, 3, 7)))
    if TRANSFORMS.get(name).batch_level:
        imgs = [photo(seed=i) for i in range(4)]
        ours = ap.mix_batch(spec, imgs, [0, 1, 0, 1], 2, seed=7)
        theirs = ns["mix_batch"](imgs, [0, 1, 0, 1], seed=7)
        assert torch.equal(ours[0], theirs[0]) and torch.equal(ours[1], theirs[1])


def test_non_default_parameters_of_every_kind_survive_the_export():
    spec = {
        "steps": [
            make_step("RandomCrop", size=[40, 30], padding=3, padding_mode="reflect"),
            make_step(
                "RandomAffine", degrees=10, translate=[0.2, 0.05], scale=[0.8, 1.2], shear=5.0, interpolation="bilinear"
            ),
            make_step("ColorJitter", brightness=0.5, contrast=0.0, saturation=0.3, hue=0.0),
            make_step("RandomRotation", degrees=30, enabled=False),
            make_step("AutoAugment", policy="svhn"),
            make_step("GaussianBlur", kernel_size=5, sigma=[0.5, 1.5]),
            make_step("ToTensor"),
            make_step("Normalize", mean=[0.5], std=[0.25]),
            make_step("RandomErasing", p=0.9, scale=[0.1, 0.2], value=0.5),
        ]
    }
    img = photo()
    src = pipeline_source(spec, n=5, seed=3)
    assert "v2.RandomCrop((40, 30), padding=3, padding_mode='reflect')" in src
    assert "v2.ColorJitter(brightness=0.5, saturation=0.3)" in src  # zero means off, as torchvision treats it
    assert "# v2.RandomRotation(degrees=30),  (switched off in the studio)" in src
    assert "policy=v2.AutoAugmentPolicy.SVHN" in src
    assert "v2.ToImage(),  # ToTensor" in src and "v2.ToDtype(torch.float32, scale=True)," in src
    ns = run_source(src)
    grid = ap.preview_grid(spec, img, n=5, seed=3)
    assert all(torch.equal(a, b) for a, b in zip(grid, ns["augmented_samples"](img)))


def test_defaults_are_left_out_so_code_reads_like_the_article():
    spec = load_pipeline("article-train")
    calls = [c for s in spec["steps"] for c in call_source(s)]
    assert calls == [
        "v2.RandomResizedCrop(224, scale=(0.8, 1.0))",
        "v2.RandomHorizontalFlip()",
        "v2.RandomRotation(degrees=15)",
        "v2.ColorJitter(brightness=0.2, contrast=0.2, saturation=0.2, hue=0.1)",
        "v2.RandomAffine(degrees=0, translate=(0.1, 0.1))",
        "v2.ToImage()",
        "v2.ToDtype(torch.float32, scale=True)",
        "v2.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])",
        "v2.RandomErasing(p=0.1)",
    ]
    assert step_source(spec["steps"][0]) == "RandomResizedCrop(224, scale=(0.8, 1.0))"


def _encode(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def _wide(mode: str, big: bool = False) -> Image.Image:
    """A 16-bit, 32-bit or float image whose values fill a narrow band far from 0..255 (clipping shows)."""
    rng = np.random.default_rng(1)
    shape = (1300, 2100) if big else (300, 500)
    values = {"I;16": (1200, 5200), "I": (-70_000, 90_000), "F": (-0.25, 0.75)}[mode]
    arr = rng.uniform(*values, shape)
    dtype = {"I;16": np.uint16, "I": np.int32, "F": np.float32}[mode]
    return Image.fromarray(arr.astype(dtype), mode if mode != "I;16" else None)


@pytest.mark.parametrize(
    "kind",
    [
        "png",
        "big-jpeg",
        "rgba",
        "exif",
        "palette",
        "gray",
        "gray-alpha",
        "1-bit",
        "cmyk",
        "rgb-tiff",
        "16-bit-png",
        "16-bit-tiff-big",
        "32-bit-int-tiff",
        "float-tiff",
    ],
)
def test_exported_loader_decodes_like_the_studio(tmp_path, kind):
    # Every mode the studio accepts: the export must give the same pixels, 16-bit and float included.
    base = Image.fromarray((np.random.default_rng(0).random((300, 500, 3)) * 255).astype(np.uint8))
    exif = Image.Exif()
    exif[0x0112] = 6
    data = {
        "png": lambda: _encode(base, "PNG"),
        "big-jpeg": lambda: _encode(base.resize((2600, 1560)), "JPEG", quality=85),
        "rgba": lambda: _encode(base.convert("RGBA"), "PNG"),
        "exif": lambda: _encode(base, "JPEG", exif=exif),
        "palette": lambda: _encode(base.quantize(16), "PNG", transparency=3),
        "gray": lambda: _encode(base.convert("L"), "PNG"),
        "gray-alpha": lambda: _encode(base.convert("LA"), "PNG"),
        "1-bit": lambda: _encode(base.convert("1"), "PNG"),
        "cmyk": lambda: _encode(base.convert("CMYK"), "JPEG"),
        "rgb-tiff": lambda: _encode(base, "TIFF"),
        "16-bit-png": lambda: _encode(_wide("I;16"), "PNG"),
        "16-bit-tiff-big": lambda: _encode(_wide("I;16", big=True), "TIFF"),
        "32-bit-int-tiff": lambda: _encode(_wide("I"), "TIFF"),
        "float-tiff": lambda: _encode(_wide("F"), "TIFF"),
    }[kind]()
    path = tmp_path / f"photo.{kind}"
    path.write_bytes(data)
    ns = run_source(pipeline_source("article-val", max_side=1024))
    ours = ap.image_tensor(load_image(data, "photo", max_side=1024).image)
    theirs = ns["load_image"](str(path))
    assert theirs.shape == ours.shape and torch.equal(theirs, ours)
    assert ours.float().std() > 20  # a picture, not a white (or black) page


def test_exported_script_runs_standalone_and_writes_the_grid(tmp_path):
    src = pipeline_source("cifar", n=3, seed=9, max_side=48)
    (tmp_path / "augment_pipeline.py").write_text(src)
    Image.fromarray((np.random.default_rng(1).random((60, 90, 3)) * 255).astype(np.uint8)).save(tmp_path / "p.png")
    done = subprocess.run(
        [sys.executable, "augment_pipeline.py", "p.png", "out"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    written = done.stdout.split()
    assert len(written) == 3 and all((tmp_path / w).is_file() for w in written)
    assert Image.open(tmp_path / written[0]).size == (32, 32)
