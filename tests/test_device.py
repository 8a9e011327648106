"""Device logic a GPU user relies on, checked on the CPU with faked CUDA facts: one run id
per device, bf16 only where the GPU has it, the determinism and TF32 switches, warm-up
shapes, peak memory. benchmarks/gpu_check.py confirms the rest on a real GPU."""

import json
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest
import torch

from benchbench.config import RunConfig
from benchbench.errors import BenchError
from benchbench.training import device as devices
from benchbench.training.loop import eval_sizes
from benchbench.training.loop import warmup_sizes

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def two_gpus(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)


def test_auto_cuda_and_cuda0_are_one_device_and_one_run_id(two_gpus):
    names = {str(devices.resolve(n)) for n in ("auto", "cuda", "cuda:0")}
    assert names == {"cuda:0"}
    assert str(devices.resolve("cuda:1")) == "cuda:1"
    ids = {RunConfig(device=n).run_id for n in names}
    assert len(ids) == 1


@pytest.mark.parametrize("capability, refused", [((7, 5), True), ((7, 0), True), ((8, 0), False)])
def test_bf16_is_refused_below_compute_capability_8(monkeypatch, capability, refused):
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "Tesla T4")
    device = torch.device("cuda", 0)
    if refused:
        with pytest.raises(BenchError, match=r"Tesla T4 \(cuda:0, compute capability 7\.\d\)"):
            devices.check_precision(device, "bf16")
    else:
        devices.check_precision(device, "bf16")
    devices.check_precision(device, "fp16")  # fp16 is fine anywhere


def test_bf16_on_a_cpu_without_native_support_warns(monkeypatch, caplog):
    monkeypatch.setattr(devices, "cpu_has_bf16", lambda: False)
    devices.check_precision(torch.device("cpu"), "bf16")
    assert "many times slower" in caplog.text


@pytest.fixture
def restore_switches():
    saved = (
        torch.are_deterministic_algorithms_enabled(),
        torch.backends.cudnn.deterministic,
        torch.backends.cudnn.benchmark,
        torch.backends.cuda.matmul.allow_tf32,
        torch.backends.cudnn.allow_tf32,
        os.environ.get("CUBLAS_WORKSPACE_CONFIG"),
    )
    yield
    torch.use_deterministic_algorithms(saved[0])
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = saved[1:3]
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved[3:5]
    if saved[5] is None:
        os.environ.pop("CUBLAS_WORKSPACE_CONFIG", None)


def test_deterministic_and_tf32_switches_are_set_both_ways(restore_switches, monkeypatch):
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    gpu = torch.device("cuda", 0)
    devices.configure(gpu, deterministic=True, tf32="off")
    assert torch.are_deterministic_algorithms_enabled()
    assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == devices.CUBLAS_WORKSPACE
    assert not torch.backends.cuda.matmul.allow_tf32 and not torch.backends.cudnn.allow_tf32
    devices.configure(gpu, deterministic=False, tf32="on")
    assert not torch.are_deterministic_algorithms_enabled()
    assert torch.backends.cudnn.benchmark and not torch.backends.cudnn.deterministic
    assert torch.backends.cuda.matmul.allow_tf32 and torch.backends.cudnn.allow_tf32
    devices.configure(torch.device("cpu"), deterministic=False, tf32="off")
    assert not torch.backends.cudnn.benchmark  # no autotuning off the GPU


def test_a_run_records_its_switches_peak_memory_and_median(bench, isolated, restore_switches):
    result = bench("run", "--arch", "mlp", "--epochs", "2", "--deterministic", "--json")
    assert result.code == 0, result.err
    summary = json.loads(result.out)
    assert summary["peak_memory_mb"] > 0 and summary["train_seconds_per_epoch_median"] > 0
    shown = json.loads(bench("show", summary["run_id"], "--json").out)
    env = shown["environment"]
    assert env["deterministic"] is True and env["tf32"] == "off"
    assert env["precision"] == "fp32" and env["cores"] >= 1
    plain = json.loads(bench("run", "--arch", "mlp", "--epochs", "2", "--json").out)
    assert plain["run_id"] != summary["run_id"]  # a deterministic run is its own experiment
    # On the CPU both are bit-identical anyway.
    assert plain["final_train_loss"] == summary["final_train_loss"]


def test_warm_up_covers_the_ragged_batches():
    assert warmup_sizes(1000, 128) == [128, 128, 1000 % 128]
    assert warmup_sizes(1024, 128) == [128, 128]  # no ragged batch
    assert warmup_sizes(50, 128) == [50, 50]
    assert warmup_sizes(1000, 128, max_batches=2) == [128, 128]  # never reaches the end
    assert eval_sizes(5000, 10000, 5000) == sorted({1024, 5000 % 1024, 10000 % 1024})
    assert eval_sizes(144, 360, 144) == [144]  # 360 > what can be warmed up on


def test_gpu_check_refuses_cleanly_without_cuda():
    if torch.cuda.is_available():
        pytest.skip("a GPU is here: run benchmarks/gpu_check.py itself")
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "gpu_check.py"), "--epochs", "1"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "no CUDA device" in done.stderr
    assert "Traceback" not in done.stderr


def test_process_workers_index_into_the_gpus_the_driver_may_use(monkeypatch, caplog):
    from benchbench.execution.executors.process import pin_gpu
    from benchbench.execution.executors.process import worker_count
    from benchbench.execution.runner import PINNED_GPU as PINNED

    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.delenv(PINNED, raising=False)
    pin_gpu(1, 2, "2,3")  # the job was given GPUs 2 and 3
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "3" and os.environ[PINNED] == "1"
    pin_gpu(0, 2, None)
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "0"
    assert worker_count(2, 1) == 1 and "one per GPU" in caplog.text  # never two on one card
    assert worker_count(4, 0) == 4  # CPU runs: as asked


@pytest.mark.parametrize(
    "granted",
    ["BENCH_PINNED_GPU", "SLURM_JOB_ID"],  # a process-executor worker, a Slurm task
)
def test_a_worker_granted_a_gpu_trains_on_its_own_cuda0(monkeypatch, granted):
    from benchbench.execution import runner

    seen = {}

    def fake_train(config, components, on_epoch, **resumable):
        seen["device"] = config.device
        raise RuntimeError("stop here")

    monkeypatch.delenv("BENCH_PINNED_GPU", raising=False)
    monkeypatch.setenv(granted, "1")
    monkeypatch.setattr("benchbench.training.loop.train", fake_train)
    monkeypatch.setattr(devices, "resolve", lambda name: torch.device("cpu"))
    with pytest.raises(RuntimeError, match="stop here"):
        runner.train_detached({"device": "cuda:1", "arch": "mlp"})
    assert seen["device"] == "cuda:0"


def test_precision_auto_considers_bf16_only_where_native(monkeypatch):
    cpu = torch.device("cpu")
    monkeypatch.setattr(devices, "cpu_has_bf16", lambda: False)
    assert devices.precision_candidates("auto", cpu) == ("fp32",)
    monkeypatch.setattr(devices, "cpu_has_bf16", lambda: True)
    assert devices.precision_candidates("auto", cpu) == ("fp32", "bf16")  # probed per run
    assert devices.precision_candidates("fp16", cpu) == ("fp16",)  # asked for: kept
    gpu = torch.device("cuda", 0)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (7, 5))
    assert devices.precision_candidates("auto", gpu) == ("fp32",)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (9, 0))
    assert devices.precision_candidates("auto", gpu) == ("bf16",)


def test_precision_auto_keeps_fp32_unless_bf16_is_clearly_faster():
    assert devices.pick_precision({"fp32": [10.0, 11.0, 10.5], "bf16": [4.0, 4.2, 9.0]}) == "bf16"
    # a burst of load slowed most bf16 steps: the fastest says what the hardware does
    assert devices.pick_precision({"fp32": [10.0, 10.2, 10.1], "bf16": [4.0, 30.0, 31.0]}) == "bf16"
    assert devices.pick_precision({"fp32": [10.0, 10.0, 10.0], "bf16": [9.5, 9.4, 9.6]}) == "fp32"
    assert devices.pick_precision({"fp32": [10.0], "bf16": [30.0]}) == "fp32"
    assert devices.pick_precision({"fp16": [1.0]}) == "fp16"


def test_layout_auto_is_channels_last_for_conv_nets_only():
    conv = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Flatten())
    mlp = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 2))
    cpu = torch.device("cpu")
    assert devices.resolve_layout("auto", cpu, conv) == "channels_last"
    assert devices.resolve_layout("auto", torch.device("cuda", 0), conv) == "channels_last"
    assert devices.resolve_layout("auto", cpu, mlp) == "contiguous"
    assert devices.resolve_layout("auto", torch.device("mps"), conv) == "contiguous"
    assert devices.resolve_layout("contiguous", cpu, conv) == "contiguous"  # asked for: kept


@pytest.mark.parametrize(("arch", "layout"), [("mlp", "contiguous"), ("cnn_5x5", "channels_last")])
def test_a_run_stores_the_precision_and_layout_auto_chose(
    bench, isolated, monkeypatch, arch, layout
):
    monkeypatch.setattr(devices, "cpu_has_bf16", lambda: True)  # a choice to make, probed
    result = bench(
        "run", "--arch", arch, "--epochs", "1", "--subset", "64", "--precision", "auto", "--json"
    )
    assert result.code == 0, result.err
    shown = json.loads(bench("show", json.loads(result.out)["run_id"], "--json").out)
    assert shown["config"]["precision"] == "auto"  # the id means "the fastest here"
    environment = shown["environment"]
    assert environment["precision"] in ("fp32", "bf16")
    assert set(environment["precision_probe_ms"]) == {"fp32", "bf16"}
    assert environment["layout"] == layout


def test_a_node_without_the_data_says_which_node(tmp_path):
    import socket

    from benchbench.errors import BenchError
    from benchbench.execution import runner

    missing = tmp_path / "not-on-this-node"
    with pytest.raises(BenchError, match=f"does not exist on node {socket.gethostname()}"):
        runner.train_detached({"dataset": "imagefolder", "data_dir": str(missing)})


def test_a_cluster_resolves_auto_for_its_nodes_not_the_driver(monkeypatch):
    from benchbench.execution.executors.slurm import SlurmExecutor

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # a CPU-only login node
    gpu_nodes = SlurmExecutor(None, types.SimpleNamespace(root="."), gpus_per_run=1)
    assert gpu_nodes.resolve_device("auto") == "cuda:0"
    assert gpu_nodes.resolve_device("cuda") == "cuda:0"  # spelled as a run id hashes it
    assert gpu_nodes.resolve_device("cuda:2") == "cuda:2"
    cpu_nodes = SlurmExecutor(None, types.SimpleNamespace(root="."), gpus_per_run=0)
    assert cpu_nodes.resolve_device("auto") == "cpu"
    with pytest.raises(Exception, match="use auto, cpu, cuda or cuda:INDEX"):
        gpu_nodes.resolve_device("gpu")


def test_the_local_executor_stops_a_sweep_after_a_cuda_error(isolated, monkeypatch):
    from benchbench.config import RunConfig
    from benchbench.errors import BenchError
    from benchbench.execution.executors import Events
    from benchbench.execution.executors import local
    from benchbench.results.store import Store

    def broken(config, components, store, **kwargs):
        raise RuntimeError("CUDA error: device-side assert triggered")

    monkeypatch.setattr(local, "execute", broken)
    executor = local.LocalExecutor(None, Store(isolated / "results"))
    configs = [RunConfig(device="cuda:0", seed=s) for s in range(3)]
    results = executor.run(configs, Events())
    first = next(results)
    assert first[1] == "failed" and "device-side assert" in first[2]
    with pytest.raises(BenchError, match="the sweep stops here"):
        next(results)
    cpu = local.LocalExecutor(None, Store(isolated / "results"))
    cpu_results = list(cpu.run([RunConfig(device="cpu", seed=s) for s in range(2)], Events()))
    assert [r[1] for r in cpu_results] == ["failed", "failed"]  # a CPU run's error is its own
