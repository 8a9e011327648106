"""The package's layering: each layer imports only the layers before it, and renderers
never import torch or model code. Every import counts, at module level or inside a
function, so a lazy import cannot hide an upward dependency."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "benchbench"

# Bottom to top. A module may import its own layer and any layer listed before it.
LAYERS = [
    (
        "base",
        (
            "benchbench",
            "benchbench.errors",
            "benchbench.settings",
            "benchbench.config",
        ),
    ),
    ("plugin machinery", ("benchbench.plugins",)),
    ("metrics", ("benchbench.metrics",)),
    ("data", ("benchbench.data",)),
    ("built-in plugins", ("benchbench.plugins.builtin",)),
    ("training", ("benchbench.training",)),
    ("results", ("benchbench.results",)),
    ("analysis", ("benchbench.analysis",)),
    ("render", ("benchbench.render",)),
    ("execution", ("benchbench.execution",)),
    (
        "built-in output plugins",
        tuple(
            f"benchbench.plugins.builtin.{name}"
            for name in ("formats", "table_kinds", "plots", "executors")
        ),
    ),
    ("application", ("benchbench.api", "benchbench.reproduction")),
    ("cli", ("benchbench.cli", "benchbench.__main__")),
]
MODEL_CODE = ("torch", "torchvision", "captum", "benchbench.training", "benchbench.plugins")


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(module: str) -> int:
    """The index of the most specific layer prefix that ``module`` falls under."""
    best, length = None, -1
    for i, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            matches = module == prefix or (
                prefix != "benchbench" and module.startswith(prefix + ".")
            )
            if matches and len(prefix) > length:
                best, length = i, len(prefix)
    assert best is not None, f"{module} belongs to no layer: add it to LAYERS"
    return best


def _imports(path: Path):
    """``(line, imported module)`` for every import in ``path``, relative ones resolved."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "benchbench" or node.module.startswith("benchbench."):
                # `from benchbench.x import y` may import the submodule benchbench.x.y
                for alias in node.names:
                    candidate = f"{node.module}.{alias.name}"
                    dotted = PACKAGE.parent / candidate.replace(".", "/")
                    is_module = dotted.with_suffix(".py").exists() or dotted.is_dir()
                    yield node.lineno, candidate if is_module else node.module
            else:
                yield node.lineno, node.module


def _package_imports():
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module(path)
        for line, imported in _imports(path):
            yield path, line, module, imported


def test_every_module_belongs_to_a_layer():
    for path in PACKAGE.rglob("*.py"):
        _layer(_module(path))


def test_layers_import_only_layers_below_them():
    upward = []
    for path, line, module, imported in _package_imports():
        if imported != "benchbench" and not imported.startswith("benchbench."):
            continue
        if imported == "benchbench":  # the package face: hookimpl, __version__
            continue
        if module == "benchbench" and imported in ("benchbench.api", "benchbench.metrics"):
            continue  # the face re-exports load_runs, load_history and Metric on first use
        own, other = _layer(module), _layer(imported)
        if other > own:
            upward.append(
                f"{path.relative_to(PACKAGE.parent)}:{line}: {module} "
                f"({LAYERS[own][0]}) imports {imported} ({LAYERS[other][0]})"
            )
    assert not upward, "\n".join(upward)


def test_renderers_import_no_model_code():
    found = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {imported}"
        for path, line, module, imported in _package_imports()
        if module.startswith("benchbench.render")
        and any(imported == m or imported.startswith(m + ".") for m in MODEL_CODE)
    ]
    assert not found, "\n".join(found)


def test_the_walker_sees_an_upward_import(tmp_path, monkeypatch):
    """The check can fail: a data module importing the CLI is caught."""
    fake = tmp_path / "benchbench" / "data"
    fake.mkdir(parents=True)
    (fake / "bad.py").write_text("def f():\n    from benchbench.cli import app\n")
    (tmp_path / "benchbench" / "cli").mkdir()
    (tmp_path / "benchbench" / "cli" / "app.py").write_text("")
    monkeypatch.setattr(__import__(__name__), "PACKAGE", tmp_path / "benchbench")
    imports = list(_imports(fake / "bad.py"))
    assert imports == [(2, "benchbench.cli.app")]
    assert _layer("benchbench.cli.app") > _layer("benchbench.data.bad")


def test_no_two_modules_share_a_name():
    # each concept in the module named after it, once: `study` in two layers reads as one
    from collections import Counter

    names = Counter(p.stem for p in PACKAGE.rglob("*.py") if p.stem != "__init__")
    assert [name for name, n in names.items() if n > 1] == []


SCRIPTS = {"reports": PACKAGE.parent / "reports", "benchmarks": PACKAGE.parent / "benchmarks"}
APPLICATION = next(i for i, (name, _) in enumerate(LAYERS) if name == "application")


def _script_imports(folder: Path):
    for path in sorted(folder.glob("*.py")):
        for line, imported in _imports(path):
            yield f"{path.relative_to(PACKAGE.parent)}:{line}", imported


def test_the_package_imports_no_script():
    found = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {imported}"
        for path, line, module, imported in _package_imports()
        if imported.split(".")[0] in SCRIPTS
    ]
    assert not found, "\n".join(found)


def test_reports_drive_the_application_only():
    # what reports/ does, a user can do: it calls the application (api, reproduction) and
    # the CLI, never the layers beneath them
    below = [
        f"{where}: {imported} ({LAYERS[_layer(imported)][0]})"
        for where, imported in _script_imports(SCRIPTS["reports"])
        if imported.startswith("benchbench.") and _layer(imported) < APPLICATION
    ]
    assert not below, "\n".join(below)
    assert any(True for _ in _script_imports(SCRIPTS["reports"]))  # the walker sees them


def test_benchmarks_use_public_names_and_no_report():
    # benchmarks time the layers themselves, but through names the package makes public
    found = []
    for path in sorted(SCRIPTS["benchmarks"].glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("benchbench"):
                found += [
                    f"{path.name}:{node.lineno}: {node.module}.{a.name}"
                    for a in node.names
                    if a.name.startswith("_")
                ]
            if isinstance(node, ast.ImportFrom | ast.Import):
                names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
                names += [a.name for a in node.names] if isinstance(node, ast.Import) else []
                found += [
                    f"{path.name}:{node.lineno}: {n}" for n in names if n.startswith("reports")
                ]
    assert not found, "\n".join(found)
