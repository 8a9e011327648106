"""``bench summary``: an architecture's layers, output shapes and parameters."""

from __future__ import annotations

from rich.table import Table

from benchbench.cli.context import JsonOption
from benchbench.cli.context import components
from benchbench.cli.context import optional
from benchbench.cli.context import out
from benchbench.cli.context import print_json
from benchbench.cli.context import set_option
from benchbench.cli.context import setting_option
from benchbench.errors import BenchError


def summary(
    arch: setting_option("arch", panel=False),
    dataset: setting_option("dataset", panel=False) = "digits",
    data_dir: setting_option("data_dir", panel=False) = None,
    input_shape: optional(str, "CxHxW instead of a dataset's shape, e.g. 3x300x300.") = None,
    classes: optional(int, "Number of classes, with --input-shape.") = None,
    dropout: setting_option("dropout", panel=False) = None,
    set_: set_option("arch.OPTION=VALUE (and dataset.OPTION=VALUE).") = None,
    as_json: JsonOption = False,
) -> None:
    """Layer table (layer, output shape, parameters, trainable, mult-adds) and totals of a
    model, with memory estimates (torchinfo)."""
    from benchbench.analysis.layers import layer_table
    from benchbench.analysis.layers import totals
    from benchbench.config import RunConfig
    from benchbench.settings import parse_sets
    from benchbench.training.loop import build_model
    from benchbench.training.loop import prepare

    options = parse_sets(set_ or [], ())
    config = RunConfig(
        arch=arch,
        dataset=dataset,
        dropout=dropout,
        data_dir=str(data_dir) if data_dir else None,
        **options,
    ).validated()
    loaded = components()
    loaded.architectures.get(arch)
    if input_shape is not None:
        try:
            shape = tuple(int(v) for v in input_shape.lower().split("x"))
        except ValueError:
            shape = ()
        if len(shape) != 3 or min(shape) < 1:
            raise BenchError(f"--input-shape {input_shape!r}: write CxHxW, e.g. 3x32x32.")
        num_classes = classes or 10
    else:
        splits = prepare(config, loaded)
        shape, num_classes = splits.input_shape, len(splits.classes)
    model = build_model(config, loaded, num_classes, shape)
    rows, sums = layer_table(model, shape), totals(model, shape)
    if as_json:
        print_json({"arch": arch, "input_shape": list(shape), "layers": rows, **sums})
        return
    table = Table(
        title=f"{arch} on {'x'.join(map(str, shape))} images, {num_classes} classes",
        title_justify="left",
        show_edge=False,
    )
    for column, justify in (
        ("layer", "left"),
        ("type", "left"),
        ("output shape", "right"),
        ("parameters", "right"),
        ("trainable", "right"),
        ("mult-adds", "right"),
    ):
        table.add_column(column, justify=justify)
    for row in rows:
        table.add_row(
            row["layer"],
            row["type"],
            str(row["output_shape"]),
            f"{row['parameters']:,}",
            f"{row['trainable']:,}",
            f"{row['mult_adds']:,}",
        )
    out.print(table)
    out.print(
        f"Total params: {sums['total_parameters']:,}   Trainable params: "
        f"{sums['trainable_parameters']:,}   Non-trainable params: "
        f"{sums['non_trainable_parameters']:,}\nMult-adds per image: "
        f"{sums['mult_adds_per_image']:,}\nParams size (MB): "
        f"{sums['parameters_mb']:.2f}   Forward/backward pass size per image (MB): "
        f"{sums['forward_backward_mb_per_image']:.2f}   Input size per image (MB): "
        f"{sums['input_mb_per_image']:.2f}"
    )
