"""Device-resident against streamed data: what streaming costs, and what it saves.

    python benchmarks/streaming.py [--data-dir ../shared/datasets/cifar10-jpg] [--repeats 2]

Trains one epoch of ``--arch`` on the image folder (decoded once into the memory-mapped
cache) with ``--data-placement device`` and ``stream``, interleaved ABAB, and prints per
variant the median train seconds per epoch and the peak *anonymous* resident memory of
the run's process (``RssAnon``, sampled every 50 ms: the memory a process cannot give
back; the cache file's pages are the kernel's page cache, dropped under pressure). The
stored test accuracies must agree: a streamed run computes what a resident one does.

Numbers are printed, never asserted: quote them in notes, with ``uptime`` and ``lscpu``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "datasets" / "cifar10-jpg"


def anonymous_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def one_run(args, placement: str, results: Path) -> dict:
    command = [
        *(sys.executable, "-m", "benchbench", "run", "--dataset", "imagefolder"),
        *("--data-dir", str(args.data_dir), "--arch", args.arch, "--epochs", "1"),
        *("--data-placement", placement, "--results", str(results), "--json", "--force"),
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0.0
    while process.poll() is None:
        peak = max(peak, anonymous_mb(process.pid))
        time.sleep(0.05)
    out, err = process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"bench run failed:\n{err}")
    run_id = json.loads(out)["run_id"]
    shown = subprocess.run(
        [sys.executable, "-m", "benchbench", "show", run_id, "--results", str(results), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    summary = json.loads(shown.stdout)["summary"]
    return {
        "seconds": summary["train_seconds_per_epoch"],
        "anon_mb": peak,
        "test_acc": summary["test_acc"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--arch", default="cnn_5x5")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    measured: dict[str, list[dict]] = {"device": [], "stream": []}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            for placement in ("device", "stream") if repeat % 2 == 0 else ("stream", "device"):
                measured[placement].append(one_run(args, placement, Path(tmp) / placement))
    print(f"| {args.arch}, 1 epoch | train s/epoch (median) | peak RssAnon MB | test acc |")
    print("| --- | ---: | ---: | ---: |")
    for placement, runs in measured.items():
        seconds = statistics.median(r["seconds"] for r in runs)
        anon = statistics.median(r["anon_mb"] for r in runs)
        accuracy = {round(r["test_acc"], 4) for r in runs}
        print(f"| {placement} | {seconds:.2f} | {anon:.0f} | {', '.join(map(str, accuracy))} |")


if __name__ == "__main__":
    main()
