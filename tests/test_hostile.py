"""Hostile and careless input: names that try to inject markup or code into every output
format, a crafted CIFAR pickle, relabelled runs. Nothing is injected, nothing is run,
nothing is counted twice."""

import csv
import io
import json
import os
import pickle
import re

import pytest

from benchbench.errors import BenchError
from benchbench.plugins.builtin import datasets

HOSTILE = "<script>alert(1)</script> | =cmd [/x] [bold red]"
LATEX_ESCAPE = "Model\n\\input{/etc/passwd}"


@pytest.fixture
def hostile_runs(bench):
    for name, seed in ((HOSTILE, "0"), (LATEX_ESCAPE, "1"), ("=1+1", "2")):
        result = bench("run", "--arch", "mlp", "--epochs", "1", "--seed", seed, "--name", name)
        assert result.code == 0, result.err


def test_html_escapes_cells_and_headers(bench, hostile_runs):
    page = bench("report", "--format", "html", "--baseline", HOSTILE).out  # in a header
    assert "<script>" not in page and page.count("&lt;script&gt;") >= 2
    grouped = bench("report", "--format", "html", "--group-by", "arch.<img src=x onerror=a>")
    assert grouped.code == 0, grouped.err
    assert "<img src=x" not in grouped.out and "&lt;img src=x" in grouped.out


def test_markdown_cells_cannot_add_columns_or_lines(bench, hostile_runs):
    text = bench("report").out
    rows = [line for line in text.splitlines() if line.startswith("|")]
    widths = {len(line.replace("\\|", "").split("|")) for line in rows}
    assert len(widths) == 1  # every row has the header's columns
    assert not any(line.startswith("\\input") for line in text.splitlines())


def test_markdown_cells_carry_no_raw_html_or_links(bench, hostile_runs):
    link = "[win](http://evil.example) ![i](http://evil.example/x.png)"
    assert bench("run", "--arch", "mlp", "--epochs", "1", "--seed", "3", "--name", link).code == 0
    text = bench("report").out
    assert re.search(r"(?<!\\)<", text) is None and "\\<script>" in text  # text, not a tag
    assert "](http" not in text and "[win]\\(http://evil.example)" in text


def test_latex_comments_and_cells_cannot_run_commands(bench, hostile_runs):
    text = bench("report", "--format", "latex").out
    assert not any(line.lstrip().startswith("\\input") for line in text.splitlines())
    assert "\\textbackslash{}input\\{/etc/passwd\\}" in text


def test_csv_cells_are_never_formulas(bench, hostile_runs):
    text = bench("report", "--format", "csv").out
    for row in csv.DictReader(io.StringIO(text)):
        assert not row["label"].startswith(("=", "+", "-", "@"))
    assert "'=1+1" in text


def test_rich_markup_in_names_is_printed_as_text(bench, hostile_runs):
    shown = bench("show", HOSTILE)
    assert shown.code == 0, shown.err
    assert HOSTILE in shown.out


def test_a_crafted_cifar_pickle_runs_nothing(tmp_path, monkeypatch):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        (folder / name).write_bytes(pickle.dumps({"data": Exploit(), "labels": [0]}))
    # torchvision's checksums reject the files before anything is unpickled
    with pytest.raises(BenchError, match="fails torchvision's checksum; nothing in its files"):
        datasets.cifar10(data_dir=tmp_path, download=False)
    assert not marker.exists()
    # and with the checksums passed, the restricted unpickler refuses the payload
    monkeypatch.setattr("torchvision.datasets.cifar.check_integrity", lambda *a, **k: True)
    with pytest.raises(BenchError, match="not what the dataset should hold.*nothing in it was run"):
        datasets.cifar10(data_dir=folder, download=False)
    assert not marker.exists()


def test_a_relabelled_run_is_not_trained_again(bench, isolated):
    first = json.loads(bench("run", "--arch", "mlp", "--epochs", "1", "--name", "A", "--json").out)
    again = bench("run", "--arch", "mlp", "--epochs", "1", "--name", "B", "--json")
    second = json.loads(again.out)
    assert second["run_id"] == first["run_id"] and second["skipped"] is True
    assert second["label"] == "B"
    csv_text = bench("report", "--format", "csv").out
    (row,) = list(csv.DictReader(io.StringIO(csv_text)))
    assert row["label"] == "B" and row["n"] == "1"


def test_identical_suite_variants_share_a_run_and_keep_their_rows(bench, tmp_path):
    suite = tmp_path / "same.toml"
    suite.write_text(
        """
[base]
arch = "mlp"
epochs = 1

[[variants]]
name = "Improved"

[[variants]]
name = "No Scheduler"   # identical settings: one run, two rows

[[tables]]
title = "Ablation"
"""
    )
    summary = json.loads(bench("sweep", suite, "--json").out)
    assert summary["completed"] == 1 and summary["skipped"] == 1
    text = bench("report", "--suite", suite).out
    rows = [line for line in text.splitlines() if "Improved" in line or "No Scheduler" in line]
    assert len(rows) == 2
    assert all(row.split("|")[-2].strip() == "1" for row in rows)  # n = 1 each, not 2


# -- inputs that used to give wrong results or "unexpected" errors ---------------------------


def test_an_architecture_with_the_wrong_output_width_is_refused(bench, blocker):
    result = bench("run", "--arch", "too_wide", "--epochs", "1")
    assert result.code == 2 and "'too_wide'" in result.err and "(2, 13)" in result.err
    assert "(2, 10)" in result.err and "unexpected" not in result.err


def test_a_model_with_lazy_modules_trains(bench, blocker):
    result = bench("run", "--arch", "lazy", "--epochs", "1", "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["num_parameters"] == 64 * 32 + 32 + 32 * 10 + 10


@pytest.mark.parametrize("flag", ["--subset", "--test-subset"])
def test_a_subset_larger_than_the_data_is_refused(bench, flag):
    result = bench("run", "--arch", "mlp", "--epochs", "1", flag, "100000")
    assert result.code == 2 and f"{flag} 100000: the dataset has only" in result.err


def test_split_errors_speak_benchbench_not_scikit_learn(bench):
    result = bench("run", "--arch", "mlp", "--epochs", "1", "--val-fraction", "0.001")
    assert result.code == 2 and "--val-fraction 0.001" in result.err
    assert "test_size" not in result.err


def _image_folder(root, classes, per_class=4):
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for part in ("train", "test"):
        for c in classes:
            (root / part / c).mkdir(parents=True, exist_ok=True)
            for i in range(per_class):
                pixels = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(root / part / c / f"{i}.png")
    return root


def _folder_run(root):
    return ["run", "--dataset", "imagefolder", "--data-dir", root, "--arch", "mlp"] + [
        "--epochs",
        "1",
        "--val-fraction",
        "0.25",
    ]


def test_a_one_class_folder_is_refused(bench, tmp_path):
    root = _image_folder(tmp_path / "one", ["only"])
    result = bench("run", "--dataset", "imagefolder", "--data-dir", root, "--arch", "mlp")
    assert result.code == 2 and "at least 2" in result.err


def test_empty_class_folders_and_links_to_the_folder_itself_are_skipped(bench, tmp_path):
    root = _image_folder(tmp_path / "odd", ["a", "b"])
    for part in ("train", "test"):
        (root / part / "empty").mkdir()
        (root / part / "itself").symlink_to(root / part)
    result = bench(*_folder_run(root), "--json")
    assert result.code == 0, result.err
    assert "holds no images" in result.err and "links back to the data folder" in result.err
    shown = bench("show", json.loads(result.out)["run_id"], "--json")
    assert json.loads(shown.out)["classes"] == ["a", "b"]


def test_a_link_loop_is_a_clear_error(bench, tmp_path):
    root = _image_folder(tmp_path / "loop", ["a", "b"])
    (root / "train" / "x").symlink_to(root / "train" / "y")
    (root / "train" / "y").symlink_to(root / "train" / "x")
    result = bench(*_folder_run(root))
    assert result.code == 2 and "a link that loops" in result.err and "unexpected" not in result.err


def test_16_bit_pngs_keep_their_contrast(tmp_path):
    import numpy as np
    from PIL import Image

    from benchbench.data import imagefolder

    for c in ("dark", "light"):
        (tmp_path / c).mkdir()
    ramp = (np.arange(64, dtype=np.uint16).reshape(8, 8) * 1000).astype(np.uint16)
    Image.fromarray(ramp).save(tmp_path / "dark" / "0.png")  # 16-bit greyscale
    Image.fromarray(np.full((8, 8), 60000, np.uint16)).save(tmp_path / "light" / "0.png")
    _, images, labels = imagefolder.load(tmp_path, use_cache=False)
    dark = images[labels == 0][0, 0]
    assert dark.min() == 0 and 240 <= dark.max() <= 255  # not 99.6 % white
    assert np.unique(dark).size > 30


@pytest.mark.parametrize(
    "text, words",
    [
        ('[base]\nepochs = "ten"\n', "--epochs 'ten': give a whole number"),
        ('repeats = "many"\n[base]\narch = "mlp"\n', "'repeats': a whole number"),
        ("base = 5\n", "'base': a table of settings"),
        ('[base]\narch = "mlp"\n[[grids]]\nlr = []\n', "an empty list"),
        ('[base]\narch = "mlp"\n[tune]\norder = ["lr"]\nlr = []\n', "an empty list"),
    ],
)
def test_suite_values_of_the_wrong_type_are_named(bench, tmp_path, text, words):
    suite = tmp_path / "bad.toml"
    suite.write_text(text)
    result = bench("sweep", suite)
    assert result.code == 2 and words in result.err and "unexpected" not in result.err


def test_a_comma_list_in_sweep_set_is_a_grid_or_a_clear_refusal(bench):
    result = bench("sweep", "report003", "--smoke", "--set", "lr=0.01,0.001", "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["completed"] == 4  # two rows, two learning rates each
    tuned = bench("sweep", "report004", "--smoke", "--set", "lr=0.01,0.001")
    assert tuned.code == 2 and "comma lists" in tuned.err and "unexpected" not in tuned.err


def test_an_output_inside_a_file_is_a_clear_error(bench, tmp_path):
    assert bench("run", "--arch", "mlp", "--epochs", "1").code == 0
    (tmp_path / "afile").write_text("x")
    result = bench("report", "--output", tmp_path / "afile" / "table.md")
    assert result.code == 2 and "--output" in result.err and "unexpected" not in result.err
    assert "afile is a file, not a folder" in result.err


# -- round two: control characters, a leading '[', a bare carriage return, providers -----

TERMINAL = "red\x1b[31mX\x1b]0;owned\x07 \u202eevil"


def test_control_characters_never_reach_a_terminal_or_a_report(bench):
    result = bench("run", "--arch", "mlp", "--epochs", "1", "--name", TERMINAL)
    assert result.code == 0, result.err
    outputs = [result.err, bench("runs").out, bench("show", TERMINAL).out]
    outputs += [bench("report", "--format", f).out for f in ("markdown", "latex", "html", "csv")]
    for text in outputs:
        assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert "\\x1b[31m" in result.err and "\\u202eevil" in result.err  # shown, escaped


def test_a_name_starting_with_a_bracket_is_no_latex_argument(bench):
    for seed, name in enumerate(("[40pt]Evil", "[bold red]x")):
        result = bench("run", "--arch", "mlp", "--epochs", "1", "--seed", seed, "--name", name)
        assert result.code == 0, result.err
    text = bench("report", "--format", "latex").out
    assert "{}[40pt]Evil" in text and "{}[bold red]x" in text
    assert not any(line.lstrip().startswith("[") for line in text.splitlines())


def test_a_bare_carriage_return_never_splits_a_csv_row(bench):
    import pandas as pd

    for seed, name in enumerate(("\r=1+1", "plain", "a\rb")):
        result = bench("run", "--arch", "mlp", "--epochs", "1", "--seed", seed, "--name", name)
        assert result.code == 0, result.err
    text = bench("report", "--format", "csv").out
    assert "\r" not in text
    frame = pd.read_csv(io.StringIO(text))
    assert len(frame) == 3
    assert not any(str(v).startswith(("=", "+", "-", "@")) for v in frame["label"])
    per_run = bench("report", "--format", "csv", "--per-run").out
    assert len(pd.read_csv(io.StringIO(per_run))) == 3


PROVIDER = """
from benchbench import hookimpl


@hookimpl
def benchbench_register_architectures(registry):
    registry.add("dup_arch", build, description="{name}'s dup_arch")


def build(*, num_classes, input_shape):
    from torch import nn

    size = input_shape[0] * input_shape[1] * input_shape[2]
    return nn.Sequential(nn.Flatten(), nn.Linear(size, {width}), nn.Linear({width}, num_classes))
"""


def test_the_same_name_from_another_plugin_is_another_run(bench, isolated, monkeypatch):
    for name, width in (("first_provider", 8), ("second_provider", 16)):
        (isolated / f"{name}.py").write_text(PROVIDER.format(name=name, width=width))
    monkeypatch.syspath_prepend(str(isolated))
    from benchbench.cli.context import components

    ids = []
    for name in ("first_provider", "second_provider"):
        monkeypatch.setenv("BENCH_PLUGINS", name)
        components.cache_clear()
        result = bench("run", "--arch", "dup_arch", "--epochs", "1", "--json")
        assert result.code == 0, result.err
        assert "already stored" not in result.err  # the other plugin's result is not reused
        ids.append(json.loads(result.out)["run_id"])
        shown = bench("show", ids[-1]).out
        assert f"plugin '{name}'" in shown
    assert ids[0] != ids[1]


# -- round two: messages that name the problem and the fix -------------------------------


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--set", 'arch.hidden={"a":1}'], "--set arch.hidden="),
        (["--set", "dataset.test_fraction=1.5"], "lies between 0 and 1"),
        (["--subset", "3"], "at least one image of each of the 10 classes"),
        (["--checkpoint-every", "soon"], "--checkpoint-every 'soon'"),
    ],
)
def test_bad_values_get_one_clear_paragraph(bench, args, words):
    result = bench("run", "--arch", "mlp", "--epochs", "1", *args)
    assert result.code == 2 and words in result.err, result.err
    assert "int()" not in result.err and "Traceback" not in result.err


def test_mismatched_class_folders_are_named(bench, tmp_path):
    from PIL import Image

    for split, names in (("train", ("cat", "dog")), ("test", ("cat", "hound"))):
        for name in names:
            (tmp_path / "data" / split / name).mkdir(parents=True)
            for i in range(3):
                Image.new("RGB", (8, 8), (i * 40, 0, 0)).save(
                    tmp_path / "data" / split / name / f"{i}.png"
                )
    result = bench(
        "run", "--dataset", "imagefolder", "--data-dir", tmp_path / "data", "--arch", "mlp"
    )
    assert result.code == 2 and "only train/ has dog" in result.err
    assert "only test/ has hound" in result.err


def test_a_suite_is_checked_whole_before_anything_trains(bench, tmp_path):
    suite = tmp_path / "multi.toml"
    suite.write_text(
        'description = "x"\nseeds = [0]\n[base]\narch = "mlp"\ndataset = "digits"\n'
        'epochs = 1\n[[variants]]\nname = "a"\n[[tables]]\ntitle = "t"\n'
        'group = "variants"\nmetrics = ["test_accc"]\n'
    )
    bad = bench("sweep", suite)
    assert bad.code == 2 and "unknown metric 'test_accc'" in bad.err and "test_acc" in bad.err
    assert not (tmp_path / "results" / "bench.db").exists()  # nothing trained
    suite.write_text(suite.read_text().replace("test_accc", "test_acc"))
    good = bench("sweep", suite)
    hint = next(line for line in good.out.splitlines() if line.startswith("bench report"))
    follow = bench(*hint.split(" renders")[0].split()[1:])  # the printed command works
    assert follow.code == 0, follow.err


def test_a_bad_value_in_a_config_file_names_the_file_and_key(bench, tmp_path):
    config = tmp_path / "run.toml"
    config.write_text('epochs = "ten"\n')
    result = bench("run", "--config", config)
    assert result.code == 2 and f"{config}: key epochs = 'ten'" in result.err


def test_results_under_a_file_is_a_clear_error(bench, tmp_path):
    (tmp_path / "afile").write_text("x")
    result = bench("run", "--arch", "mlp", "--epochs", "1", "--results", tmp_path / "afile" / "r")
    assert result.code == 2 and "cannot be created" in result.err
    assert "unexpected" not in result.err


def test_an_architecture_of_a_failed_plugin_names_that_plugin(bench, isolated, monkeypatch):
    (isolated / "broken_plugin.py").write_text("raise ImportError('no such thing')\n")
    monkeypatch.syspath_prepend(str(isolated))
    monkeypatch.setenv("BENCH_PLUGINS", "broken_plugin")
    result = bench("run", "--arch", "fancy_net", "--epochs", "1")
    assert result.code == 2 and "Unknown architecture 'fancy_net'" in result.err
    assert "broken_plugin" in result.err and "no such thing" in result.err


def test_a_family_of_datasets_is_listed_like_a_family_of_models(bench):
    listed = bench("list", "datasets", "--filter", "torchvision:*")
    assert listed.code == 0 and "torchvision:CIFAR10" in listed.out
    assert "torchvision dataset 'CIFAR10'" in listed.out.replace("\n", " ").replace("│", "")
