"""``bench data``: look at a dataset before training on it."""

from __future__ import annotations

from collections import Counter

import typer
from rich.table import Table
from rich.text import Text

from benchbench.cli.context import JsonOption
from benchbench.cli.context import components
from benchbench.cli.context import err
from benchbench.cli.context import optional
from benchbench.cli.context import out
from benchbench.cli.context import print_json
from benchbench.cli.context import set_option
from benchbench.cli.context import setting_option
from benchbench.errors import BenchError

app = typer.Typer(help="Inspect datasets.", no_args_is_help=True)


@app.command()
def inspect(
    dataset: setting_option("dataset", panel=False) = "imagefolder",
    data_dir: setting_option("data_dir", panel=False) = None,
    keep_size: optional(str, "Keep only images of this size (HxW); count what is excluded.") = None,
    min_size: optional(int, "Exclude images whose shorter side is below this.") = None,
    set_: set_option("dataset.OPTION=VALUE for other datasets.") = None,
    as_json: JsonOption = False,
) -> None:
    """Class counts, a frequency table of image sizes, and unreadable files.

    For an image folder every file is decoded, so corrupt files are found and listed
    (training skips them with a warning). `--keep-size`/`--min-size` show what report
    002's outlier exclusion would drop per class; train with the same filter through
    `--set dataset.keep_size=300x300` or `--set dataset.min_size=64`.
    """
    from benchbench.settings import parse_sets
    from benchbench.settings import parse_size

    if dataset != "imagefolder":
        if keep_size or min_size:
            raise BenchError("--keep-size and --min-size apply to --dataset imagefolder.")
        return _inspect_loaded(
            dataset, data_dir, parse_sets(set_ or [], ())["dataset_options"], as_json
        )
    from benchbench.data import imagefolder

    if data_dir is None:
        raise BenchError("bench data inspect needs --data-dir DIR for an image folder.")
    keep = imagefolder.size_filter(parse_size(keep_size, "--keep-size"), min_size)
    parts = [p for p in ("train", "test") if (data_dir / p).is_dir()] or [""]
    report = {}
    for part in parts:
        classes, files = imagefolder.survey(data_dir / part, keep)
        report[part or "all"] = _folder_report(classes, files)
    if as_json:
        print_json(report)
        return
    for part, r in report.items():
        _print_folder(part, r, keep is not None)


def _folder_report(classes: list[str], files: list[dict]) -> dict:
    readable = [f for f in files if f["error"] is None]
    sizes = Counter(f"{f['size'][0]}x{f['size'][1]}" for f in readable)
    per_class = {c: {"images": 0, "unreadable": 0, "excluded": 0} for c in classes}
    for f in files:
        counts = per_class[f["class"]]
        counts["images"] += 1
        if f["error"] is not None:
            counts["unreadable"] += 1
        elif not f["kept"]:
            counts["excluded"] += 1
    return {
        "classes": per_class,
        "sizes": dict(sorted(sizes.items(), key=lambda kv: -kv[1])),
        "unreadable": [
            {"path": f["path"], "error": f["error"]} for f in files if f["error"] is not None
        ],
    }


def _print_folder(part: str, r: dict, filtered: bool) -> None:
    table = Table(title=f"{part}: classes", title_justify="left", show_edge=False)
    columns = ["class", "images", "unreadable"] + (["excluded", "kept"] if filtered else [])
    for column in columns:
        table.add_column(column, justify="left" if column == "class" else "right")
    for name, c in r["classes"].items():
        row = [name, str(c["images"]), str(c["unreadable"])]
        if filtered:
            row += [str(c["excluded"]), str(c["images"] - c["unreadable"] - c["excluded"])]
        table.add_row(*row)
    out.print(table)
    sizes = Table(title=f"{part}: image sizes (HxW)", title_justify="left", show_edge=False)
    sizes.add_column("size")
    sizes.add_column("images", justify="right")
    sizes.add_column("share", justify="right")
    total = sum(r["sizes"].values()) or 1
    for size, n in list(r["sizes"].items())[:15]:
        sizes.add_row(size, str(n), f"{n / total:.1%}")
    if len(r["sizes"]) > 15:
        sizes.add_row(f"... {len(r['sizes']) - 15} more", "", "")
    out.print(sizes)
    for bad in r["unreadable"]:
        err.print(Text(f"unreadable: {bad['error']}", "yellow"))


def _inspect_loaded(dataset: str, data_dir, options: dict, as_json: bool) -> None:
    from benchbench.data.images import load_dataset

    data = load_dataset(components().datasets, dataset, options, data_dir)
    report = {"classes": data.classes, "input_shape": list(data.input_shape)}
    for split, labels in (("train", data.train_labels), ("test", data.test_labels)):
        counts = labels.bincount(minlength=data.num_classes).tolist()
        report[split] = dict(zip(data.classes, counts, strict=True))
    if as_json:
        print_json(report)
        return
    table = Table(
        title=f"{dataset}: {'x'.join(map(str, data.input_shape))} images",
        title_justify="left",
        show_edge=False,
    )
    for column in ("class", "train", "test"):
        table.add_column(column, justify="left" if column == "class" else "right")
    for name in data.classes:
        table.add_row(name, str(report["train"][name]), str(report["test"][name]))
    out.print(table)
