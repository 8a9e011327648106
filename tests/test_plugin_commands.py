"""Plugins add `bench` subcommands through benchbench_register_commands."""

import json

from benchbench import hookimpl


@hookimpl
def benchbench_register_commands(cli):
    @cli.command()
    def hello(name: str = "world") -> None:
        """Say hello (a plugin's command)."""
        print(f"hello {name}")

    @cli.command("run")
    def clashing() -> None:
        print("never")


def test_a_plugin_adds_a_command(bench, monkeypatch):
    monkeypatch.setenv("BENCH_PLUGINS", "greeting_plugin")
    assert "greet" in bench("--help").out
    result = bench("greet")
    assert result.code == 0 and result.out.strip() == "greetings"


def test_a_command_that_takes_a_builtin_name_is_refused_and_reported(bench, monkeypatch):
    monkeypatch.setenv("BENCH_PLUGINS", "test_plugin_commands")
    assert "hello" not in bench("--help").out  # the plugin's commands are left out whole
    plugins = json.loads(bench("plugins", "--json").out)
    (ours,) = [p for p in plugins if p["name"] == "test_plugin_commands"]
    assert any("`bench run` exists already" in e for e in ours["errors"])
    assert bench("run", "--help").code == 0 and "Train and evaluate" in bench("run", "--help").out
