"""--compile: torch.compile where the backend runs, timed apart, refused cleanly elsewhere."""

import json

import torch
from conftest import FAST

from benchbench.training import device as devices


def test_compile_is_refused_where_the_backend_cannot_run(bench, monkeypatch):
    monkeypatch.setattr(devices, "compile_unsupported", lambda device: "no C++ compiler (c++)")
    result = bench("run", *FAST, "--compile")
    assert result.code == 2
    assert "--compile: no C++ compiler (c++). Run without --compile." in result.err
    assert "Traceback" not in result.err


def test_a_compiler_failure_is_a_usage_error_not_a_crash(bench, monkeypatch):
    class Broken(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, x):
            raise RuntimeError("inductor: C++ compile error\nlong log...")

    monkeypatch.setattr(devices, "compile_unsupported", lambda device: None)
    monkeypatch.setattr(torch, "compile", Broken)
    result = bench("run", *FAST, "--compile")
    assert result.code == 2
    assert "torch.compile failed on this model here (RuntimeError: inductor: C++" in result.err
    assert "long log" not in result.err


def test_a_compiled_run_times_compiling_apart_and_learns_like_eager(bench):
    args = ["--dataset", "digits", "--arch", "mlp", "--epochs", "2", "--json"]
    eager = json.loads(bench("run", *args).out)
    compiled = bench("run", *args, "--compile")
    assert compiled.code == 0, compiled.err
    compiled = json.loads(compiled.out)
    assert compiled["run_id"] != eager["run_id"]
    assert compiled["compile_seconds"] > 0 and eager["compile_seconds"] == 0
    assert abs(compiled["test_acc"] - eager["test_acc"]) < 0.05
