import json

import pytest

from benchbench.errors import BenchError
from benchbench.errors import PluginError
from benchbench.plugins.registry import Registry


def factory(*, num_classes, input_shape, width: int = 4):
    return ("built", num_classes, input_shape, width)


def test_duplicate_names_are_rejected_with_the_owner():
    registry = Registry("architecture")
    registry._current_plugin = "first"
    registry.add("net", factory)
    registry._current_plugin = "second"
    with pytest.raises(PluginError, match="already registered by plugin 'first'"):
        registry.add("net", factory)


def test_unknown_name_suggests_the_closest():
    registry = Registry("architecture")
    registry.add("resnet_skip", factory)
    with pytest.raises(BenchError, match=r"Unknown architecture 'resnet_skp'.*resnet_skip"):
        registry.get("resnet_skp")


def test_list_filters_with_wildcards_in_natural_order():
    registry = Registry("architecture")
    for name in ["net10", "net2", "other", "net1"]:
        registry.add(name, factory)
    assert [e.name for e in registry.list("net*")] == ["net1", "net2", "net10"]


def test_create_rejects_unknown_options_and_names_the_accepted_ones():
    registry = Registry("architecture")
    registry.add("net", factory)
    entry = registry.get("net")
    assert entry.create({"width": 8}, num_classes=3, input_shape=(1, 8, 8))[3] == 8
    with pytest.raises(BenchError, match=r"no option 'widht'.*'width'.*accepts: width"):
        entry.create({"widht": 8}, num_classes=3, input_shape=(1, 8, 8))


def test_invalid_names_and_factories_are_refused():
    registry = Registry("dataset")
    with pytest.raises(PluginError, match="invalid dataset name"):
        registry.add("has space", factory)
    with pytest.raises(PluginError, match="not callable"):
        registry.add("ok", 42)


def test_families_list_their_variants_and_are_suggested_for_bare_names(bench):
    listed = json.loads(bench("list", "archs", "--filter", "torchvision:resnet1*", "--json").out)
    names = [a["name"] for a in listed["architectures"]]
    assert "torchvision:resnet18" in names and "torchvision:resnet101" in names
    assert all(n.startswith("torchvision:resnet1") for n in names)
    plain = json.loads(bench("list", "archs", "--json").out)["architectures"]
    assert not any(":" in a["name"] for a in plain)  # families are not expanded unasked
    wrong = bench("run", "--arch", "resnet18", "--dry-run")
    assert wrong.code == 2 and "Did you mean 'torchvision:resnet18'" in wrong.err


def test_any_timm_model_trains_as_an_architecture(bench):
    pytest.importorskip("timm", reason="the timm extra is not installed")
    listed = json.loads(bench("list", "archs", "--filter", "timm:resnet1?", "--json").out)
    assert "timm:resnet18" in [a["name"] for a in listed["architectures"]]
    args = ["--arch", "timm:resnet10t", "--set", "arch.head=mlp", "--epochs", "1"]
    result = bench("run", *args, "--subset", "100", "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["status"] == "complete"
    typo = bench("run", "--arch", "timm:resnet1O", "--dry-run")
    assert typo.code == 2 and "timm has no 'resnet1O'. Did you mean 'resnet18'" in typo.err
