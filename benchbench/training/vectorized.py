"""Vectorized seeds: the replicas of one configuration trained as one batched model.

``bench run --seeds 0-4 --vectorize``: each seed's model is built as a sequential run
builds it (same initialization), their weights are stacked
(:func:`torch.func.stack_module_state`) and one ``torch.vmap``-ed forward pass trains them
all. Each replica keeps its own batch order, augmentation seeds, dropout draws, batch-norm
statistics, optimizer state, gradient clipping and early stopping; each is stored as its
own run, its environment saying it was vectorized. On a GPU this is where repeats become
cheap; on a CPU one run already fills the cores, so :func:`pays` times both ways first and
the caller falls back to sequential runs when batching is not faster.

A replica matches its seed's sequential run to float rounding, with one exception: dropout
masks come from vmap's per-replica stream (seeded by the first seed), not from each seed's
own, so with dropout a replica is an equally valid but different draw (and the same one
every time). fp16 is not vectorized (one GradScaler would skip every replica's step for one
replica's overflow); under ``--precision auto`` replicas use bf16 wherever the device runs
it natively, without the per-run probe.
"""

from __future__ import annotations

import copy
import statistics
from collections.abc import Callable

import torch
import torch.nn.functional as F

from benchbench.config import RunConfig
from benchbench.data.batches import BatchSource
from benchbench.data.normalize import statistics as norm_statistics
from benchbench.errors import BenchError
from benchbench.plugins.manager import Components
from benchbench.training import device as devices
from benchbench.training.device import Stopwatch
from benchbench.training.loop import EVAL_BATCH
from benchbench.training.loop import Batcher
from benchbench.training.loop import Lane
from benchbench.training.loop import Outcome
from benchbench.training.loop import build_augment
from benchbench.training.loop import build_model
from benchbench.training.loop import fit
from benchbench.training.loop import init_from_data
from benchbench.training.loop import set_up
from benchbench.training.loop import steps_per_epoch
from benchbench.training.loop import tta_views
from benchbench.training.optimization import Schedule
from benchbench.training.optimization import make_optimizer
from benchbench.training.optimization import parameter_groups
from benchbench.training.resume import ResumePoints
from benchbench.training.resume import StopRequest

PROBE_STEPS = 3


def check(configs: list[RunConfig]) -> None:
    """Replicas must differ in their seed alone."""
    if len({c.group_id for c in configs}) != 1:
        raise BenchError("--vectorize trains the seeds of one configuration: give one config.")
    if configs[0].precision == "fp16":
        raise BenchError(
            "--vectorize with --precision fp16: one loss scaler would skip every replica's "
            "step when one overflows. Use bf16 or fp32, or drop --vectorize."
        )
    if configs[0].compile:
        raise BenchError("--vectorize with --compile: choose one of them.")


class Replicas:
    """K models of one architecture as stacked parameters and buffers, run by vmap."""

    def __init__(self, models: list[torch.nn.Module], config: RunConfig):
        self.names = [n for n, p in models[0].named_parameters() if p.requires_grad]
        params, self.buffers = torch.func.stack_module_state(models)
        self.params = {n: params[n] for n in self.names}
        self.frozen = {n: p for n, p in params.items() if n not in self.params}
        self.base = copy.deepcopy(models[0]).to("meta")
        self.count = len(models)
        self.groups = parameter_groups(config, models[0])

        def forward(params, buffers, x):
            return torch.func.functional_call(self.base, (params, buffers), (x,))

        self.train_forward = torch.vmap(forward, in_dims=(0, 0, 0), randomness="different")
        self.eval_forward = torch.vmap(forward, in_dims=(0, 0, None), randomness="same")

    def __call__(self, x: torch.Tensor, shared: bool = False) -> torch.Tensor:
        """Logits ``(K, B, classes)``: ``x`` is ``(K, B, ...)``, or ``(B, ...)`` if shared."""
        weights = {**self.params, **self.frozen}
        forward = self.eval_forward if shared else self.train_forward
        return forward(weights, self.buffers, x)

    def train(self, mode: bool = True) -> None:
        self.base.train(mode)

    def optimizer(self, config: RunConfig):
        return make_optimizer(config, self.groups, self.params)

    def live(self) -> dict[str, torch.Tensor]:
        """The stacked state (parameters and buffers) training updates, by name."""
        return {**self.params, **self.buffers}

    def clip(self, max_norm: float) -> None:
        """Clip each replica's gradient norm on its own, as its own run would."""
        grads = [self.params[n].grad for n in self.names if self.params[n].grad is not None]
        norms = torch.stack([g.flatten(1).pow(2).sum(1) for g in grads]).sum(0).sqrt()
        factor = (max_norm / (norms + 1e-6)).clamp(max=1.0)
        for g in grads:
            g.mul_(factor.view(-1, *([1] * (g.ndim - 1))))

    def state(self, k: int) -> dict[str, torch.Tensor]:
        """Replica ``k``'s state dict, with the original names."""
        everything = {**self.params, **self.frozen, **self.buffers}
        return {n: t[k].detach().clone() for n, t in everything.items()}

    def load(self, k: int, state: dict[str, torch.Tensor]) -> None:
        with torch.no_grad():
            for n, t in {**self.params, **self.frozen, **self.buffers}.items():
                t[k].copy_(state[n])


def pays(models: list[torch.nn.Module], config: RunConfig, input_shape, num_classes, batcher):
    """``(vectorized, sequential)`` median seconds of one training step of all replicas on
    random data of the run's shape, interleaved: whether batching the seeds is faster here.
    Runs on copies: the models themselves are untouched."""
    device = batcher.device
    models = [copy.deepcopy(m) for m in models]
    count, batch = len(models), config.batch_size
    x = torch.randn(count, batch, *input_shape, device=device)
    y = torch.randint(0, num_classes, (count, batch), device=device)
    replicas = Replicas(models, config)  # stacks new tensors: the copies above stay apart
    stacked_opt = torch.optim.SGD(list(replicas.params.values()), lr=1e-3)
    single_opts = [torch.optim.SGD(m.parameters(), lr=1e-3) for m in models]

    def vectorized():
        with batcher.autocast():
            logits = replicas(x)
        loss = F.cross_entropy(logits.float().flatten(0, 1), y.flatten())
        stacked_opt.zero_grad()
        loss.backward()
        stacked_opt.step()

    def sequential():
        for model, opt, xs, ys in zip(models, single_opts, x, y, strict=True):
            with batcher.autocast():
                loss = F.cross_entropy(model(xs).float(), ys)
            opt.zero_grad()
            loss.backward()
            opt.step()

    times: dict = {vectorized: [], sequential: []}
    for i in range(PROBE_STEPS + 1):  # the first round warms both up
        for step in times:
            with Stopwatch(device) as watch:
                step()
            if i:
                times[step].append(watch.seconds)
    return statistics.median(times[vectorized]), statistics.median(times[sequential])


def train_replicas(
    configs: list[RunConfig],
    components: Components,
    on_start: Callable[[], None] | None = None,
    on_epoch: Callable[[int, dict], None] | None = None,
    probe: bool = True,
    resume: ResumePoints | None = None,
    stop: StopRequest | None = None,
    on_batch: Callable[[int, int], None] | None = None,
) -> tuple[list[Outcome] | None, tuple[float, float] | None]:
    """Train ``configs`` (one configuration, several seeds) as one batched model: one
    :class:`Outcome` per config, in order (``on_epoch(k, record)`` per replica and epoch),
    and the probe's ``(vectorized, sequential)`` step seconds. With ``probe``, nothing is
    trained (outcomes None) when batching is not faster than one run after another; a run
    continued from a resume point (``resume``, one for the whole group) skips the probe.
    The epochs themselves are :func:`~benchbench.training.loop.fit`'s, as for one run."""
    check(configs)
    configs = [c.scaled() for c in configs]
    config, count = configs[0], len(configs)
    device, cpu_splits, splits, load_seconds = set_up(config, components)
    classes = len(splits.classes)
    models = [build_model(c, components, classes, splits.input_shape).to(device) for c in configs]
    layout = devices.resolve_layout(config.layout, device, models[0])
    if layout == "channels_last":
        models = [m.to(memory_format=torch.channels_last) for m in models]
    precision = devices.precision_candidates(config.precision, device)[-1]  # no probe: see pays
    mean, std = norm_statistics(config.normalize, cpu_splits.train[0])
    batcher = Batcher(mean, std, device, precision, layout)
    for model in models:
        init_from_data(model, splits.train[0], batcher)
    augment = build_augment(config, components, splits)
    sources = [
        BatchSource(
            *splits.train,
            augment,
            mode=c.aug_mode,
            fraction=c.aug_fraction,
            seed=c.seed,
            num_classes=classes,
        )
        for c in configs
    ]
    timed = None
    if probe and (resume is None or resume.loaded is None):
        timed = pays(models, config, splits.input_shape, classes, batcher)
        if timed[0] >= timed[1]:
            return None, timed
    replicas = Replicas(models, config)
    num_parameters = sum(p.numel() for p in models[0].parameters())
    del models
    steps = steps_per_epoch(config, len(sources[0]))
    optimizer = replicas.optimizer(config)
    schedule = Schedule(config, optimizer, steps, replicas.live)
    if on_start is not None:
        on_start()
    execution = {
        "precision": precision,
        "layout": layout,
        "data_placement": splits.placement,
        "vectorized": count,
        **({"vectorized_probe_s": [round(t, 4) for t in timed]} if timed else {}),
    }
    lanes = [
        Lane(
            c,
            source,
            Outcome(
                "complete",
                classes=splits.classes,
                load_seconds=load_seconds,
                num_parameters=num_parameters,
                execution=dict(execution),
            ),
        )
        for c, source in zip(configs, sources, strict=True)
    ]
    engine = Stacked(replicas, optimizer, batcher, config)
    outcomes = fit(
        engine,
        lanes,
        splits,
        schedule,
        steps,
        on_epoch=on_epoch,
        on_batch=on_batch,
        resume=resume,
        stop=stop,
    )
    return outcomes, timed


class Stacked:
    """How vectorized seeds step: every replica's batch through one vmap-ed model and one
    optimizer (the same interface as :class:`~benchbench.training.loop.Single`)."""

    def __init__(self, replicas: Replicas, optimizer, batcher: Batcher, config: RunConfig):
        self.replicas, self.optimizer, self.batcher = replicas, optimizer, batcher
        self.count = replicas.count
        self.label_smoothing, self.clip_grad = config.label_smoothing, config.clip_grad

    def train(self) -> None:
        self.replicas.train()

    def step(self, drawn):
        images = torch.stack([i for i, _ in drawn])
        targets = torch.stack([t for _, t in drawn])
        count, batcher = self.count, self.batcher
        with batcher.autocast():
            x = batcher.finish(images.flatten(0, 1)).unflatten(0, (count, -1))
            logits = self.replicas(x)
            losses = F.cross_entropy(
                logits.float().flatten(0, 1),
                targets.flatten(0, 1),
                label_smoothing=self.label_smoothing,
                reduction="none",
            ).view(count, -1)
        self.optimizer.zero_grad(set_to_none=True)
        losses.mean(1).sum().backward()  # each replica's gradient is its own loss's
        if self.clip_grad is not None:
            self.replicas.clip(self.clip_grad)
        self.optimizer.step()
        hard = targets if targets.ndim == 2 else targets.argmax(2)
        correct = (logits.detach().argmax(2) == hard).sum(1)
        return losses.detach().sum(1), correct, images.shape[1]

    def evaluate(self, split, tta: str = "none") -> list[tuple[float, float]]:
        images, labels = split
        logits = self.predict(images, tta)
        losses = [F.cross_entropy(lg, labels).item() for lg in logits]
        accs = (logits.argmax(2) == labels).float().mean(1).tolist()
        return list(zip(losses, accs, strict=True))

    @torch.inference_mode()
    def predict(self, images, tta: str = "none") -> torch.Tensor:
        """Float32 logits ``(K, N, classes)`` of every replica for ``images``."""
        self.replicas.train(False)
        out = []
        for start in range(0, len(images), EVAL_BATCH):
            x = self.batcher(images[start : start + EVAL_BATCH])
            with self.batcher.autocast():
                views = [self.replicas(v, shared=True).float() for v in tta_views(x, tta)]
            out.append(torch.stack(views).mean(0))
        return torch.cat(out, dim=1)

    def state(self, k: int) -> dict[str, torch.Tensor]:
        return self.replicas.state(k)

    def load(self, k: int, state: dict[str, torch.Tensor]) -> None:
        self.replicas.load(k, state)

    def state_dict(self) -> dict:
        r = self.replicas
        return {
            "stacked": {n: t.detach() for n, t in {**r.params, **r.frozen, **r.buffers}.items()},
            "optimizer": self.optimizer.state_dict(),
        }

    def load_state_dict(self, state: dict) -> None:
        r = self.replicas
        with torch.no_grad():
            for n, t in {**r.params, **r.frozen, **r.buffers}.items():
                t.copy_(state["stacked"][n])
        self.optimizer.load_state_dict(state["optimizer"])
