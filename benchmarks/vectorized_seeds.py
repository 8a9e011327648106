"""K seeds as one batched (vmap-ed) model against K runs one after another.

    python benchmarks/vectorized_seeds.py [--arch cnn_5x5] [--seeds 5] [--batch-size 128]

One training step of all K replicas both ways on random CIFAR-shaped data, interleaved,
medians: what `bench run --seeds 0-4 --vectorize` probes before it batches. The issue's
target (K=5 in at most 2x one seed's time) is a GPU's; on a CPU one run already fills the
cores. Prints, never asserts: quote the figures with the host and the load.
"""

from __future__ import annotations

import argparse
import os

import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="cnn_5x5")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--precision", default="fp32", choices=("fp32", "bf16"))
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()

    from benchbench.config import RunConfig
    from benchbench.plugins.manager import load_components
    from benchbench.training import device as devices
    from benchbench.training.loop import Batcher
    from benchbench.training.loop import build_model
    from benchbench.training.vectorized import pays

    components = load_components()
    device = devices.resolve(args.device)
    shape, classes = (3, 32, 32), 10
    configs = [
        RunConfig(arch=args.arch, batch_size=args.batch_size, seed=s, device=str(device))
        for s in range(args.seeds)
    ]
    models = [build_model(c, components, classes, shape).to(device) for c in configs]
    batcher = Batcher(torch.zeros(1, 3, 1, 1), torch.ones(1, 3, 1, 1), device, args.precision)
    batched, sequential = pays(models, configs[0], shape, classes, batcher)
    one = sequential / args.seeds
    print(
        f"host: {devices.cpu_model() if device.type == 'cpu' else device}; "
        f"{torch.get_num_threads()} threads; load {os.getloadavg()[0]:.2f}; {args.precision}"
    )
    print(f"| {args.arch}, batch {args.batch_size} | s/step | x one seed |")
    print("|---|---|---|")
    print(f"| 1 seed | {one:.4f} | 1.00 |")
    print(f"| {args.seeds} seeds, one after another | {sequential:.4f} | {sequential / one:.2f} |")
    print(f"| {args.seeds} seeds, batched (vmap) | {batched:.4f} | {batched / one:.2f} |")


if __name__ == "__main__":
    main()
