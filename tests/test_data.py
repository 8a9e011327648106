import os
import pickle

import numpy as np
import pytest
from PIL import Image

from benchbench.data import imagefolder
from benchbench.data.images import ImageData
from benchbench.data.images import stratified_split
from benchbench.errors import BenchError
from benchbench.plugins.builtin import datasets


def make_folder(root, classes=("cat", "dog"), per_class=6, size=(12, 10), split=True):
    rng = np.random.default_rng(0)
    for part in ["train", "test"] if split else [""]:
        for c in classes:
            folder = root / part / c
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(per_class):
                pixels = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(folder / f"{i}.png")
    return root


def test_stratified_split_holds_out_each_class_in_proportion():
    labels = np.repeat([0, 1, 2], [50, 30, 20])
    keep, held = stratified_split(labels, 0.1, seed=0)
    assert sorted(np.bincount(labels[held])) == [2, 3, 5]
    assert not set(keep) & set(held) and len(keep) + len(held) == 100
    again, _ = stratified_split(labels, 0.1, seed=0)
    assert (again == keep).all()


def test_image_folder_with_train_and_test(tmp_path):
    make_folder(tmp_path / "data")
    data = datasets.imagefolder(data_dir=tmp_path / "data").as_tensors()
    assert data.classes == ["cat", "dog"]
    assert tuple(data.train_images.shape) == (12, 3, 12, 10)
    assert data.train_labels.tolist() == [0] * 6 + [1] * 6
    first = np.asarray(Image.open(tmp_path / "data/train/cat/0.png")).transpose(2, 0, 1)
    assert (data.train_images[0].numpy() == first).all()


def test_image_folder_decodes_once_then_reads_the_cache(tmp_path, monkeypatch):
    root = make_folder(tmp_path / "data") / "train"
    imagefolder.load(root)
    calls = []
    monkeypatch.setattr(imagefolder, "_open", lambda *a: calls.append(a))
    classes, images, labels = imagefolder.load(root)
    assert calls == [] and images.shape == (12, 3, 12, 10)


def test_the_cache_notices_a_changed_file(tmp_path):
    root = make_folder(tmp_path / "data") / "train"
    _, before, _ = imagefolder.load(root)
    target = root / "cat" / "0.png"
    Image.fromarray(np.zeros((12, 10, 3), np.uint8)).save(target)
    os.utime(target, ns=(1, 1))  # a new mtime even on coarse filesystems
    _, after, _ = imagefolder.load(root)
    assert after[0].sum() == 0 and before[0].sum() > 0


def test_corrupt_images_are_skipped_with_a_warning(tmp_path, caplog):
    root = make_folder(tmp_path / "data", split=False)
    (root / "cat" / "broken.jpg").write_bytes(b"not a jpeg")
    classes, images, labels = imagefolder.load(root)
    assert len(images) == 12
    assert "broken.jpg" in caplog.text


def test_single_tree_is_split_by_test_fraction(tmp_path):
    root = make_folder(tmp_path / "data", per_class=10, split=False)
    data = datasets.imagefolder(data_dir=root, test_fraction=0.2)
    assert len(data.test_images) == 4 and sorted(np.bincount(data.test_labels)) == [2, 2]


def test_mixed_sizes_ask_for_a_resize(tmp_path):
    root = make_folder(tmp_path / "data", split=False)
    Image.fromarray(np.zeros((20, 20, 3), np.uint8)).save(root / "cat" / "big.png")
    with pytest.raises(BenchError, match="dataset.size=HxW"):
        imagefolder.load(root)
    _, images, _ = imagefolder.load(root, size=(8, 8))
    assert images.shape == (13, 3, 8, 8)


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(BenchError, match="does not exist"):
        imagefolder.load(tmp_path / "nope")
    with pytest.raises(BenchError, match="needs --data-dir"):
        datasets.imagefolder(data_dir=None)


def write_cifar_archive(root, per_batch=4):
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {
            "data": rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8),
            "labels": list(rng.integers(0, 10, per_batch)),
        }
        with open(folder / name, "wb") as f:
            pickle.dump(batch, f)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": [f"c{i}" for i in range(10)]}, f)
    return folder


def test_cifar10_reads_the_python_archive_through_torchvision(tmp_path, monkeypatch):
    import torchvision.datasets.cifar

    folder = write_cifar_archive(tmp_path)
    calls = []
    monkeypatch.setattr(  # the test's files are not the official archive's: no md5 match
        torchvision.datasets.cifar, "check_integrity", lambda *a, **k: calls.append(a) or True
    )
    for where in (tmp_path, folder):  # the folder holding the batches, or the batches folder
        data = datasets.cifar10(data_dir=where, download=False)
    assert calls, "torchvision's checksum verification was not consulted"
    assert data.train_images.shape == (20, 3, 32, 32) and data.test_images.shape == (4, 3, 32, 32)
    with open(folder / "data_batch_1", "rb") as f:
        raw = pickle.load(f)["data"][0]
    assert (data.train_images[0].reshape(-1) == raw).all()
    assert data.classes[0] == "c0"


def test_cifar10_offline_and_missing_says_what_to_do(tmp_path, monkeypatch):
    import torchvision.datasets

    class Offline:
        def __init__(self, *args, **kwargs):
            raise OSError("network is unreachable")

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", Offline)
    with pytest.raises(BenchError, match="--data-dir.*--dataset digits"):
        datasets.cifar10(data_dir=tmp_path)


def test_digits_and_fake_are_uint8_images():
    digits = datasets.digits().as_tensors()
    assert digits.input_shape == (1, 8, 8) and digits.train_images.max() > 200
    assert len(digits.train_images) + len(digits.test_images) == 1797
    fake = datasets.fake(size=16, channels=3, classes=4, train_size=40, test_size=8)
    again = datasets.fake(size=16, channels=3, classes=4, train_size=40, test_size=8)
    assert (fake.train_images == again.train_images).all()
    assert tuple(fake.train_images.shape) == (40, 3, 16, 16)


def test_a_plugin_returning_bad_arrays_is_named():
    bad = ImageData(["a"], np.zeros((2, 8, 8), np.float32), [0, 0], np.zeros((0, 1, 8, 8)), [])
    with pytest.raises(BenchError, match="'mine' returned train images of dtype"):
        bad.as_tensors("mine")
