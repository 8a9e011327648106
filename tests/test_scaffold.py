"""`bench plugins new NAME` writes a plugin package that works as written."""

import os
import subprocess
import sys
import tomllib

from benchbench import DISTRIBUTION


def test_a_new_plugin_package_registers_and_trains(bench, tmp_path):
    result = bench("plugins", "new", "demo", "--dir", tmp_path)
    assert result.code == 0, result.err
    root = tmp_path / "benchbench-demo"
    project = tomllib.loads((root / "pyproject.toml").read_text())
    assert project["project"]["dependencies"] == [DISTRIBUTION]
    assert project["project"]["entry-points"]["benchbench"] == {"demo": "benchbench_demo"}
    assert project["build-system"]["build-backend"] == "setuptools.build_meta"
    source = (root / "src" / "benchbench_demo" / "__init__.py").read_text()
    assert "\nimport torch" not in source  # light at import time, like the guide says
    env = {**os.environ, "PYTHONPATH": str(root / "src")}
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(root / "tests")],
        capture_output=True,
        text=True,
        env=env,
        cwd=root,
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr


def test_bad_names_and_existing_folders_are_refused(bench, tmp_path):
    assert bench("plugins", "new", "Bad-Name", "--dir", tmp_path).code == 2
    assert bench("plugins", "new", "class", "--dir", tmp_path).code == 2
    assert bench("plugins", "new", "ok", "--dir", tmp_path).code == 0
    again = bench("plugins", "new", "ok", "--dir", tmp_path)
    assert again.code == 2 and "exists already" in again.err
