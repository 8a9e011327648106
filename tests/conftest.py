import os
import sys

import pytest

from benchbench.cli.app import main


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Every test gets its own results and cache directories."""
    monkeypatch.setenv("BENCH_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("BENCH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("BENCH_DEBUG", raising=False)
    return tmp_path


class Result:
    def __init__(self, code, out, err):
        self.code, self.out, self.err = code, out, err


@pytest.fixture
def bench(capsys):
    """Call ``bench ARGS`` in-process; returns exit code, stdout and stderr."""

    def call(*args):
        capsys.readouterr()
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exc:
            code = exc.code
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return call


# A run small enough for unit tests: digits, a narrow resnet_skip, two epochs.
FAST = [
    "--dataset",
    "digits",
    "--arch",
    "resnet_skip",
    "--set",
    "arch.widths=8,16",
    "--epochs",
    "2",
    "--batch-size",
    "64",
]


def bench_subprocess_env(**extra):
    env = dict(os.environ)
    env.update(extra)
    return env


PYTHON = sys.executable
