import math

import pytest
import torch

from benchbench import hookimpl
from benchbench.config import RunConfig
from benchbench.errors import BenchError
from benchbench.plugins.manager import load_components
from benchbench.training.loop import train


@pytest.fixture(scope="module")
def components():
    return load_components(use_entry_points=False)


def config(**overrides):
    base = dict(
        arch="resnet_skip",
        arch_options={"widths": "8,16"},
        dataset="digits",
        epochs=2,
        batch_size=64,
        device="cpu",
    )
    base.update(overrides)
    return RunConfig(**base).validated()


def test_same_seed_gives_bit_identical_losses_and_predictions(components):
    cfg = config(augs=("hflip", "crop", "cutmix"), epochs=2)
    first, second = train(cfg, components), train(cfg, components)
    keys = ("train_loss", "train_acc", "val_loss", "val_acc")
    assert [[h[k] for k in keys] for h in first.history] == [
        [h[k] for k in keys] for h in second.history
    ]
    assert torch.equal(first.test_logits, second.test_logits)
    other = train(config(augs=("hflip", "crop", "cutmix"), epochs=2, seed=1), components)
    assert other.history[0]["train_loss"] != first.history[0]["train_loss"]


def test_the_model_learns_digits(components):
    outcome = train(config(epochs=4, lr=3e-3), components)
    accuracy = (outcome.test_logits.argmax(1) == outcome.test_labels).float().mean().item()
    assert accuracy > 0.7
    assert outcome.history[-1]["train_loss"] < outcome.history[0]["train_loss"]
    assert all(h["train_seconds"] > 0 and h["val_seconds"] > 0 for h in outcome.history)
    assert outcome.warmup_seconds > 0


def test_early_stopping_stops_and_restores_the_best_epoch(components):
    # lr 0 never improves after the first epoch: patience 2 stops at epoch 3.
    cfg = config(epochs=10, lr=1e-12, early_stopping=2, monitor="val_acc", min_delta=0.5)
    outcome = train(cfg, components)
    assert len(outcome.history) == 3 and outcome.best_epoch == 1


def test_restore_best_evaluates_the_best_weights(components):
    cfg = config(epochs=3, lr=3e-3, restore_best=True)
    outcome = train(cfg, components)
    best = min(outcome.history, key=lambda h: h["val_loss"])
    assert outcome.best_epoch == best["epoch"]


def test_a_diverging_loss_stops_the_run_as_diverged(components):
    outcome = train(
        config(arch="cnn_small", arch_options={}, epochs=5, lr=1e6, optimizer="sgd", momentum=0.0),
        components,
    )
    assert outcome.status == "diverged"
    assert not math.isfinite(outcome.history[-1]["train_loss"])
    assert len(outcome.history) < 5


@pytest.mark.parametrize(
    "scheduler,extra",
    [
        ("step", {"lr_step": 1}),
        ("cosine", {}),
        ("onecycle", {}),
        ("piecewise", {"lr_milestones": (1,)}),
    ],
)
def test_schedulers_change_the_learning_rate(components, scheduler, extra):
    outcome = train(config(scheduler=scheduler, optimizer="sgd", **extra), components)
    lrs = [h["lr"] for h in outcome.history]
    assert lrs[0] != lrs[1] or scheduler == "onecycle"


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adamw"])
def test_optimizers_and_bf16_autocast_run(components, optimizer):
    outcome = train(
        config(optimizer=optimizer, precision="bf16", epochs=1, weight_decay=1e-4, clip_grad=1.0),
        components,
    )
    assert outcome.status == "complete" and outcome.test_logits.dtype == torch.float32


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("batch_size", 0, "--batch-size"),
        ("lr", -1.0, "--lr"),
        ("val_fraction", 1.0, "--val-fraction"),
        ("epochs", 0, "--epochs"),
        ("optimizer", "rmsprop", "choose one of sgd, adam, adamw"),
    ],
)
def test_impossible_values_are_refused_before_any_work(field, value, message):
    with pytest.raises(BenchError, match=message):
        RunConfig(**{field: value}).validated()


def test_unknown_architecture_options_are_named(components):
    with pytest.raises(BenchError, match="no option 'nope'.*accepts: bn, dropout, kernel"):
        train(config(arch="cnn_small", arch_options={"nope": 1}), components)


def test_dropout_needs_an_architecture_with_dropout():
    import types

    def plain(*, num_classes, input_shape):
        return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.LazyLinear(num_classes))

    plugin = types.SimpleNamespace(
        benchbench_register_architectures=hookimpl(lambda registry: registry.add("plain", plain))
    )
    loaded = load_components(use_entry_points=False, extra_plugins=[("p", plugin)])
    with pytest.raises(BenchError, match="--dropout: architecture 'plain' has no dropout"):
        train(config(arch="plain", arch_options={}, dropout=0.5), loaded)


def test_a_smoke_run_checks_wiring_without_warming_up():
    # Every image the model sees, training or not: a smoke run trains its two batches and
    # evaluates once each on validation and test, with no throwaway warm-up steps around them
    # (on report 000's 92M-parameter CNN those doubled a smoke run's time).
    import types

    seen: list[tuple[bool, int]] = []

    def counted(*, num_classes, input_shape):
        class Counted(torch.nn.Sequential):
            def forward(self, x):
                if len(x) > 2:  # not the 2-image shape check
                    seen.append((self.training, len(x)))
                return super().forward(x)

        return Counted(torch.nn.Flatten(), torch.nn.LazyLinear(num_classes))

    plugin = types.SimpleNamespace(
        benchbench_register_architectures=hookimpl(
            lambda registry: registry.add("counted", counted)
        )
    )
    loaded = load_components(use_entry_points=False, extra_plugins=[("c", plugin)])
    smoke = config(arch="counted", arch_options={}, epochs=3).as_smoke().validated()
    outcome = train(smoke, loaded)
    assert len(outcome.history) == 1
    assert [training for training, _ in seen] == [True, True, False, False]
    seen.clear()
    train(config(arch="counted", arch_options={}, epochs=1, max_batches=2), loaded)
    assert len(seen) > 4  # a real run warms up first, so epoch 1's stopwatch holds no setup


def test_run_ids_hash_the_whole_config_and_groups_ignore_the_seed():
    a, b = config(seed=0), config(seed=1)
    assert a.run_id != b.run_id and a.group_id == b.group_id
    assert config(lr=0.1).group_id != a.group_id
    assert RunConfig.from_dict(a.to_dict()) == a


def test_subsets_are_stratified_and_fixed(components):
    from benchbench.training.loop import prepare

    splits = prepare(config(subset=100, test_subset=50), components)
    assert len(splits.train[0]) == 100 and len(splits.test[0]) == 50
    assert splits.train[1].bincount().min() >= 9  # every class kept
    again = prepare(config(subset=100, test_subset=50), components)
    assert torch.equal(again.train[0], splits.train[0])


@pytest.mark.parametrize(
    ("scope", "style", "decays"),
    [
        ("all", "decay", {"features.0.weight": 0.5, "features.0.bias": 0.5, "head.1.bias": 0.5}),
        ("head", "decay", {"features.0.weight": 0.0, "head.1.weight": 0.5, "head.1.bias": 0.5}),
        # Keras' l2(0.5): 0.5 * sum(w**2) on kernels only, whose gradient is 1.0 * w
        ("head", "keras", {"features.0.weight": 0.0, "head.1.weight": 1.0, "head.1.bias": 0.0}),
        ("all", "keras", {"features.0.weight": 1.0, "features.0.bias": 0.0, "head.1.bias": 0.0}),
    ],
)
def test_weight_decay_reaches_the_parameters_its_scope_and_style_name(scope, style, decays):
    from benchbench.training.loop import build_optimizer

    model = torch.nn.Module()
    model.features = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    model.head = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2))
    run = RunConfig(weight_decay=0.5, l2_scope=scope, l2_style=style, optimizer="sgd")
    optimizer, _ = build_optimizer(run.validated(), model, 1)
    names = {id(p): n for n, p in model.named_parameters()}
    got = {names[id(p)]: g["weight_decay"] for g in optimizer.param_groups for p in g["params"]}
    assert {k: got[k] for k in decays} == decays
    if style == "keras":
        assert got["features.1.weight"] == 0.0  # a norm layer's scale is not a kernel
