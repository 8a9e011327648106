"""GPU smoke check: what only a CUDA machine can confirm about benchbench's device paths.

    python benchmarks/gpu_check.py [--epochs 2] [--archs cnn_small,resnet_skip,...]

1. Every built-in architecture trains twice with ``--deterministic``: the per-epoch
   histories (losses, accuracies) must be identical, bit for bit.
2. One epoch of each runs under ``torch.cuda.set_sync_debug_mode("warn")``, with online
   augmentation and with offline copies: the number of host-device synchronizations is
   printed (the loop reads its epoch totals once per epoch, so "error" mode would stop at
   that legitimate read; a count that grows with the batches is a stall worth fixing).
   Then one ``--compile`` run with ``--precision auto`` (bf16 on compute capability 8.0+).
3. Prints s/epoch, peak GPU memory and the environment each run recorded (compute
   capability, memory, cuDNN, TF32 and determinism switches).

On a machine without CUDA it refuses cleanly (exit code 2). Numbers are printed, never
asserted, except the determinism check (exit code 1 if two histories differ).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import warnings

ARCHS = (
    "mlp",
    "lenet",
    "cnn_5x5",
    "cnn_small",
    "resnet_skip",
    "vgg_blocks",
    "torchvision:mobilenet_v3_small",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--archs", default=",".join(ARCHS))
    args = parser.parse_args(argv)

    import torch

    if not torch.cuda.is_available():
        print(
            "gpu_check: no CUDA device is available here; run this script on a machine with "
            "an NVIDIA GPU and a CUDA build of torch.",
            file=sys.stderr,
        )
        return 2

    from benchbench import api
    from benchbench.config import RunConfig

    failures = 0
    rows = []
    with tempfile.TemporaryDirectory() as results:
        for arch in args.archs.split(","):
            config = RunConfig(
                arch=arch,
                dataset="fake",
                dataset_options={"size": 32, "train_size": 2048, "test_size": 512},
                epochs=args.epochs,
                device="cuda",
                deterministic=True,
            )
            histories = []
            for attempt in range(2):
                (summary,) = api.run(config, results=results, force=attempt > 0)
                store = api.open_store(results)
                histories.append(
                    [
                        {k: h[k] for k in ("train_loss", "train_acc", "val_loss", "val_acc")}
                        for h in store.history(summary["run_id"])
                    ]
                )
            identical = histories[0] == histories[1]
            failures += not identical
            syncs = {}
            for mode, augs in (("online", ("standard",)), ("offline", ("shift", "cutmix"))):
                torch.cuda.set_sync_debug_mode("warn")
                try:
                    with warnings.catch_warnings(record=True) as caught:
                        warnings.simplefilter("always")
                        api.run(
                            RunConfig.from_dict(
                                {**config.to_dict(), "epochs": 1, "augs": augs, "aug_mode": mode}
                            ),
                            results=results,
                            force=True,
                        )
                finally:
                    torch.cuda.set_sync_debug_mode("default")
                syncs[mode] = len(caught)
            (compiled,) = api.run(
                RunConfig.from_dict(
                    {**config.to_dict(), "epochs": 1, "compile": True, "precision": "auto"}
                ),
                results=results,
            )
            record = store.get(summary["run_id"])
            rows.append(
                {
                    "arch": arch,
                    "deterministic_identical": identical,
                    "syncs_in_one_epoch": syncs,
                    "compiled_s_per_epoch": compiled["train_seconds_per_epoch"],
                    "compile_seconds": compiled["compile_seconds"],
                    "train_s_per_epoch": summary["train_seconds_per_epoch"],
                    "peak_memory_mb": summary["peak_memory_mb"],
                    "environment": record.environment,
                }
            )
            print(json.dumps(rows[-1], indent=2, default=str), flush=True)
    print(f"{len(rows) - failures}/{len(rows)} architectures bit-identical with --deterministic")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
