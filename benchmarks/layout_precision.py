"""Train images/s per seed architecture: fp32 NCHW, fp32 channels-last, bf16 NCHW, bf16
channels-last (and bf16 channels-last + torch.compile with --compile), interleaved, medians.

    python benchmarks/layout_precision.py [--threads 2] [--steps 7] [--compile]

One training step (forward, loss, backward, SGD step) on random data of each architecture's
real input size; the variants of one architecture take turns step by step (ABCD ABCD ...), so
a change of machine load hits them all alike. The last columns are what ``--precision auto``
and ``--layout auto`` pick on this machine and that choice's speed-up over fp32 NCHW.
Numbers are printed, never asserted: quote them with ``lscpu``'s model name and the load.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import torch
import torch.nn.functional as F

# (architecture, options, input shape, batch size): the seed recipes' settings
ARCHS = [
    ("cnn_5x5", {}, (3, 32, 32), 128),
    ("cnn_small", {}, (3, 32, 32), 100),
    ("resnet_skip", {}, (3, 32, 32), 64),
    ("vgg_blocks", {}, (3, 32, 32), 64),
    ("lenet", {}, (3, 32, 32), 64),
    ("mlp", {}, (3, 32, 32), 64),
    ("mobilenet_v3_small", {"resize": 128, "head": "dense"}, (3, 32, 32), 64),
]

VARIANTS = {
    "fp32 NCHW": (None, False),
    "fp32 CL": (None, True),
    "bf16 NCHW": (torch.bfloat16, False),
    "bf16 CL": (torch.bfloat16, True),
}


def make_step(model, images, labels, dtype, channels_last):
    model = model.to(memory_format=torch.channels_last) if channels_last else model
    x = images.contiguous(memory_format=torch.channels_last) if channels_last else images
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step() -> float:
        start = time.perf_counter()
        with torch.autocast("cpu", dtype=dtype or torch.float32, enabled=dtype is not None):
            loss = F.cross_entropy(model(x).float(), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return time.perf_counter() - start

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=7)
    parser.add_argument("--only", nargs="*")
    parser.add_argument("--compile", action="store_true", help="add bf16 CL + torch.compile")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    from benchbench.plugins.manager import load_components
    from benchbench.training import device as devices

    components = load_components()
    cpu = torch.device("cpu")
    variants = dict(VARIANTS)
    if args.compile:
        variants["bf16 CL compiled"] = (torch.bfloat16, True)
    print(f"host: {devices.cpu_model()}; {args.threads} threads; load {os.getloadavg()[0]:.2f}")
    print(
        f"oneDNN bf16: {devices.cpu_has_bf16()}; torch {torch.__version__}; "
        f"{platform.python_version()}\n"
    )
    names = list(variants)
    print(
        "| architecture | batch | "
        + " | ".join(f"{n} img/s" for n in names)
        + " | auto picks | auto / fp32 NCHW |"
        + (" compile s |" if args.compile else "")
    )
    print("|" + "---|" * (len(names) + 4 + args.compile))
    for arch, options, shape, batch in ARCHS:
        if args.only and arch not in args.only:
            continue
        entry = components.architectures.get(arch)
        torch.manual_seed(0)
        images = torch.randn(batch, *shape)
        labels = torch.randint(0, 10, (batch,))
        steps = {}
        compiling = 0.0
        for name, (dtype, channels_last) in variants.items():
            torch.manual_seed(0)
            model = entry.create(dict(options), num_classes=10, input_shape=shape)
            if "compiled" in name:
                model = torch.compile(model)
            steps[name] = make_step(model, images, labels, dtype, channels_last)
            start = time.perf_counter()
            steps[name]()  # warm-up (and compilation) outside the timings
            steps[name]()
            if "compiled" in name:
                compiling = time.perf_counter() - start
        times = {name: [] for name in names}
        for _ in range(args.steps):
            for name in names:
                times[name].append(steps[name]())
        rate = {name: batch / statistics.median(t) for name, t in times.items()}
        # What `--precision auto --layout auto` does in `bench run`: the layout from the
        # model's structure, then the precision from interleaved steps in that layout.
        model = entry.create(dict(options), num_classes=10, input_shape=shape)
        short = "CL" if devices.resolve_layout("auto", cpu, model) == "channels_last" else "NCHW"
        candidates = devices.precision_candidates("auto", cpu)
        precision = devices.pick_precision({p: times[f"{p} {short}"] for p in candidates})
        picked = f"{precision} {short}"
        print(
            f"| {arch} | {batch} | "
            + " | ".join(f"{rate[n]:,.0f}" for n in names)
            + f" | {picked} | {rate[picked] / rate['fp32 NCHW']:.2f}x |"
            + (f" {compiling:.1f} |" if args.compile else ""),
            flush=True,
        )


if __name__ == "__main__":
    main()
