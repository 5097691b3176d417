"""Datasets: bundled digits, generated shapes, splits, resizing, previews and limits."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from playground.data.base import DataError
from playground.data.datasets import DATASETS, DIGITS_CSV, load_dataset, split_indices
from playground.data.shapes import SHAPE_CLASSES, generate_shapes


def test_registry_lists_every_dataset_and_rejects_unknown_names():
    assert DATASETS.names() == ["shapes", "digits", "cifar10", "mnist", "fashion-mnist", "images"]
    with pytest.raises(ValueError, match="Choose one of: shapes, digits"):
        load_dataset("imagenet")


def test_digits_are_the_bundled_csv_scaled_to_grey_levels():
    ds = load_dataset("digits")
    assert ds.in_channels == 1 and ds.image_size == (8, 8) and ds.num_classes == 10
    assert len(ds.train_y) + len(ds.val_y) == 1797
    assert ds.train_x.dtype == torch.uint8 and ds.train_y.dtype == torch.int64
    # Every original image is in one of the splits, scaled 0..16 -> 0..255.
    with gzip.open(DIGITS_CSV, "rt") as f:
        first = np.array(f.readline().split(","), dtype=np.int64)
    expected = torch.from_numpy(np.round(first[:64] * 255 / 16)).to(torch.uint8).view(1, 8, 8)
    everything = torch.cat([ds.train_x, ds.val_x])
    assert (everything == expected).flatten(1).all(1).any()
    assert int(everything.max()) == 255 and int(everything.min()) == 0


def test_digits_can_be_upsampled_for_models_that_need_bigger_inputs():
    ds = load_dataset("digits", image_size=32)
    assert ds.image_size == (32, 32) and ds.train_x.dtype == torch.uint8
    assert any("Resized from 8x8 to 32x32" in n for n in ds.notes)


def test_shapes_are_seeded_balanced_and_any_size():
    x1, y1 = generate_shapes(250, seed=3)
    x2, y2 = generate_shapes(250, seed=3)
    x3, _ = generate_shapes(250, seed=4)
    assert x1.shape == (250, 3, 32, 32) and x1.dtype == torch.uint8
    assert torch.equal(x1, x2) and torch.equal(y1, y2)
    assert not torch.equal(x1, x3)
    assert torch.bincount(y1, minlength=10).tolist() == [25] * 10
    # Not blank: every image has texture and a shape (spread of pixel values).
    assert (x1.float().flatten(1).std(1) > 10).all()


def test_generated_shapes_are_made_once_and_read_back_identical(tmp_path, monkeypatch):
    """A run on the same (size, seed) reads the set the first one generated: same tensors, no generation."""
    from playground.data import shapes

    first = load_dataset("shapes", size=300, seed=5, root=tmp_path)
    files = list((tmp_path / "cache").glob("shapes-300-5-*.pt"))
    assert len(files) == 1
    monkeypatch.setattr(shapes, "generate_shapes", lambda *a, **k: pytest.fail("generated again"))
    again = load_dataset("shapes", size=300, seed=5, root=tmp_path)
    assert torch.equal(first.train_x, again.train_x) and torch.equal(first.val_y, again.val_y)
    x, y = generate_shapes(300, seed=5)  # the independent reference: the generator itself
    assert torch.equal(torch.cat([first.train_x, first.val_x]).sort(0).values, x.sort(0).values)
    monkeypatch.undo()
    files[0].write_bytes(b"not a tensor file")  # a damaged cache is regenerated, not an error
    assert torch.equal(load_dataset("shapes", size=300, seed=5, root=tmp_path).train_x, first.train_x)


def test_shapes_are_not_solvable_from_colour_or_position_by_a_linear_model():
    """A linear model on the pixels stays near chance: the class is in the shape, not in any pixel."""
    ds = load_dataset("shapes", size=3000, seed=1)
    mean, std = ds.channel_stats()

    def norm(x):
        return ((x.float() / 255 - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)).flatten(1)

    xt, xv = norm(ds.train_x), norm(ds.val_x)
    torch.manual_seed(0)
    linear = torch.nn.Linear(xt.shape[1], 10)
    opt = torch.optim.Adam(linear.parameters(), lr=1e-3)
    for _ in range(15):
        for i in range(0, len(xt), 128):
            opt.zero_grad()
            F.cross_entropy(linear(xt[i : i + 128]), ds.train_y[i : i + 128]).backward()
            opt.step()
    acc = (linear(xv).argmax(1) == ds.val_y).float().mean().item()
    assert acc < 0.3, f"a linear model reached {acc:.0%}: the shapes leak their class through pixels"


def test_split_is_stratified_seeded_and_disjoint():
    labels = torch.arange(100) % 4
    tr, va = split_indices(labels, 0.25, seed=0)
    tr2, va2 = split_indices(labels, 0.25, seed=0)
    assert torch.equal(tr, tr2) and torch.equal(va, va2)
    assert set(tr.tolist()).isdisjoint(va.tolist()) and len(tr) + len(va) == 100
    assert torch.bincount(labels[va]).tolist() == [6, 6, 6, 6] or torch.bincount(labels[va]).tolist() == [7, 7, 7, 7]
    tr3, _ = split_indices(labels, 0.25, seed=1)
    assert not torch.equal(tr, tr3)
    # A class with two images still appears in both parts.
    tr4, va4 = split_indices(torch.tensor([0, 0, 1, 1, 1, 1]), 0.2, seed=0)
    assert 0 in torch.tensor([0, 0, 1, 1, 1, 1])[va4].tolist() and 0 in torch.tensor([0, 0, 1, 1, 1, 1])[tr4].tolist()


def test_preview_gives_a_few_samples_per_class_and_describe_is_json_ready():
    import json

    ds = load_dataset("shapes", size=200)
    preview = ds.preview(per_class=3)
    assert [name for name, _ in preview] == SHAPE_CLASSES
    assert all(imgs.shape == (3, 3, 32, 32) for _, imgs in preview)
    info = json.loads(json.dumps(ds.describe()))
    assert info["train_size"] == 160 and info["val_size"] == 40 and len(info["mean"]) == 3


def test_limits_keep_a_shared_server_usable(monkeypatch):
    monkeypatch.setenv("PLAYGROUND_MAX_TRAIN_IMAGES", "1000")
    with pytest.raises(DataError, match="limit"):
        load_dataset("shapes", size=5000)
    with pytest.raises(DataError, match="image size"):
        load_dataset("digits", image_size=4096)
    ds = load_dataset("digits")  # 1,437 training images capped to 1,000
    assert len(ds.train_y) == 1000 and any("limit" in n for n in ds.notes)
