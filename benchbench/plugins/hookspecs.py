"""The hooks a benchbench plugin implements.

A plugin is any module with functions marked ``@benchbench.hookimpl`` whose names are the
hooks below. Third-party plugins are found through the ``benchbench`` entry-point group;
the built-ins in :mod:`benchbench.plugins.builtin` are registered through the very same hooks.

Each hook receives a :class:`benchbench.plugins.registry.Registry` and calls its ``add()``. Keep
plugin modules light: import torch inside factories, never at module level, so that
``bench --help`` and ``bench list`` stay instant.
"""

import pluggy

hookspec = pluggy.HookspecMarker("benchbench")


# --------------------------------------------------------------------------------------
# Components
# --------------------------------------------------------------------------------------


@hookspec
def benchbench_register_architectures(registry):
    """Add model architectures to ``registry``.

    ``registry.add(name, factory, description=...)`` where ``factory`` is called as
    ``factory(*, num_classes: int, input_shape: tuple[int, int, int], **options)`` and
    returns a ``torch.nn.Module`` mapping float images ``(B, C, H, W)`` to logits
    ``(B, num_classes)``. ``options`` come from ``bench run --set arch.KEY=VALUE``, plus
    ``dropout`` when the user passes ``--dropout`` (accept it only if the model has one).
    """


@hookspec
def benchbench_register_augmentations(registry):
    """Add training-time augmentations to ``registry``.

    ``registry.add(name, factory, description=...)`` where ``factory`` is called as
    ``factory(*, num_classes: int, input_shape: tuple[int, int, int], **options)`` and
    returns a callable ``augment(images, targets, rng) -> (images, targets)``:

    - ``images``: float tensor ``(B, C, H, W)`` in ``[0, 1]``, on the training device;
    - ``targets``: int64 class indices ``(B,)`` or float class probabilities
      ``(B, num_classes)`` (an augmentation that mixes images, like cutmix, returns the
      latter; :func:`benchbench.data.soft_targets` converts);
    - ``rng``: a :class:`benchbench.data.SampleRandom`. Draw every random number from
      it (``rng.uniform()``, ``rng.randint(low, high)``, ``rng.bernoulli(p)``,
      ``rng.normal()``, ``rng.beta(alpha)``; each returns one row per sample) and take
      mixing partners from ``rng.partners()``. Each sample's draws depend on its own seed
      only, which makes runs reproducible and lets offline copies be re-derived.

    ``options`` come from ``bench run --set aug.NAME.KEY=VALUE``.
    """


@hookspec
def benchbench_register_datasets(registry):
    """Add datasets to ``registry``.

    ``registry.add(name, factory, description=...)`` where ``factory`` is called as
    ``factory(*, data_dir: pathlib.Path | None, **options)`` and returns a
    :class:`benchbench.data.images.ImageData`: uint8 images ``(N, C, H, W)`` and int labels for a
    train and a test split, plus the class names. Arrays may be numpy or torch.
    ``options`` come from ``bench run --set dataset.KEY=VALUE``. Raise
    :class:`benchbench.errors.BenchError` with a fix in the message when the data cannot be
    found.
    """


# --------------------------------------------------------------------------------------
# Where results go
# --------------------------------------------------------------------------------------


@hookspec
def benchbench_register_sinks(registry):
    """Add result sinks (experiment trackers, exporters) to ``registry``.

    ``registry.add(name, factory, description=...)`` where ``factory`` is called as
    ``factory(*, target: str | None)`` (``bench run --sink NAME=TARGET``: a tracking URI,
    a folder...; None when the user gave none) and returns an object with any of the
    methods ``run_started(run_id, label, config, environment)``, ``epoch_ended(run_id,
    record)``, ``run_ended(record, artifacts)`` and ``close()`` (see
    :mod:`benchbench.execution.sinks`). Import the tracker's library inside the factory,
    and raise :class:`benchbench.errors.BenchError` there if it is not installed.
    """


# --------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------


@hookspec
def benchbench_register_commands(cli):
    """Add ``bench`` subcommands: ``cli`` is a ``typer.Typer``; decorate functions with
    ``@cli.command()`` (or ``cli.add_typer(group, name=...)``). A name that a built-in
    command (or another plugin) already uses is refused and reported by ``bench plugins``.
    Import heavy libraries inside the command functions, not at module level.
    """


@hookspec
def benchbench_register_metrics(registry):
    """Add summary metrics to ``registry``: ``registry.add(key, factory, description=...)``
    where ``factory()`` returns a :class:`benchbench.Metric` with that ``key``: its column
    ``title``, ``digits``, ``compute(evaluated)`` (``evaluated.outcome``: test logits and
    labels, epochs...; ``evaluated.history``; ``evaluated.matrix``: the test confusion
    matrix), ``higher_is_better``, ``tunable`` (a suite's ``[tune]`` may choose by it) and
    ``timing``. Every run stored afterwards gets it in its summary; ``bench report
    --metrics KEY`` shows it. A built-in key cannot be taken.
    """


# --------------------------------------------------------------------------------------
# Outputs
# --------------------------------------------------------------------------------------


@hookspec
def benchbench_register_formats(registry):
    """Add output formats for tables (``bench report --format NAME``, ``bench compare``,
    ``bench summary``): ``registry.add(name, factory, description=...)`` where
    ``factory()`` returns ``render(parts, page) -> str``.

    Each part is a :class:`benchbench.analysis.tables.Part`: ``title`` (or None),
    ``shown`` (a pandas DataFrame of display strings), ``raw`` (the numbers behind them),
    ``bold`` (``(row, column)`` cells to mark), ``notes`` and ``provenance``. ``page`` is
    a :class:`benchbench.render.markup.Page`: its ``title``, ``figures`` ((caption,
    base64 PNG) pairs) and ``standalone`` (a whole document wanted). Every string may be
    the user's: escape it for the format (:func:`benchbench.render.markup.one_line`
    removes line breaks and shows control characters).
    """


@hookspec
def benchbench_register_table_kinds(registry):
    """Add table kinds a suite's ``[[tables]]`` may name (``kind = "NAME"``):
    ``registry.add(name, factory, description=...)`` where ``factory()`` returns a
    :class:`benchbench.analysis.tables.TableKind`: its suite keys with their defaults
    (``options``), the keys a table must give (``required``), and ``build(request) ->
    Part``. ``request`` holds the table's title and options, the sweep's runs of the
    table's group (``runs``: :class:`benchbench.results.store.RunRecord`), their
    membership rows, the store and the suite.
    """


@hookspec
def benchbench_register_figures(registry):
    """Add figure kinds drawn from one stored run (``bench plot NAME RUN...``):
    ``registry.add(name, factory, description=...)`` where ``factory(**options)``
    returns ``draw(store, record) -> matplotlib.figure.Figure``; ``options`` come from
    ``bench plot NAME --set KEY=VALUE``. ``store.history(record.id)`` gives the epochs,
    ``store.confusion(record.id)`` the test confusion matrix. Import matplotlib inside.
    """


# --------------------------------------------------------------------------------------
# Where runs train
# --------------------------------------------------------------------------------------


@hookspec
def benchbench_register_executors(registry):
    """Add executors (``bench sweep --executor NAME``): ``registry.add(name, factory,
    description=...)`` where ``factory()`` returns the executor class; it is built as
    ``cls(components, store, force=..., workers=..., address=..., **options)`` and
    implements :class:`benchbench.execution.executors.Executor` (``live_epochs``,
    ``run(configs, events)`` yielding ``(config, status, error)`` per run, ``close()``).
    Only the driver process writes the store: subclass
    :class:`benchbench.execution.executors.detached.DetachedExecutor`, train each config
    elsewhere with :func:`benchbench.execution.runner.train_detached` and hand what it
    returns to ``self.collect(config, get)``. Import your scheduler's library inside
    ``run``, so that ``bench --help`` stays instant.
    """
