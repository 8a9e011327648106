"""A real two-node Ray cluster on one machine (ray.cluster_utils.Cluster: a head and a
second node with its own resources): a sweep through --address stores every run once on
the driver, and after a kill -9 of the driver mid-sweep the same command resumes,
skipping what was stored."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import SAFETY

from benchbench.results.store import Store

ray = pytest.importorskip("ray", reason="Ray is optional: benchbench-harness[ray]")

SUITE = """
seeds = [0]
[base]
dataset = "digits"
arch = "mlp"
epochs = 2

[[variants]]
name = "first"

[[variants]]
name = "second"
lr = 0.01

[[variants]]
name = "slow"
arch = "blocker"
"""


@pytest.fixture
def cluster(blocker, monkeypatch):
    from ray.cluster_utils import Cluster

    # Ray's workers inherit the environment of the nodes, not of the driver: the plugin
    # path and the blocker's signal file are set before the nodes start.
    monkeypatch.setenv("BLOCKER_SIGNAL", str(blocker / "slow-is-blocking"))
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 2})
    cluster.add_node(num_cpus=2)  # the second node, with its own CPUs
    cluster.wait_for_nodes()
    ray.init(address=cluster.address)  # this test process watches the cluster too
    yield cluster
    ray.shutdown()
    cluster.shutdown()


def sweep(suite, address, **env):
    command = [sys.executable, "-m", "benchbench", "sweep", str(suite), "--executor", "ray"]
    command += ["--address", address, "--workers", "3", "--json"]
    return subprocess.Popen(
        command,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_two_node_sweep_survives_a_killed_driver(cluster, blocker):
    assert len([n for n in ray.nodes() if n["Alive"]]) == 2
    suite = blocker / "cluster.toml"
    suite.write_text(SUITE)
    store = Store(blocker / "results")
    signal_file = blocker / "slow-is-blocking"
    driver = sweep(suite, cluster.address)
    started = time.monotonic()
    # An event, not a deadline: the two quick runs are stored and the slow one is blocking.
    while not (signal_file.exists() and len(store.runs(statuses=("complete",))) == 2):
        assert driver.poll() is None, driver.stderr.read()
        assert time.monotonic() - started < SAFETY, "the sweep never got there"
        time.sleep(0.2)
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    signal_file.with_name(signal_file.name + ".release").touch()  # the slow run may end now
    resumed = sweep(suite, cluster.address)
    out, err = resumed.communicate(timeout=SAFETY)
    summary = json.loads(out)  # stdout is the JSON document alone
    assert summary["skipped"] == 2 and summary["completed"] == 1, err
    runs = store.runs(statuses=None)
    assert sorted(r.label for r in runs) == ["first", "second", "slow"]  # each stored once
    assert all(r.status == "complete" for r in runs)
