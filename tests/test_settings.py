"""The settings table is the one declaration of a run setting: it drives RunConfig, the
`bench run` options, suite keys and the settings reference; every choice it lists is implemented."""

import dataclasses
import re
from pathlib import Path

import pytest
import torch

from benchbench.config import PLUGIN_OPTIONS
from benchbench.config import PROVIDERS
from benchbench.config import RunConfig
from benchbench.errors import BenchError
from benchbench.execution import suite as suites
from benchbench.settings import SETTINGS
from benchbench.settings import choices
from benchbench.settings import markdown_table
from benchbench.training import loop

SETTINGS_PAGE = Path(__file__).resolve().parent.parent / "docs" / "settings.md"


def test_runconfig_has_exactly_the_settings_plus_plugin_options():
    names = [f.name for f in dataclasses.fields(RunConfig)]
    assert names == [*SETTINGS, *PLUGIN_OPTIONS, PROVIDERS]
    defaults = RunConfig()
    for s in SETTINGS.values():
        assert getattr(defaults, s.name) == s.default


def test_every_setting_is_a_bench_run_option_with_its_help_and_choices(bench, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")  # no wrapping inside the choices
    text = bench("run", "--help").out
    flat = re.sub(r"[\s│]+", " ", text)
    for s in SETTINGS.values():
        flag = s.flag.split("/")[0]
        assert flag in flat, flag
        assert s.help.split(".")[0][:30] in flat
        for choice in s.choices:
            assert choice in flat


def test_choices_are_real_choices_on_the_command_line(bench):
    result = bench("run", "--optimizer", "rmsprop")
    assert result.code == 2 and "rmsprop" in result.err and "adamw" in result.err


def test_validation_names_the_flag_and_the_fix():
    with pytest.raises(BenchError, match=r"--epochs 0: train for at least 1 epoch"):
        RunConfig(epochs=0).validated()
    with pytest.raises(BenchError, match=r"--precision 'fp8': choose one of fp32, bf16, fp16"):
        RunConfig(precision="fp8").validated()


def test_suite_keys_are_the_settings_but_the_label():
    assert suites.SETTINGS == set(SETTINGS) - {"name"}
    with pytest.raises(BenchError, match="not a run setting.*Did you mean 'epochs'"):
        suites.parse("[base]\nepoch = 3\n", "s.toml", "s")


def test_the_settings_reference_is_generated_from_the_table():
    text = SETTINGS_PAGE.read_text()
    start = text.index("<!-- settings table: generated, do not edit -->\n") + len(
        "<!-- settings table: generated, do not edit -->\n"
    )
    end = text.index("<!-- end of settings table -->")
    assert text[start:end] == markdown_table()


@pytest.mark.parametrize("name", choices("optimizer"))
def test_every_optimizer_choice_builds_its_own_optimizer(name):
    model = torch.nn.Linear(2, 2)
    optimizer, _ = loop.build_optimizer(RunConfig(optimizer=name).validated(), model, 1)
    expected = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}
    assert type(optimizer) is expected[name]


@pytest.mark.parametrize("name", choices("scheduler"))
def test_every_scheduler_choice_builds_its_schedule(name):
    config = RunConfig(scheduler=name, lr_milestones=(2,)).validated()
    _, schedule = loop.build_optimizer(config, torch.nn.Linear(2, 2), 3)
    assert (schedule.scheduler is None) == (name == "none")


def test_every_precision_and_normalization_choice_is_implemented():
    from benchbench.data.normalize import statistics

    # auto is resolved to one of the others before training (api.plan_runs, run_suite)
    assert set(loop.AUTOCAST_DTYPES) == set(choices("precision")) - {"auto"}
    images = torch.randint(0, 255, (4, 3, 2, 2), dtype=torch.uint8)
    for mode in choices("normalize"):
        mean, std = statistics(mode, images)
        assert mean.shape[1] in (1, 3) and bool((std > 0).all())
