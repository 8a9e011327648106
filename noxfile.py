"""Sessions: `nox -s tests` (the suite, with the example plugin installed), `nox -s lint`,
`nox -s docs` (MkDocs, strict), `nox -s slow` (tests on the real CIFAR-10 folder),
`nox -s benchmarks`."""

import nox

nox.options.sessions = ["tests", "lint"]
nox.options.reuse_existing_virtualenvs = True


def install(session):
    # A venv made before the distribution was renamed (benchbench -> benchbench-harness).
    session.run("python", "-m", "pip", "uninstall", "-y", "-q", "benchbench", silent=True)
    # The extras are tested against the real libraries: Ray's executor, MLflow's SQLite
    # tracking store, TensorBoard's event files, timm's models, Hugging Face datasets,
    # submitit's local executor (the Slurm executor's code path without a scheduler).
    session.install("-e", ".[test,ray,mlflow,tensorboard,timm,hf,slurm,tune]")
    # Without the package index: the plugin's dependency must resolve to this project.
    session.install("--no-index", "--no-build-isolation", "./plugins/benchbench-example")


@nox.session
def tests(session):
    """The default test suite (small data only), through the real plugin entry points."""
    install(session)
    session.run("pytest", *session.posargs, env={"BENCH_REQUIRE_EXAMPLE_PLUGIN": "1"})


@nox.session
def slow(session):
    """Tests on ../shared/datasets/cifar10-jpg (or $BENCH_CIFAR10_DIR)."""
    install(session)
    session.run("pytest", "-m", "slow", *session.posargs)


@nox.session
def lint(session):
    """ruff: lint (including the banned module-level heavy imports) and format."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def docs(session):
    """The documentation, built strictly: a broken link or a stale generated block fails."""
    session.install("mkdocs>=1.6,<2", "pluggy>=1.3")  # pluggy: the settings table imports
    session.run("mkdocs", "build", "--strict", "--site-dir", "site")


@nox.session
def benchmarks(session):
    """Speed measurements on the CIFAR-10 folder; output is quoted in notes, never asserted."""
    install(session)
    session.run("python", "benchmarks/training_speed.py", *session.posargs)
