import numpy as np
import pytest
import torch

from benchbench.analysis.ood import Detection
from benchbench.analysis.ood import Probe
from benchbench.analysis.ood import choose_threshold
from benchbench.analysis.ood import default_layers
from benchbench.analysis.ood import detect
from benchbench.analysis.ood import mean_activations
from benchbench.errors import BenchError


def test_a_clean_separation_is_found_on_either_side():
    inside = np.linspace(0.5, 1.0, 100)
    outside = np.linspace(0.0, 0.3, 100)
    threshold, ood_below = choose_threshold(inside, outside)
    assert ood_below and 0.3 < threshold < 0.5
    threshold, ood_below = choose_threshold(outside, inside)
    assert not ood_below and 0.3 < threshold < 0.5


def test_the_seeds_rule_keeps_ood_below_the_threshold_even_where_above_separates():
    inside = np.linspace(0.0, 0.3, 100)  # in-distribution activations are the low ones here
    outside = np.linspace(0.5, 1.0, 100)
    threshold, ood_below = choose_threshold(inside, outside, "below")
    assert ood_below  # report 001's rule, whatever the data say
    below = detect({"relu": inside}, {"relu": outside}, ood_when="below")[0]
    either = detect({"relu": inside}, {"relu": outside}, ood_when="either")[0]
    assert below.ood_below and below.accuracy <= 0.5 + 1e-9
    assert not either.ood_below and either.accuracy == 1.0
    with pytest.raises(BenchError, match="ood_when 'left': choose one of below, above, either"):
        choose_threshold(inside, outside, "left")


def test_detection_accuracy_is_scored_on_held_out_halves():
    rng = np.random.default_rng(0)
    inside = {"relu": rng.normal(1.0, 0.1, 400), "flat": rng.normal(0, 1, 400)}
    outside = {"relu": rng.normal(0.0, 0.1, 400), "flat": rng.normal(0, 1, 400)}
    results = {r.layer: r for r in detect(inside, outside)}
    assert results["relu"].accuracy == 1.0 and results["relu"].ood_below
    assert 0.4 < results["flat"].accuracy < 0.62  # indistinguishable: about chance
    assert results["relu"].inside_mean > results["relu"].outside_mean


def test_mean_activations_per_image_and_per_call():
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3), torch.nn.ReLU())
    relu = model[2]
    with torch.no_grad():
        model[1].weight.copy_(torch.eye(3, 4))
        model[1].bias.zero_()
    x = torch.tensor([[1.0, 2.0, 3.0, 4.0], [-1.0, -2.0, 6.0, 0.0]])
    values = mean_activations(model, [x], ["2"])
    np.testing.assert_allclose(values["2"], [2.0, 2.0])  # mean of relu([1,2,3]), relu([-1,-2,6])
    assert default_layers(model) == ["2"]

    class Twice(torch.nn.Module):  # one ReLU module called twice
        def __init__(self):
            super().__init__()
            self.act = relu

        def forward(self, x):
            return self.act(self.act(x) - 1)

    twice = mean_activations(Twice(), [torch.ones(1, 2) * 3], ["act"])
    assert set(twice) == {"act", "act#2"} and twice["act#2"][0] == 2.0


def test_probe_samples_say_what_the_layer_detects_each_image_as():
    inside = {"relu": np.array([5.0, 6.0, 1.0])}  # one in-distribution image looks OOD
    outside = {"relu": np.array([0.5, 0.7])}
    result = Detection("relu", 2.0, True, 0.9, 4.0, 0.6)
    images_in = torch.arange(3).view(3, 1, 1, 1).to(torch.uint8)
    images_out = (10 + torch.arange(2)).view(2, 1, 1, 1).to(torch.uint8)
    probe = Probe([result], inside, outside, images_in, images_out)
    images, true, detected = probe.samples(count=8)
    assert true == [0, 0, 0, 1, 1]
    by_image = {int(i.item()): d for i, d in zip(images.reshape(-1), detected, strict=True)}
    assert by_image == {0: 0, 1: 0, 2: 1, 10: 1, 11: 1}  # below 2.0 is OOD


def test_report_001s_probe_reads_the_last_two_relus_of_the_model_it_names():
    from benchbench.execution import suite as suites
    from benchbench.plugins.manager import load_components
    from benchbench.training.loop import build_model

    suite = suites.find("report001")
    for table in (t for t in suite.tables if t.kind == "ood"):
        row = next(v for v in suite.variants if v["name"] == table.options["run"])
        config = suites.to_config({**suite.base, **row}, 0)
        model = build_model(config, load_components(use_entry_points=False), 10, (3, 32, 32))
        assert table.options["layers"] == default_layers(model)[-2:]


def test_a_run_probed_again_is_not_run_again_unless_it_was_retrained(bench, monkeypatch):
    # report 001 reads one probe four ways (two tables, two figures): the model runs once
    from conftest import FAST

    from benchbench.analysis import ood
    from benchbench.plugins.manager import load_components
    from benchbench.results.store import Store

    monkeypatch.setattr(ood, "PROBED", {})
    counted = []

    def counting(model, inputs, layers):
        counted.append(layers)
        return mean_activations(model, inputs, layers)

    monkeypatch.setattr(ood, "mean_activations", counting)
    assert bench("run", *FAST, "--name", "probed").code == 0
    components = load_components()

    def probe(ood_when, **options):
        (record,) = Store().runs()
        return ood.probe_run(Store(), record, components, ood_when=ood_when, **options)

    below, either = probe("below"), probe("either")
    assert len(counted) == 2  # in- and out-of-distribution images, once
    assert all(r.ood_below for r in below.results)
    assert [r.layer for r in below.results] == [r.layer for r in either.results]
    probe("below", options={"seed": 7})  # other OOD images: probed afresh
    assert len(counted) == 4
    assert bench("run", *FAST, "--name", "probed", "--force").code == 0
    probe("below")  # the same run id, trained again: new weights, probed afresh
    assert len(counted) == 6
