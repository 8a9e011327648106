"""The README is a front door and the docs stand behind it: the README stays short and
links only to pages that exist, the docs build strictly (a broken link fails), and their
generated blocks match the code."""

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _hooks():
    spec = importlib.util.spec_from_file_location("docs_hooks", DOCS / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_readme_is_a_front_door():
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 200
    for heading in ("## Install", "## Quick start", "## Commands", "## Documentation"):
        assert heading in text
    assert "pip install nox && nox -s tests" in text  # the test command CI runs
    links = re.findall(r"\]\((docs/[^)#]+)", text)
    assert links and all((ROOT / link).is_file() for link in links), links


def test_every_command_is_in_the_readme_table():
    import typer.main

    from benchbench.cli.app import app

    commands = typer.main.get_command(app).commands
    table = (ROOT / "README.md").read_text()
    missing = [name for name in commands if f"`bench {name}" not in table]
    assert not missing, f"commands missing from the README's table: {missing}"


def test_every_hook_is_in_the_plugin_guide():
    from benchbench.plugins import hookspecs

    guide = (DOCS / "plugins.md").read_text()
    hooks = [name for name in dir(hookspecs) if name.startswith("benchbench_")]
    assert hooks and all(f"`{h}" in guide or f"{h}(" in guide for h in hooks), [
        h for h in hooks if h not in guide
    ]


def test_the_generated_blocks_match_the_code():
    assert _hooks().stale() == []


def _mkdocs(config: Path, site: Path):
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", config, "-d", site],
        capture_output=True,
        text=True,
    )


def test_the_docs_build_strictly(tmp_path):
    pytest.importorskip("mkdocs")  # the test extra installs it
    built = _mkdocs(ROOT / "mkdocs.yml", tmp_path / "site")
    assert built.returncode == 0, built.stderr
    assert (tmp_path / "site" / "plugins" / "index.html").is_file()


def test_a_broken_link_fails_the_docs_build(tmp_path):
    pytest.importorskip("mkdocs")  # the test extra installs it
    shutil.copytree(DOCS, tmp_path / "docs", ignore=shutil.ignore_patterns("hooks.py"))
    with (tmp_path / "docs" / "speed.md").open("a") as page:
        page.write("\nSee [the missing page](missing.md).\n")
    config = (ROOT / "mkdocs.yml").read_text().replace("hooks:\n  - docs/hooks.py\n", "")
    (tmp_path / "mkdocs.yml").write_text(config)
    built = _mkdocs(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert built.returncode != 0
    assert "missing.md" in built.stderr
