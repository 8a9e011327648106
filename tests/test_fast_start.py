"""`bench --help` and `bench list` must not import torch (nor the other heavy libraries)."""

import subprocess
import sys

import pytest

HEAVY = ("torch", "torchvision", "pandas", "sklearn", "matplotlib")
PROBE = """
import atexit, sys
atexit.register(lambda: print("HEAVY:" + ",".join(m for m in {heavy} if m in sys.modules),
                              file=sys.stderr))
from benchbench.cli.app import main
main({argv})
"""


@pytest.mark.parametrize(
    "argv", [["--help"], ["list"], ["list", "archs", "--json"], ["plugins"], ["run", "--help"]]
)
def test_no_heavy_import(argv):
    code = PROBE.format(heavy=HEAVY, argv=argv)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "HEAVY:\n" in done.stderr, done.stderr
