"""--compile: torch.compile where the backend runs, timed apart, refused cleanly elsewhere."""

import json

import pytest
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


@pytest.mark.parametrize("mode", ["online", "offline"])
def test_a_compiled_model_compiles_per_shape_not_per_batch(mode):
    """Augmentation and batching run eagerly around the compiled model: their per-batch
    Python state (seeds, draw counters, copies) never reaches a graph, so longer training
    compiles nothing more."""
    from torch._dynamo.utils import counters

    from benchbench.config import RunConfig
    from benchbench.plugins.manager import load_components
    from benchbench.training.loop import train

    components = load_components(use_entry_points=False)
    graphs = []
    for epochs in (1, 3):
        torch._dynamo.reset()
        counters.clear()
        config = RunConfig(
            dataset="digits",
            arch="cnn_5x5",
            augs=("standard", "cutmix"),
            aug_mode=mode,
            epochs=epochs,
            compile=True,
            device="cpu",
        ).validated()
        train(config, components)
        graphs.append(counters["stats"]["unique_graphs"])
    assert graphs[0] == graphs[1] > 0
