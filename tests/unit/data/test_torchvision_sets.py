"""CIFAR-10, MNIST and Fashion-MNIST through torchvision's real loaders, on files the tests write
in the real on-disk formats (CIFAR python pickle batches, MNIST idx-ubyte, gzipped or not)."""

from __future__ import annotations

import gzip
import pickle
import struct

import numpy as np
import pytest
import torch

from playground.data.base import DataError
from playground.data.datasets import load_dataset
from playground.data.torchvision_sets import MNIST_FILES


def write_cifar(root, per_batch=6, test=8, seed=0):
    """Five training batches and a test batch as CIFAR's python version stores them."""
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    batches = {}
    for name, n in [(f"data_batch_{i}", per_batch) for i in range(1, 6)] + [("test_batch", test)]:
        data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)  # rows: 1024 red, 1024 green, 1024 blue
        labels = [int(v) for v in rng.integers(0, 10, n)]
        batches[name] = (data, labels)
        with open(folder / name, "wb") as f:
            pickle.dump(
                {"batch_label": name, "labels": labels, "data": data, "filenames": [f"{i}.png" for i in range(n)]}, f
            )
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": names, "num_cases_per_batch": per_batch, "num_vis": 3072}, f)
    return batches


def idx_bytes(array: np.ndarray) -> bytes:
    """The idx-ubyte format: magic (0, 0, 0x08 = ubyte, ndim), big-endian dims, raw bytes."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + b"".join(struct.pack(">I", d) for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_mnist(root, folder="MNIST", n_train=20, n_test=10, gz=True, seed=0):
    rng = np.random.default_rng(seed)
    raw = root / folder / "raw"
    raw.mkdir(parents=True)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28)),
        "train-labels-idx1-ubyte": np.arange(n_train) % 10,
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28)),
        "t10k-labels-idx1-ubyte": np.arange(n_test) % 10,
    }
    for name, arr in arrays.items():
        data = idx_bytes(arr)
        if gz:
            (raw / (name + ".gz")).write_bytes(gzip.compress(data))
        else:
            (raw / name).write_bytes(data)
    return arrays


def test_cifar10_pickle_batches_load_with_channels_in_the_right_order(tmp_path):
    batches = write_cifar(tmp_path)
    ds = load_dataset("cifar10", root=tmp_path, download=False)
    assert ds.class_names[:3] == ["airplane", "automobile", "bird"]
    assert ds.train_x.shape == (30, 3, 32, 32) and ds.val_x.shape == (8, 3, 32, 32)
    # The official test batch is the validation split, pixel for pixel: row = R plane, G plane, B plane.
    data, labels = batches["test_batch"]
    expected = torch.from_numpy(data.reshape(-1, 3, 32, 32))
    assert torch.equal(ds.val_x, expected) and ds.val_y.tolist() == labels


def test_mnist_idx_files_load_gzipped_or_not(tmp_path):
    arrays = write_mnist(tmp_path, gz=True)
    ds = load_dataset("mnist", root=tmp_path, download=False)
    assert ds.train_x.shape == (20, 1, 28, 28) and ds.class_names == [str(d) for d in range(10)]
    assert torch.equal(ds.train_x[:, 0], torch.from_numpy(arrays["train-images-idx3-ubyte"].astype(np.uint8)))
    assert ds.val_y.tolist() == list(range(10))
    plain = tmp_path / "plain"
    write_mnist(plain, gz=False, seed=1)
    assert load_dataset("mnist", root=plain, download=False).train_x.shape == (20, 1, 28, 28)


def test_fashion_mnist_reads_its_own_folder_and_class_names(tmp_path):
    write_mnist(tmp_path, folder="FashionMNIST")
    ds = load_dataset("fashion-mnist", root=tmp_path, download=False)
    assert ds.class_names[0] == "T-shirt/top" and ds.class_names[9] == "Ankle boot"


@pytest.mark.parametrize(
    "name, where", [("cifar10", "cifar-10-batches-py"), ("mnist", "MNIST/raw"), ("fashion-mnist", "FashionMNIST/raw")]
)
def test_offline_without_files_says_exactly_where_to_put_which_files(tmp_path, name, where):
    with pytest.raises(DataError) as err:
        load_dataset(name, root=tmp_path, download=False)
    message = str(err.value)
    assert str(tmp_path / where) in message
    assert ("data_batch_1" in message) if name == "cifar10" else ("train-images-idx3-ubyte" in message)


def test_a_failed_download_explains_how_to_use_the_dataset_offline(tmp_path, monkeypatch):
    import playground.data.torchvision_sets as tvmod

    def offline(name, root):
        raise RuntimeError("<urlopen error [Errno -2] Name or service not known>")

    monkeypatch.setattr(tvmod, "_download", offline)
    with pytest.raises(DataError, match="could not be downloaded.*offline.*MNIST/raw"):
        load_dataset("mnist", root=tmp_path, download=True)


def test_truncated_files_get_a_sentence_not_a_traceback(tmp_path):
    write_mnist(tmp_path, gz=False)
    path = tmp_path / "MNIST" / "raw" / MNIST_FILES[0]
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(DataError, match="could not be read"):
        load_dataset("mnist", root=tmp_path, download=False)


def test_big_official_sets_are_subsampled_to_the_size_asked(tmp_path):
    write_mnist(tmp_path, n_train=50, n_test=30)
    ds = load_dataset("mnist", root=tmp_path, download=False, size=20)
    assert len(ds.train_y) == 20 and any("subsample of 20" in n for n in ds.notes)


def test_the_cifar_layout_spelled_out_is_torchvisions():
    """The file names checked without importing torchvision are the ones torchvision's CIFAR10 reads."""
    from torchvision.datasets import CIFAR10

    from playground.data.torchvision_sets import CIFAR_FILES, CIFAR_FOLDER

    assert CIFAR_FOLDER == CIFAR10.base_folder
    assert CIFAR_FILES == [f for f, _ in CIFAR10.train_list + CIFAR10.test_list] + [CIFAR10.meta["filename"]]
