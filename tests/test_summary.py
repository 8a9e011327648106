import json

from benchbench.analysis.layers import layer_table
from benchbench.analysis.layers import totals
from benchbench.plugins.builtin import nets


def test_layer_table_of_report_002s_cnn():
    model = nets.lenet(num_classes=3, input_shape=(3, 300, 300))
    rows = layer_table(model, (3, 300, 300))
    assert rows[0] == {
        "layer": "features.0",
        "type": "Conv2d",
        "output_shape": [-1, 6, 296, 296],
        "parameters": 456,
        "trainable": 456,
        "mult_adds": 6 * 296 * 296 * (3 * 25 + 1),  # torchinfo counts the bias add too
    }
    assert next(r for r in rows if r["type"] == "Flatten")["output_shape"] == [-1, 82944]
    assert sum(r["parameters"] for r in rows) == 9_966_691
    sums = totals(model, (3, 300, 300))
    assert sums["total_parameters"] == 9_966_691
    assert round(sums["parameters_mb"], 2) == 38.02  # as printed in report 002
    assert sums["mult_adds_per_image"] == sum(r["mult_adds"] for r in rows)
    assert sums["forward_backward_mb_per_image"] > 0


def test_bench_summary_counts_frozen_parameters_apart(bench):
    result = bench(
        "summary",
        "--arch",
        "mobilenet_v3_small",
        "--input-shape",
        "3x32x32",
        "--set",
        "arch.freeze=true",
        "--set",
        "arch.head=dense",
        "--json",
    )
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["trainable_parameters"] == 576 * 64 + 64 + 64 * 32 + 32 + 32 * 10 + 10
    assert data["non_trainable_parameters"] > 900_000
    text = bench("summary", "--arch", "cnn_small").out
    assert "Total params: 1,918,602" in text  # the digits-shaped cnn_small


def test_bench_summary_refuses_a_bad_shape(bench):
    result = bench("summary", "--arch", "mlp", "--input-shape", "300x300")
    assert result.code == 2 and "CxHxW" in result.err
