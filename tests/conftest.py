import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from benchbench.cli.app import main
from benchbench.cli.context import components
from benchbench.plugins import manager


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Every test gets its own results and cache directories."""
    monkeypatch.setenv("BENCH_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("BENCH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("BENCH_DEBUG", raising=False)
    components.cache_clear()  # plugins load afresh: a test may add some ($BENCH_PLUGINS)
    monkeypatch.setattr(manager, "_CURRENT", None)
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


# -- a model that blocks on an event, for tests that kill a run mid-training -------------

BLOCKER = textwrap.dedent(
    """
    import os
    import time

    from benchbench import hookimpl


    @hookimpl
    def benchbench_register_architectures(registry):
        registry.add("blocker", build, description="blocks in epoch 2 when told to (tests)")
        registry.add("crasher", crasher, description="dies in training as told (tests)")
        registry.add("too_wide", too_wide, description="13 outputs whatever the classes")
        registry.add("lazy", lazy, description="nn.LazyLinear (tests)")


    def crasher(*, num_classes, input_shape, how="exit"):
        import signal

        from torch import nn

        class Crasher(nn.Module):
            def __init__(self):
                super().__init__()
                self.net = nn.Sequential(nn.Flatten(), nn.LazyLinear(num_classes))

            def forward(self, x):
                if self.training:  # the first training step (the warm-up's) dies
                    if how == "noise":  # prints on stdout, from Python and from C
                        print("noise from a plugin")
                        os.write(1, b"raw noise on fd 1\\n")
                        return self.net(x)
                    if how == "exit":
                        raise SystemExit(3)
                    if how == "interrupt":
                        raise KeyboardInterrupt
                    if how == "kill":
                        os.kill(os.getpid(), signal.SIGKILL)
                    raise RuntimeError("crasher: simulated bug")
                return self.net(x)

        return Crasher()


    def too_wide(*, num_classes, input_shape):
        from torch import nn

        return nn.Sequential(nn.Flatten(), nn.LazyLinear(13))


    def lazy(*, num_classes, input_shape):
        from torch import nn

        return nn.Sequential(nn.Flatten(), nn.LazyLinear(32), nn.ReLU(), nn.LazyLinear(num_classes))


    def build(*, num_classes, input_shape, block: bool = True):
        from torch import nn

        class Blocker(nn.Module):
            def __init__(self):
                super().__init__()
                size = input_shape[0] * input_shape[1] * input_shape[2]
                self.net = nn.Sequential(nn.Flatten(), nn.Linear(size, num_classes))
                self.evaluated = False

            def forward(self, x):
                if not self.training and len(x) > 2:  # not the 2-image shape check
                    self.evaluated = True
                elif self.evaluated and block and os.environ.get("BLOCKER_SIGNAL"):
                    # A training step after a validation pass: epoch 1 is stored by now.
                    open(os.environ["BLOCKER_SIGNAL"], "w").close()
                    release = os.environ["BLOCKER_SIGNAL"] + ".release"
                    while not os.path.exists(release):  # a test that kills never releases
                        time.sleep(0.05)
                return self.net(x)

        return Blocker()
    """
)
SAFETY = 600  # seconds: only ever reached if the run crashed or hung before its signal


@pytest.fixture
def blocker(isolated, monkeypatch):
    (isolated / "blocker_plugin.py").write_text(BLOCKER)  # blocker, crasher, too_wide, lazy
    monkeypatch.setenv("PYTHONPATH", f"{isolated}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    monkeypatch.setenv("BENCH_PLUGINS", "blocker_plugin")
    monkeypatch.syspath_prepend(str(isolated))
    return isolated


def blocked_run(tmp_path, args, command="run"):
    """A ``bench COMMAND ARGS`` subprocess once a ``blocker`` model has stored epoch 1 and
    blocks in epoch 2 (an event, not a deadline: SAFETY is only reached if it crashed)."""
    signal_file = tmp_path / f"signal-{time.monotonic_ns()}"
    return bench_waiting(args, signal_file, {"BLOCKER_SIGNAL": str(signal_file)}, command)


def bench_waiting(args, signal_file, env, command="run", **popen):
    """A ``bench COMMAND ARGS`` subprocess (``env`` added to ours), returned once it has
    created ``signal_file``: an event, not a deadline (SAFETY is only reached if it
    crashed or hung before its moment)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "benchbench", command, *map(str, args)],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )
    started = time.monotonic()
    while not signal_file.exists():
        if process.poll() is not None:
            raise AssertionError(f"the run ended before its moment: {process.stderr.read()}")
        if time.monotonic() - started > SAFETY:
            process.kill()
            raise AssertionError("the run never reached its moment")
        time.sleep(0.02)
    return process


def kill(process):
    process.send_signal(signal.SIGKILL)
    process.wait()
