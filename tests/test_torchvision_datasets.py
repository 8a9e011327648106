"""torchvision:NAME datasets through torchvision's own classes, on small files the tests
write in each format; a crafted pickle is refused without running anything."""

import json
import pickle
import struct

import numpy as np
import pytest


def write_idx(path, array):
    """The MNIST idx format: magic (type 0x08 = ubyte, dimensions), sizes, bytes."""
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def mnist_root(tmp_path, name="MNIST", n=(200, 40)):
    raw = tmp_path / name / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, count in (("train", n[0]), ("t10k", n[1])):
        labels = np.arange(count) % 10
        images = rng.integers(0, 50, (count, 28, 28)) + (labels[:, None, None] * 20)
        write_idx(raw / f"{prefix}-images-idx3-ubyte", images)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels)
    return tmp_path


@pytest.mark.parametrize("name", ["MNIST", "FashionMNIST", "KMNIST"])
def test_an_mnist_format_dataset_trains_from_its_files(bench, tmp_path, name):
    root = mnist_root(tmp_path, name)
    args = ["--dataset", f"torchvision:{name}", "--data-dir", root, "--arch", "mlp"]
    result = bench("run", *args, "--epochs", "1", "--set", "dataset.download=false", "--json")
    assert result.code == 0, result.err
    shown = json.loads(bench("show", json.loads(result.out)["run_id"], "--json").out)
    assert shown["summary"]["status"] == "complete"
    summary = json.loads(bench("summary", "--arch", "mlp", *args[:4], "--json").out)
    assert summary["input_shape"] == [1, 28, 28]


def cifar_root(tmp_path, payload=None):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = {
            "data": rng.integers(0, 256, (40, 3072), dtype=np.uint8),
            "labels": list(range(10)) * 4,
        }
        with open(folder / name, "wb") as f:
            pickle.dump(payload if payload is not None and name == "data_batch_1" else data, f)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": [f"c{i}" for i in range(10)]}, f)
    return tmp_path


class Exploit:
    def __reduce__(self):
        import os

        return (os.system, ("touch /tmp/benchbench-pwned",))


def test_cifar_batches_load_through_torchvision_but_never_run_a_pickle(
    bench, tmp_path, monkeypatch
):
    import torchvision.datasets.cifar

    # the test's files are not the official archive: torchvision's md5 checks are skipped
    monkeypatch.setattr(torchvision.datasets.cifar, "check_integrity", lambda *a, **k: True)
    root = cifar_root(tmp_path / "good")
    args = [
        "--dataset",
        "torchvision:CIFAR10",
        "--data-dir",
        root,
        "--arch",
        "mlp",
        "--epochs",
        "1",
    ]
    result = bench("run", *args, "--set", "dataset.download=false", "--json")
    assert result.code == 0, result.err
    hostile = cifar_root(tmp_path / "bad", payload={"data": Exploit()})
    bad = ["--dataset", "torchvision:CIFAR10", "--data-dir", hostile, "--arch", "mlp"]
    refused = bench("run", *bad, "--set", "dataset.download=false")
    assert refused.code == 2 and "nothing in it was run" in refused.err
    assert not __import__("os").path.exists("/tmp/benchbench-pwned")


def test_a_missing_or_unknown_torchvision_dataset_is_a_clear_error(bench, tmp_path):
    missing = bench(
        "run",
        "--dataset",
        "torchvision:SVHN",
        "--data-dir",
        tmp_path,
        "--set",
        "dataset.download=false",
    )
    assert missing.code == 2 and "torchvision:SVHN is not under" in missing.err
    unknown = bench("run", "--dataset", "torchvision:MNST", "--dry-run")
    assert unknown.code == 2 and "Did you mean 'MNIST'" in unknown.err
