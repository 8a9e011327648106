"""Data larger than memory: image folders decode into a memory-mapped cache, and a run
whose images do not fit streams its batches from it, computing exactly what a
device-resident run computes."""

import json
import logging
import threading

import numpy as np
import pytest
import torch
from PIL import Image

from benchbench.data import arraycache
from benchbench.data import imagefolder
from benchbench.data import streaming
from benchbench.data.streaming import Rows


def learnable_folder(root, per_class=(40, 10), size=(8, 8), split=True):
    """Two classes told apart by colour, with noise: a model learns them in an epoch."""
    rng = np.random.default_rng(0)
    for part, count in zip(("train", "test") if split else ("",), per_class, strict=False):
        for label, name in enumerate(("red", "blue")):
            folder = root / part / name
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(count):
                pixels = rng.integers(0, 120, (*size, 3))
                pixels[..., 0 if label == 0 else 2] += 120
                Image.fromarray(pixels.astype(np.uint8)).save(folder / f"{i}.png")
    return root


def test_an_image_folder_is_decoded_once_into_a_memory_mapped_cache(tmp_path, monkeypatch):
    root = learnable_folder(tmp_path / "data")
    classes, images, labels = imagefolder.load(root / "train")
    assert isinstance(images, np.memmap), "a cached folder is mapped, not loaded"
    assert images.shape == (80, 3, 8, 8) and labels.tolist() == [0] * 40 + [1] * 40
    first = np.asarray(Image.open(root / "train/blue/0.png")).transpose(2, 0, 1)
    assert (images[0] == first).all()

    def no_decoding(*args):
        raise AssertionError("decoded again although cached")

    monkeypatch.setattr(imagefolder, "_open", no_decoding)
    _, again, _ = imagefolder.load(root / "train")
    assert (np.asarray(again) == np.asarray(images)).all()
    again[0] = 0  # copy-on-write: the cache file is never changed through a dataset
    _, third, _ = imagefolder.load(root / "train")
    assert (third[0] == first).all()


def test_a_damaged_cache_is_rebuilt_not_trusted(tmp_path):
    root = learnable_folder(tmp_path / "data")
    _, images, _ = imagefolder.load(root / "train")
    (pixels,) = (tmp_path / "cache").rglob("images.u8")
    with open(pixels, "r+b") as f:
        f.truncate(pixels.stat().st_size - 7)
    _, rebuilt, _ = imagefolder.load(root / "train")
    assert rebuilt.shape == images.shape and pixels.stat().st_size == rebuilt.size


def test_a_writer_leaves_nothing_behind_when_decoding_fails(tmp_path):
    target = tmp_path / "cache" / "part"
    with pytest.raises(RuntimeError), arraycache.Writer(target) as writer:
        writer.add(np.zeros((3, 2, 2), np.uint8), 0)
        raise RuntimeError("interrupted")
    assert not target.exists() and not list((tmp_path / "cache").iterdir())
    assert arraycache.read(target) is None


def test_two_runs_wanting_one_folder_decode_it_once(tmp_path, caplog):
    """A sweep's workers asking for the same cache at once: the second waits for the
    first's folder instead of decoding it again (threads stand in for processes: each
    opens the lock file itself, and flock tells such opens apart)."""
    caplog.set_level(logging.INFO, logger="benchbench.status")
    target = tmp_path / "cache" / "part"
    builds, results = [], {}
    building, release, second_waits = threading.Event(), threading.Event(), threading.Event()

    def build():
        builds.append(threading.current_thread().name)
        building.set()
        assert release.wait(60)
        with arraycache.Writer(target) as writer:
            writer.add(np.full((3, 2, 2), 7, np.uint8), 1)
            return writer.finish()

    class Waiting(logging.Handler):
        def emit(self, record):
            if "waiting for it" in record.getMessage():
                second_waits.set()

    def want(name):
        results[name] = arraycache.cached(target, build)

    handler = Waiting()
    logging.getLogger("benchbench.status").addHandler(handler)
    try:
        first = threading.Thread(target=want, args=("first",), name="first")
        first.start()
        assert building.wait(60)
        second = threading.Thread(target=want, args=("second",), name="second")
        second.start()
        assert second_waits.wait(60), "the second did not wait for the first"
        release.set()
        first.join()
        second.join()
    finally:
        logging.getLogger("benchbench.status").removeHandler(handler)
    assert builds == ["first"]
    images, labels = results["second"]
    assert labels.tolist() == [1] and (np.asarray(images) == 7).all()


def test_rows_read_only_what_is_asked_and_compose_lazily():
    base = torch.arange(10 * 3 * 2 * 2, dtype=torch.uint8).view(10, 3, 2, 2)
    rows = Rows(base).take([9, 7, 5, 3, 1]).take(torch.tensor([1, 3]))
    assert len(rows) == 2 and rows.shape == (2, 3, 2, 2) and rows.nbytes == 24
    assert torch.equal(rows[torch.tensor([1, 0])], base[[3, 7]])
    assert torch.equal(rows[0:1], base[[7]])
    assert torch.equal(torch.cat(list(rows.split(1))), base[[7, 3]])
    assert torch.equal(rows.materialize(), base[[7, 3]])


def test_auto_streams_when_the_images_exceed_half_the_free_memory(monkeypatch, caplog):
    cpu = torch.device("cpu")
    monkeypatch.setattr(streaming, "available_memory", lambda device: 1000.0)
    with caplog.at_level("INFO", logger="benchbench.status"):
        assert streaming.choose("auto", cpu, 400, mapped=True) == "device"
        assert streaming.choose("auto", cpu, 600, mapped=True) == "stream"
        assert streaming.choose("stream", cpu, 1, mapped=False) == "stream"
        assert streaming.choose("device", cpu, 10**12, mapped=True) == "device"
    said = caplog.text
    assert "held in memory (they fit" in said
    assert "streamed batch by batch from the memory-mapped cache" in said
    assert "from host memory (--data-placement stream)" in said


@pytest.mark.parametrize("mode", ["online", "offline"])
def test_a_streamed_run_computes_exactly_what_a_device_resident_run_computes(bench, tmp_path, mode):
    root = learnable_folder(tmp_path / "data")
    common = [
        *("--dataset", "imagefolder", "--data-dir", root, "--arch", "mlp"),
        *("--epochs", "2", "--batch-size", "16", "--aug", "hflip", "--aug-mode", mode),
        "--json",
    ]
    runs = {}
    for placement in ("device", "stream"):  # one run id: --force trains it again
        result = bench("run", *common, "--data-placement", placement, "--force")
        assert result.code == 0, result.err
        run_id = json.loads(result.out)["run_id"]
        runs[placement] = json.loads(bench("show", run_id, "--json").out)
        assert runs[placement]["environment"]["data_placement"] == placement
    device, stream = runs["device"], runs["stream"]
    assert device["run_id"] == stream["run_id"], "where the data lives is not in the run id"
    again = bench("run", *common, "--data-placement", "device")
    assert again.code == 0 and "already stored" in again.err
    assert stream["summary"]["test_acc"] > 0.7, "the streamed run learns"
    for key in ("test_acc", "test_loss", "final_train_loss", "final_val_loss"):
        assert stream["summary"][key] == device["summary"][key], key
    assert stream["confusion"] == device["confusion"]


def test_a_run_says_which_path_its_data_took(bench, tmp_path, monkeypatch):
    root = learnable_folder(tmp_path / "data", split=False, per_class=(30,))
    monkeypatch.setattr(streaming, "available_memory", lambda device: 100.0)
    args = ["--dataset", "imagefolder", "--data-dir", root, "--arch", "mlp", "--epochs", "1"]
    result = bench("run", *args, "--json")
    assert result.code == 0, result.err
    assert "streamed batch by batch from the memory-mapped cache" in result.err
    shown = json.loads(bench("show", json.loads(result.out)["run_id"], "--json").out)
    assert shown["environment"]["data_placement"] == "stream"
