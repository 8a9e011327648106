import types

from benchbench import hookimpl
from benchbench.plugins.manager import load_components


def _plugin(**hooks):
    return types.SimpleNamespace(**hooks)


def _tiny(*, num_classes, input_shape):
    return None


def test_builtins_are_registered_through_the_hooks():
    loaded = load_components(use_entry_points=False)
    assert {"cnn_small", "resnet_skip"} <= {e.name for e in loaded.architectures}
    assert {"hflip", "crop", "cutmix"} <= {e.name for e in loaded.augmentations}
    assert {"digits", "fake", "imagefolder", "cifar10"} <= {e.name for e in loaded.datasets}
    assert all(not p.errors for p in loaded.plugins)
    assert loaded.architectures.get("cnn_small").plugin == "builtin.architectures"


def test_a_duplicate_name_is_reported_and_the_rest_keeps_working():
    @hookimpl
    def benchbench_register_architectures(registry):
        registry.add("mine", _tiny)
        registry.add("cnn_small", _tiny)  # taken by the built-ins

    @hookimpl
    def benchbench_register_datasets(registry):
        registry.add("my_data", _tiny)

    loaded = load_components(
        use_entry_points=False,
        extra_plugins=[
            (
                "clash",
                _plugin(
                    benchbench_register_architectures=benchbench_register_architectures,
                    benchbench_register_datasets=benchbench_register_datasets,
                ),
            )
        ],
    )
    info = next(p for p in loaded.plugins if p.name == "clash")
    assert "cnn_small" in info.errors[0] and "already registered" in info.errors[0]
    # The failing hook's additions are rolled back; its other hook still counts.
    assert "mine" not in loaded.architectures
    assert "my_data" in loaded.datasets
    assert loaded.architectures.get("cnn_small").plugin == "builtin.architectures"


class _Exploding:
    def __getattr__(self, name):
        raise AttributeError(name)


def test_a_plugin_that_fails_to_import_is_reported(monkeypatch):
    import importlib.metadata

    class BrokenEntryPoint:
        name = "broken"
        dist = types.SimpleNamespace(name="benchbench-broken", version="9.9")

        def load(self):
            raise ImportError("No module named 'missing_dependency'")

    real = importlib.metadata.entry_points

    def fake_entry_points(group=None):
        return [BrokenEntryPoint()] if group == "benchbench" else real(group=group)

    monkeypatch.setattr(importlib.metadata, "entry_points", fake_entry_points)
    loaded = load_components()
    info = next(p for p in loaded.plugins if p.name == "broken")
    assert info.distribution == "benchbench-broken" and info.version == "9.9"
    assert "missing_dependency" in info.errors[0]
    assert "cnn_small" in loaded.architectures


def test_misspelled_hook_names_are_reported():
    @hookimpl
    def benchbench_register_architecture(registry):  # missing the final s
        pass

    loaded = load_components(
        use_entry_points=False,
        extra_plugins=[
            ("typo", _plugin(benchbench_register_architecture=benchbench_register_architecture))
        ],
    )
    info = next(p for p in loaded.plugins if p.name == "typo")
    assert "unknown hook" in " ".join(info.errors)


def test_autoload_can_be_disabled(monkeypatch):
    monkeypatch.setenv("BENCH_DISABLE_PLUGIN_AUTOLOAD", "1")
    names = [p.name for p in load_components().plugins]
    assert names == [
        "builtin.architectures",
        "builtin.augmentations",
        "builtin.datasets",
        "builtin.trackers",
        "builtin.run_metrics",
        "builtin.formats",
        "builtin.table_kinds",
        "builtin.executors",
        "builtin.plots",
    ]
