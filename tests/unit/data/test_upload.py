"""Your own images: folders and zips in ImageFolder layout, and hostile zips refused or defused."""

from __future__ import annotations

import io
import os
import stat
import zipfile

import pytest
from PIL import Image

import playground.data.upload as up
from playground.data.base import DataError
from playground.data.datasets import load_dataset


def png(colour=(200, 30, 30), size=(40, 30), mode="RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, colour if mode == "RGB" else colour[0]).save(buf, "PNG")
    return buf.getvalue()


def make_zip(path, entries: dict[str, bytes], links: dict[str, str] | None = None):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
    return path


def class_entries(prefix="", n=4, classes=("cats", "dogs")):
    colours = [(220, 40, 40), (40, 40, 220), (40, 200, 40)]
    return {f"{prefix}{c}/{i}.png": png(colours[k]) for k, c in enumerate(classes) for i in range(n)}


def test_a_zip_of_class_folders_becomes_a_split_dataset(tmp_path):
    entries = class_entries("holiday/")  # a wrapper folder, as "compress folder" makes
    entries.update(
        {
            "holiday/cats/notes.txt": b"hello",
            "holiday/readme.md": b"x",
            "__MACOSX/._x.png": b"junk",
            "holiday/dogs/broken.png": b"\x89PNG not really",
        }
    )
    ds = load_dataset(str(make_zip(tmp_path / "pets.zip", entries)), image_size=16, seed=0)
    assert ds.name == "images" and ds.class_names == ["cats", "dogs"]
    assert ds.train_x.shape[1:] == (3, 16, 16) and len(ds.train_y) + len(ds.val_y) == 8
    assert ds.class_counts("val") == [1, 1]
    notes = " ".join(ds.notes)
    assert "Skipped 2 files that are not images" in notes
    assert "Skipped 1 hidden or system files" in notes
    assert "Skipped 1 files that could not be decoded" in notes
    # Pixels survive: cats are red.
    cat = ds.train_x[ds.train_y == 0][0]
    assert cat[0].float().mean() > 200 and cat[2].float().mean() < 60


def test_a_folder_works_too_and_greyscale_images_give_one_channel(tmp_path):
    for c, grey in (("zeros", 10), ("ones", 240)):
        (tmp_path / c).mkdir()
        for i in range(3):
            (tmp_path / c / f"{i}.png").write_bytes(png((grey,), mode="L"))
    ds = load_dataset("images", path=str(tmp_path))
    assert ds.in_channels == 1 and ds.image_size == (32, 32) and ds.class_names == ["ones", "zeros"]


def test_folder_links_are_skipped_never_followed(tmp_path):
    outside = tmp_path / "secret.png"
    outside.write_bytes(png())
    root = tmp_path / "data"
    for c in ("a", "b"):
        (root / c).mkdir(parents=True)
        for i in range(2):
            (root / c / f"{i}.png").write_bytes(png())
    os.symlink(outside, root / "a" / "link.png")
    os.symlink(tmp_path, root / "b" / "loop")
    ds = load_dataset("images", path=str(root))
    assert len(ds.train_y) + len(ds.val_y) == 4
    assert any("links (never followed)" in n and "Skipped 2" in n for n in ds.notes)


@pytest.mark.parametrize("evil", ["../evil.png", "cats/../../evil.png", "/etc/evil.png", "C:/evil.png", "..\\evil.png"])
def test_path_traversal_refuses_the_whole_zip(tmp_path, evil):
    entries = class_entries()
    entries[evil] = png()
    with pytest.raises(DataError, match="path traversal"):
        load_dataset(str(make_zip(tmp_path / "evil.zip", entries)))
    assert not (tmp_path.parent / "evil.png").exists()


def test_symlinks_inside_a_zip_are_skipped_and_counted(tmp_path):
    path = make_zip(tmp_path / "links.zip", class_entries(), links={"cats/passwd.png": "/etc/passwd"})
    ds = load_dataset(str(path))
    assert len(ds.train_y) + len(ds.val_y) == 8
    assert any("Skipped 1 links" in n for n in ds.notes)


def test_zip_bombs_and_oversized_zips_are_refused(tmp_path, monkeypatch):
    entries = class_entries()
    entries["cats/bomb.png"] = b"\0" * (4 * 2**20)  # 4 MiB of zeros deflate ~1000:1
    with pytest.raises(DataError, match="zip bomb"):
        load_dataset(str(make_zip(tmp_path / "bomb.zip", entries)))
    monkeypatch.setattr(up, "MAX_TOTAL_BYTES", 100)
    with pytest.raises(DataError, match="unpacks to"):
        load_dataset(str(make_zip(tmp_path / "big.zip", class_entries())))
    monkeypatch.setattr(up, "MAX_FILES", 5)
    with pytest.raises(DataError, match="over the limit of 5"):
        load_dataset(str(make_zip(tmp_path / "many.zip", class_entries())))


def test_too_few_classes_or_images_are_explained(tmp_path):
    with pytest.raises(DataError, match="only one class .'cats'.*at least 2 class folders"):
        load_dataset(str(make_zip(tmp_path / "one.zip", class_entries(classes=("cats",)))))
    entries = class_entries(n=3)
    entries = {k: v for k, v in entries.items() if not k.startswith("dogs/") or k == "dogs/0.png"}
    with pytest.raises(DataError, match="'dogs' has only 1 image"):
        load_dataset(str(make_zip(tmp_path / "few.zip", entries)))
    with pytest.raises(DataError, match="no usable images.*one folder per class"):
        load_dataset(str(make_zip(tmp_path / "none.zip", {"a.txt": b"x", "loose.png": png()})))
    bad = tmp_path / "fake.zip"
    bad.write_bytes(b"not a zip at all")
    with pytest.raises(DataError, match="not a readable zip"):
        load_dataset(str(bad))


def test_uploads_are_stored_by_content(tmp_path):
    data = make_zip(tmp_path / "p.zip", class_entries()).read_bytes()
    first = up.save_upload(data, tmp_path / "uploads")
    assert first == up.save_upload(data, tmp_path / "uploads") and first.read_bytes() == data
    with pytest.raises(DataError, match="not a zip"):
        up.save_upload(b"hello", tmp_path / "uploads", "x.zip")


def test_every_image_is_loaded_through_the_safe_decoder(tmp_path, monkeypatch):
    calls = []
    real = up.load_image

    def spy(data, name="upload", max_side=None):
        calls.append(name)
        return real(data, name=name, max_side=max_side)

    monkeypatch.setattr(up, "load_image", spy)
    load_dataset(str(make_zip(tmp_path / "p.zip", class_entries())))
    assert sorted(calls) == sorted(class_entries())
