"""How a run's weights move: optimizers, learning-rate schedules, parameter groups, lookahead.

One entry per choice of the ``optimizer`` and ``scheduler`` settings (a test checks).
:func:`parameter_groups` says, by parameter name, which learning rate and weight decay each
trainable parameter gets (``--weight-decay``, ``--l2-scope``, ``--l2-style``,
``--bias-lr-scale``), so a single model (:func:`build_optimizer`) and stacked replicas
(``training.vectorized``) group their parameters the same way.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from benchbench.config import RunConfig
from benchbench.errors import BenchError


def _fused(params) -> bool:
    """Fused optimizer kernels on CUDA: one launch per step, and no host sync with fp16's
    GradScaler. Not on the CPU, where they would change the numbers runs have stored."""
    tensors = [t for p in params for t in (p["params"] if isinstance(p, dict) else [p])]
    return bool(tensors) and tensors[0].is_cuda


# One per choice of the `optimizer` setting (a test checks): params, config, weight decay.
OPTIMIZERS = {
    "sgd": lambda params, config, decay: torch.optim.SGD(
        params,
        lr=config.lr,
        momentum=config.momentum,
        nesterov=config.nesterov and config.momentum > 0,
        weight_decay=decay,
        fused=_fused(params) or None,
    ),
    "adam": lambda params, config, decay: torch.optim.Adam(
        params, lr=config.lr, weight_decay=decay, fused=_fused(params) or None
    ),
    "adamw": lambda params, config, decay: torch.optim.AdamW(
        params, lr=config.lr, weight_decay=decay, fused=_fused(params) or None
    ),
}


def triangle(total_steps: int, start=0.2, peak_at=0.23, end=0.07):
    """airbench's schedule as a factor of step ``i``: ``start`` rising linearly to 1 at
    ``peak_at`` of the steps, then falling linearly to ``end`` at the last step."""
    peak = max(1, int(peak_at * total_steps))
    total = max(total_steps, peak + 1)

    def factor(i: int) -> float:
        if i <= peak:
            return start + (1 - start) * i / peak
        return 1 + (end - 1) * min(i - peak, total - peak) / (total - peak)

    return factor


# One per choice of the `scheduler` setting (a test checks): config, optimizer, steps/epoch.
SCHEDULERS = {
    "none": lambda config, optimizer, steps: None,
    "step": lambda config, optimizer, steps: torch.optim.lr_scheduler.StepLR(
        optimizer, config.lr_step, config.lr_gamma
    ),
    "piecewise": lambda config, optimizer, steps: torch.optim.lr_scheduler.MultiStepLR(
        optimizer, list(config.lr_milestones), config.lr_gamma
    ),
    "cosine": lambda config, optimizer, steps: torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, config.epochs
    ),
    "onecycle": lambda config, optimizer, steps: torch.optim.lr_scheduler.OneCycleLR(
        optimizer,
        max_lr=[g["lr"] for g in optimizer.param_groups],
        epochs=config.epochs,
        steps_per_epoch=steps,
    ),
    "triangle": lambda config, optimizer, steps: torch.optim.lr_scheduler.LambdaLR(
        optimizer, triangle(config.epochs * steps)
    ),
}
PER_STEP = frozenset({"onecycle", "triangle"})  # stepped after every batch, not every epoch

NORMALIZATION = (
    torch.nn.modules.batchnorm._NormBase,
    torch.nn.GroupNorm,
    torch.nn.LayerNorm,
)


def decayed_names(config: RunConfig, model: torch.nn.Module) -> set[str]:
    """The names of the parameters weight decay applies to (--l2-scope, --l2-style)."""
    scope, prefix = model, ""
    if config.l2_scope == "head":
        scope, prefix = getattr(model, "head", None), "head."
        if not isinstance(scope, torch.nn.Module):
            raise BenchError(
                f"--l2-scope head: architecture {config.arch!r} has no `head` "
                "submodule to regularize. Use --l2-scope all."
            )
    # keras: kernels and weight matrices only (2-D and up), as kernel_regularizer does
    return {
        prefix + n for n, p in scope.named_parameters() if config.l2_style != "keras" or p.ndim >= 2
    }


def normalization_biases(model: torch.nn.Module) -> set[str]:
    """The names of the normalization layers' bias parameters (--bias-lr-scale)."""
    return {
        f"{name}.bias" if name else "bias"
        for name, module in model.named_modules()
        if isinstance(module, NORMALIZATION) and getattr(module, "bias", None) is not None
    }


def parameter_groups(config: RunConfig, model: torch.nn.Module) -> list[dict]:
    """The trainable parameters by name, grouped by learning rate and weight decay:
    ``[{"names": [...], "lr": ..., "weight_decay": ...}, ...]`` in the model's order."""
    decay = config.weight_decay * (2 if config.l2_style == "keras" else 1)  # λ·Σw²: 2λ·w
    decayed = decayed_names(config, model) if decay else set()
    scaled = normalization_biases(model) if config.bias_lr_scale != 1 else set()
    groups: dict[tuple[float, float], list[str]] = {}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        scale = config.bias_lr_scale if name in scaled else 1.0
        # a scaled learning rate with the decay divided by it: the same decay per step
        groups.setdefault(((decay if name in decayed else 0.0) / scale, scale), []).append(name)
    return [
        {"names": names, "lr": config.lr * scale, "weight_decay": d}
        for (d, scale), names in groups.items()
    ]


def make_optimizer(config: RunConfig, groups: list[dict], tensors: dict[str, torch.Tensor]):
    """``config.optimizer`` over ``groups`` (:func:`parameter_groups`), names looked up in
    ``tensors``; one group is passed as a plain list, as PyTorch users write it."""
    params = [
        {"params": [tensors[n] for n in g["names"]], **{k: g[k] for k in ("lr", "weight_decay")}}
        for g in groups
    ]
    if len(params) == 1 and params[0]["lr"] == config.lr:
        return OPTIMIZERS[config.optimizer](params[0]["params"], config, params[0]["weight_decay"])
    return OPTIMIZERS[config.optimizer](params, config, config.weight_decay)


def build_optimizer(config: RunConfig, model: torch.nn.Module, steps_per_epoch: int):
    """The optimizer of ``model`` under ``config`` and its :class:`Schedule`."""
    tensors = dict(model.named_parameters())
    optimizer = make_optimizer(config, parameter_groups(config, model), tensors)
    return optimizer, Schedule(config, optimizer, steps_per_epoch, model.state_dict)


class Schedule:
    """What happens around the optimizer's steps, the same for a single model and stacked
    replicas: the learning-rate scheduler, stepped after every batch or after every epoch by
    its kind (:data:`PER_STEP`), and :class:`Lookahead`. ``state()`` gives the live weights
    (a state dict by name)."""

    def __init__(self, config: RunConfig, optimizer, steps_per_epoch: int, state: Callable):
        self.scheduler = SCHEDULERS[config.scheduler](config, optimizer, steps_per_epoch)
        self.per_step = config.scheduler in PER_STEP
        self.lookahead = Lookahead(config.lookahead, config.epochs * steps_per_epoch)
        self.state = state
        self.taken = 0  # optimizer steps so far

    def after_batch(self) -> None:
        self.taken += 1
        self.lookahead.step(self.state, self.taken)
        if self.scheduler is not None and self.per_step:
            self.scheduler.step()

    def after_epoch(self) -> None:
        """The epoch ends on lookahead's slow weights, then an epoch's schedule steps."""
        self.lookahead.settle(self.state)
        if self.scheduler is not None and not self.per_step:
            self.scheduler.step()

    def state_dict(self) -> dict:
        """Where the schedule stands (a resume point): the scheduler's own state, the steps
        taken and lookahead's slow weights."""
        return {
            "scheduler": None if self.scheduler is None else self.scheduler.state_dict(),
            "taken": self.taken,
            "slow": self.lookahead.slow,
        }

    def load_state_dict(self, state: dict) -> None:
        if self.scheduler is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        self.taken = state["taken"]
        self.lookahead.slow = state["slow"]


class Lookahead:
    """Lookahead with an exponential moving average of the weights, as in hlb-CIFAR10 and
    airbench (``--lookahead K``): from ``START`` of the ``total`` steps on, every ``every``
    steps the slow copy moves toward the trained weights by ``1 - BASE**every·(t/total)**3``
    and the model restarts from it; :meth:`settle` puts the model on the slow copy (end of
    each epoch). Every floating-point entry of the state dict takes part, BatchNorm's
    running statistics included. ``every`` 0: does nothing."""

    BASE, POWER, START = 0.95, 3, 0.25

    def __init__(self, every: int, total: int):
        self.every, self.total = every, max(total, 1)
        self.slow: dict[str, torch.Tensor] | None = None

    def step(self, state: Callable[[], dict[str, torch.Tensor]], t: int) -> None:
        """After optimizer step ``t`` (from 1); ``state()`` gives the live state dict (asked
        for only on a beat: nothing is built on the other steps)."""
        if not self.every or t % self.every or t < self.START * self.total:
            return
        if self.slow is None:
            self.slow = {k: v.detach().clone() for k, v in state().items() if v.is_floating_point()}
            return
        self._pull(state(), self.BASE**self.every * (t / self.total) ** self.POWER)

    def settle(self, state: Callable[[], dict[str, torch.Tensor]]) -> None:
        if self.slow is not None:
            self._pull(state(), 1.0)

    @torch.no_grad()
    def _pull(self, state: dict[str, torch.Tensor], decay: float) -> None:
        for k, slow in self.slow.items():
            slow.lerp_(state[k], 1 - decay)
            state[k].copy_(slow)
