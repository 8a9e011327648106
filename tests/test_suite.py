import pytest

from benchbench.errors import BenchError
from benchbench.execution import suite as suites

GOOD = """
description = "a test suite"
seeds = [0, 1]

[base]
arch = "resnet_skip"
"arch.widths" = "8"
dataset = "digits"
epochs = 1

[[variants]]
name = "A"
lr = 0.01

[[variants]]
name = "B"
set = ["arch.kernel=5"]

[[grids]]
name = "lr sweep"
optimizer = "sgd"
lr = [0.1, 0.01]
batch_size = [32, 64]

[[tables]]
title = "Main"
group = "variants"
"""


def parse(text, source="suite.toml"):
    return suites.parse(text, source, "suite")


def test_variants_and_grids_expand_to_run_configs():
    suite = parse(GOOD)
    groups = dict(suite.groups())
    assert [row["name"] for row in groups["variants"]] == ["A", "B"]
    grid = groups["lr sweep"]
    assert len(grid) == 4 and grid[0]["name"] == "lr=0.1 batch_size=32"
    assert all(row["optimizer"] == "sgd" for row in grid)  # a fixed grid setting
    config = suites.to_config(groups["variants"][1], seed=1)
    assert config.arch_options == {"widths": "8", "kernel": 5}
    assert config.seed == 1 and config.name == "B"


def test_overrides_and_smoke_shrink_any_suite():
    suite = parse(GOOD)
    row = dict(suite.groups())["variants"][0]
    config = suites.to_config(row, 0, ["epochs=7", "arch.widths=16"])
    assert config.epochs == 7 and config.arch_options["widths"] == 16
    smoke = suites.to_config({**row, "dataset": "cifar10", "arch.pretrained": True}, 0, smoke=True)
    assert smoke.dataset == "fake" and smoke.epochs == 1
    assert smoke.arch_options.get("pretrained") is False


def test_tuning_steps_keep_the_best_so_far():
    text = (
        GOOD
        + """
[tune]
order = ["lr", "batch_size"]
repeats = 3
lr = [0.1, 0.01]
batch_size = [16, 32]
"""
    )
    suite = parse(text)
    assert "variants" not in dict(suite.groups())  # tuned variants are not run plainly
    rows = suite.tuned_rows()
    step = suite.tune_step(rows[0], "batch_size", {"lr": 0.01})
    assert [(s["lr"], s["batch_size"]) for s in step] == [(0.01, 16), (0.01, 32)]


@pytest.mark.parametrize(
    "text,message",
    [
        (
            "[base]\nlrr = 0.1\n",
            r"suite.toml:2: \[base\] 'lrr': not a run setting. Did you mean 'lr'",
        ),
        ("seedz = [1]\n", r"suite.toml:1: 'seedz': unknown key"),
        ("[base]\nepochs = 0\n", r"suite.toml:1: 'base': --epochs 0"),
        ("[[grids]]\nname = 'g'\nlr = 0.1\n", "varies nothing"),
        ("[[variants]]\nlr = 0.1\n", "needs a name"),
        ("[tune]\norder = ['lr']\n", "'lr': is in order but has no list"),
        ("[[tables]]\ngroup = 'nope'\n", "'nope' is not a group"),
        ("[base\n", "not valid TOML"),
        ("[[variants]]\nname = 'a'\nseeds = [1, 1]\n", r"\[variants\] 'seeds': a non-empty list"),
        (
            "[[variants]]\nname = 'a'\nseeds = [1]\n[tune]\norder = ['lr']\nlr = [0.1]\n",
            "a variant's own seeds and \\[tune\\] do not mix",
        ),
    ],
)
def test_errors_name_the_file_line_and_key(text, message):
    with pytest.raises(BenchError, match=message):
        parse(text)


def test_a_variant_runs_its_own_seeds_until_the_command_line_sets_every_rows():
    suite = parse(GOOD.replace('name = "B"\n', 'name = "B"\nseeds = [3, 4, 5]\n'))
    rows = dict(suite.groups())["variants"]
    assert [suite.seeds_of(row) for row in rows] == [[0, 1], [3, 4, 5]]
    assert suites.to_config(rows[1], seed=4).seed == 4  # the row's seeds are not a setting
    smoke = suites.smoke_suite(suite)
    assert [smoke.seeds_of(row) for row in smoke.variants] == [[0], [3]]
    every = suite.with_seeds([7])  # `bench sweep --seeds 7`
    assert [every.seeds_of(row) for row in every.variants] == [[7], [7]]


def test_every_builtin_suite_parses_and_lists_a_description():
    names = suites.builtin_names()
    reports = ["report000", "report001", "report002", "report003", "report004"]
    assert names == ["algoperf-mini", *reports]
    for name in reports:
        suite = suites.find(name)
        assert suite.description.startswith("Report 0") and suite.tables
    workloads = suites.find("algoperf-mini")
    assert workloads.description.startswith("Time to target") and workloads.tables


def test_report000_is_models_a_to_g():
    suite = suites.find("report000")
    configs = [suites.to_config(row, 0) for row in dict(suite.groups())["variants"]]
    assert [c.name for c in configs] == [f"Model {x}" for x in "ABCDEFG"]
    a, c, g = configs[0], configs[2], configs[6]
    assert a.arch_options["bn"] is True and a.augs == ("standard",) and a.clip_grad == 1.0
    assert c.arch == "cnn_large" and g.arch_options["kernel"] == 7 and g.epochs == 20
    assert configs[5].lr == 5e-4 and configs[5].epochs == 40


def test_unknown_suite_name_suggests():
    with pytest.raises(BenchError, match="Did you mean 'report003'"):
        suites.find("report03")


def test_the_readme_suite_example_is_valid():
    from pathlib import Path

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    example = readme.split("```toml\n")[1].split("```")[0]
    suite = parse(example)
    assert [v["name"] for v in suite.variants] == ["Adam", "SGD"]
    assert suite.tune.order == ["lr", "batch_size"] and suite.seeds == [0, 1, 2]


def test_a_suite_without_tables_reports_each_of_its_groups():
    parsed = suites.parse(
        'seeds = [0]\n[base]\narch = "mlp"\n[[variants]]\nname = "A"\n'
        '[[grids]]\nname = "lrs"\nlr = [0.1, 0.01]\n',
        "inline",
        "inline",
    )
    assert [(t.title, t.group, t.kind) for t in parsed.tables] == [
        ("variants", "variants", "runs"),
        ("lrs", "lrs", "runs"),
    ]


PROFILED = """
description = "a suite at two scales"
seeds = [0]

[base]
dataset = "digits"
arch = "mlp"
epochs = 3

[[variants]]
name = "A"
[[variants]]
name = "B"
lr = 0.01
[[variants]]
name = "Big"
arch = "lenet"

[[grids]]
name = "rates"
lr = [0.1, 0.01]
batch_size = 32

[profiles.quick]
description = "two epochs, the variants only"
set = ["epochs=2"]
groups = ["variants"]
seeds = [0, 1]
[profiles.quick.variants]
"Big" = { skip = true }
"B" = { seeds = [5] }
[profiles.quick.grids.rates]
drop = ["batch_size"]
"""


def test_a_profile_runs_the_suite_at_its_scale(bench, tmp_path):
    import json

    suite = tmp_path / "profiled.toml"
    suite.write_text(PROFILED)
    parsed = suites.find(str(suite)).with_profile("quick")
    assert [(v["name"], parsed.seeds_of(v)) for v in parsed.variants] == [
        ("A", [0, 1]),
        ("B", [5]),
    ]
    assert parsed.grids[0] == {"name": "rates", "lr": [0.1, 0.01]}  # batch_size dropped
    swept = bench("sweep", suite, "--profile", "quick", "--json")
    assert swept.code == 0, swept.err
    assert json.loads(swept.out)["completed"] == 3  # A twice, B once; no Big, no grid
    runs = json.loads(bench("runs", "--json").out)
    assert sorted(r["label"] for r in runs) == ["A", "A", "B"]
    assert {r["of_epochs"] for r in runs} == {2}  # its settings, recorded in each run
    table = bench("report", "--suite", suite, "--profile", "quick", "--format", "csv")
    assert table.code == 0, table.err
    assert "Big" not in table.out and table.out.count("\nA,") + table.out.count("\nB,") == 2
    # the sweep recorded its profile: reading its rows needs no --profile
    assert bench("report", "--suite", suite, "--format", "csv").out == table.out
    written = tmp_path / "written"
    rendered = bench("reproduce", suite, "--output", written)
    assert rendered.code == 0, rendered.err
    report = (written / "profiled.md").read_text()
    assert "two epochs, the variants only" in report  # the profile's scale
    assert "Generated by `bench reproduce profiled --results" in report  # implied, not named
    # the command line wins over the profile's settings
    again = bench("sweep", suite, "--profile", "quick", "--set", "epochs=1", "--json")
    assert json.loads(again.out)["completed"] == 3


def test_rows_swept_at_two_profiles_are_rendered_only_at_a_named_one(bench, tmp_path):
    suite = tmp_path / "profiled.toml"
    suite.write_text(PROFILED + '[profiles.rates]\ndescription = "the grid"\ngroups = ["rates"]\n')
    assert bench("sweep", suite, "--profile", "quick").code == 0
    assert bench("sweep", suite, "--profile", "rates").code == 0
    before = sorted(p.name for p in (tmp_path / "results").rglob("*"))
    mixed = bench("report", "--suite", suite)
    assert mixed.code == 2, mixed.err
    assert "swept at different profiles ('quick', 'rates')" in mixed.err
    assert "give --profile NAME" in mixed.err
    named = bench("report", "--suite", suite, "--profile", "rates", "--format", "csv")
    assert named.code == 0 and "0.01" in named.out, named.err
    assert sorted(p.name for p in (tmp_path / "results").rglob("*")) == before  # untouched


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('groups = ["variants"]', 'groups = ["nope"]'), "a list of this suite's groups"),
        (('"Big" = { skip = true }', '"Huge" = { skip = true }'), "'Huge' is not a variant"),
        (('set = ["epochs=2"]', 'set = ["epochs=two"]'), "profile 'quick'"),
        (("seeds = [0, 1]", "seedz = [0, 1]"), "unknown key for a profile"),
        (("[profiles.quick.grids.rates]", "[profiles.quick.grids.rate]"), "'rate' is not a grid"),
    ],
)
def test_a_bad_profile_is_refused_with_its_line(bench, tmp_path, change, message):
    suite = tmp_path / "bad.toml"
    suite.write_text(PROFILED.replace(*change, 1))
    result = bench("sweep", suite, "--profile", "quick")
    assert result.code == 2 and message in result.err, result.err
    assert "bad.toml:" in result.err


def test_an_unknown_profile_names_the_suites(bench, tmp_path):
    suite = tmp_path / "profiled.toml"
    suite.write_text(PROFILED)
    result = bench("sweep", suite, "--profile", "quik")
    assert result.code == 2 and "its profiles: quick" in result.err
    assert "Did you mean 'quick'" in result.err
    alone = bench("report", "--profile", "quick")
    assert alone.code == 2 and "give --suite SUITE" in alone.err


def test_a_sweep_without_the_data_folder_a_row_needs_stores_nothing(bench, tmp_path):
    # algoperf-mini style: digits rows train without a folder, an imagefolder row cannot;
    # the sweep is refused before any run, rather than storing one failure per run
    suite = tmp_path / "folders.toml"
    suite.write_text(
        '[base]\narch = "mlp"\nepochs = 1\n'
        '[[variants]]\nname = "digits"\ndataset = "digits"\n'
        '[[variants]]\nname = "my photos"\ndataset = "imagefolder"\n'
    )
    result = bench("sweep", suite)
    assert result.code == 2, result.err
    assert "suite folders, row 'my photos': The imagefolder dataset needs --data-dir" in result.err
    assert "Traceback" not in result.err
    assert not (tmp_path / "results" / "bench.db").exists()  # nothing stored, no failures
    dry = bench("sweep", suite, "--dry-run")
    assert dry.code == 2 and "needs --data-dir" in dry.err


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("arch.nope=1", "architecture 'mlp' has no option 'nope'"),
        ("dataset.nope=1", "dataset 'digits' has no option 'nope'"),
    ],
)
def test_a_sweep_with_an_option_no_component_takes_stores_nothing(
    bench, tmp_path, setting, message
):
    suite = tmp_path / "opts.toml"
    suite.write_text('[base]\narch = "mlp"\nepochs = 1\n[[variants]]\nname = "a"\n')
    result = bench("sweep", suite, "--set", setting)
    assert result.code == 2 and f"suite opts, row 'a': {message}" in result.err, result.err
    assert not (tmp_path / "results" / "bench.db").exists()


def test_a_bad_option_in_one_of_two_rows_of_the_same_components_is_refused(bench, tmp_path):
    # rows "a" and "b" share an architecture and dataset; each row's options are checked
    suite = tmp_path / "rows.toml"
    suite.write_text(
        '[base]\narch = "mlp"\nepochs = 1\n[[variants]]\nname = "a"\n"arch.hiden" = 16\n'
        '[[variants]]\nname = "b"\n'
    )
    result = bench("sweep", suite)
    assert result.code == 2, result.err
    assert "suite rows, row 'a': architecture 'mlp' has no option 'hiden'" in result.err
    assert "Did you mean 'hidden'" in result.err
    assert not (tmp_path / "results" / "bench.db").exists()
