"""Built-in result sinks: MLflow and TensorBoard (optional extras), registered like any
plugin's. ``bench run --sink mlflow``, ``bench sweep ... --sink tensorboard=runs/``,
``bench export mlflow --where arch=cnn_5x5`` for runs already stored."""

from __future__ import annotations

import math
import os
import re
import time
from pathlib import Path

from benchbench import hookimpl
from benchbench.errors import BenchError

RUN_TAG = "benchbench.run_id"  # on every MLflow run: which stored run it mirrors
STUDY_TAG = "benchbench.study"  # on a study's parent run: the study's name
PARENT_TAG = "mlflow.parentRunId"  # MLflow's own: nests a trial under its study


@hookimpl
def benchbench_register_sinks(registry):
    registry.add(
        "mlflow",
        mlflow_sink,
        description="MLflow tracking: config as params, environment as tags, per-epoch "
        "metrics, summary, confusion matrix and figures as artifacts; target: a tracking "
        "URI (default $MLFLOW_TRACKING_URI, else ./mlruns); experiment "
        "$MLFLOW_EXPERIMENT_NAME or benchbench (extra: benchbench-harness[mlflow])",
    )
    registry.add(
        "tensorboard",
        tensorboard_sink,
        description="TensorBoard event files, one folder per run: per-epoch scalars, "
        "hyper-parameters with the summary, figures; target: the log folder (default "
        "./bench-tensorboard) (extra: benchbench-harness[tensorboard])",
    )


def _numbers(values: dict) -> dict[str, float]:
    """The finite numbers of ``values`` (booleans and text left out)."""
    return {
        k: float(v)
        for k, v in values.items()
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    }


def _flat(values: dict, prefix: str = "") -> dict[str, str]:
    """Nested settings as ``a.b`` keys with text values."""
    out = {}
    for key, value in values.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = str(value)
    return out


def mlflow_sink(*, target: str | None = None):
    try:
        import mlflow
    except ImportError:
        raise BenchError(
            "--sink mlflow: MLflow is not installed. pip install 'benchbench-harness[mlflow]'."
        ) from None
    return MLflowSink(mlflow, target or mlflow.get_tracking_uri())


def _artifacts_beside(uri: str) -> str | None:
    """Where a new experiment keeps its artifacts: beside the tracking database when the
    URI names a local SQLite file (``sqlite:///runs/mlflow.db`` -> ``runs/mlartifacts``),
    not in a ``./mlruns`` of whatever folder bench was started from; else MLflow's own
    default."""
    if not uri.startswith("sqlite:///"):
        return None
    database = Path(uri.removeprefix("sqlite:///")).resolve()
    return (database.parent / "mlartifacts").as_uri()


class MLflowSink:
    """One MLflow run per stored run, in experiment ``$MLFLOW_EXPERIMENT_NAME`` (or
    benchbench), tagged with the run id so that ``bench export`` never doubles one."""

    def __init__(self, mlflow, uri: str):
        from mlflow.entities import Metric
        from mlflow.entities import Param
        from mlflow.entities import RunTag

        self.Metric, self.Param, self.RunTag = Metric, Param, RunTag
        self.client = mlflow.MlflowClient(tracking_uri=uri)
        name = os.environ.get("MLFLOW_EXPERIMENT_NAME") or "benchbench"
        experiment = self.client.get_experiment_by_name(name)
        self.experiment = (
            experiment.experiment_id
            if experiment
            else self.client.create_experiment(name, artifact_location=_artifacts_beside(uri))
        )
        self.runs: dict[str, str] = {}  # benchbench run id -> MLflow run id
        self.parent: str | None = None  # a study's MLflow run, its trials' parent

    def study_started(self, name: str, params: dict, metrics: dict) -> None:
        """Open (or find again) study ``name``'s parent run: the trials exported next
        become its children, and what it summarizes is logged on it."""
        found = self.client.search_runs([self.experiment], f"tags.`{STUDY_TAG}` = '{name}'")
        if found:
            self.parent = found[0].info.run_id
        else:
            tags = {STUDY_TAG: name}
            self.parent = self.client.create_run(
                self.experiment, run_name=f"study {name}", tags=tags
            ).info.run_id
        now = int(time.time() * 1000)
        self.client.log_batch(
            self.parent,
            metrics=[self.Metric(k, v, now, 0) for k, v in _numbers(metrics).items()],
            params=[self.Param(k, v[:6000]) for k, v in sorted(_flat(params).items())],
        )

    def study_ended(self) -> None:
        if self.parent is not None:
            self.client.set_terminated(self.parent, status="FINISHED")

    def exported(self, run_id: str) -> bool:
        """Whether a finished MLflow run already mirrors stored run ``run_id``."""
        query = f"tags.`{RUN_TAG}` = '{run_id}' and attributes.status = 'FINISHED'"
        found = self.client.search_runs([self.experiment], query)
        for run in found if self.parent is not None else ():
            if run.data.tags.get(PARENT_TAG) != self.parent:  # sent before, on its own
                self.client.set_tag(run.info.run_id, PARENT_TAG, self.parent)
        return bool(found)

    def run_started(self, run_id, label, config, environment) -> None:
        tags = {RUN_TAG: run_id, **{f"env.{k}": str(v)[:5000] for k, v in environment.items()}}
        if self.parent is not None:
            tags[PARENT_TAG] = self.parent
        run = self.client.create_run(self.experiment, run_name=label, tags=tags)
        self.runs[run_id] = run.info.run_id
        params = [self.Param(k, v[:6000]) for k, v in sorted(_flat(config).items())]
        for start in range(0, len(params), 100):  # MLflow takes at most 100 per batch
            self.client.log_batch(run.info.run_id, params=params[start : start + 100])

    def epoch_ended(self, run_id, record) -> None:
        now = int(time.time() * 1000)
        metrics = [
            self.Metric(k, v, now, int(record["epoch"]))
            for k, v in _numbers(record).items()
            if k != "epoch"
        ]
        self.client.log_batch(self.runs[run_id], metrics=metrics)

    def run_ended(self, record, artifacts) -> None:
        mlflow_id = self.runs.pop(record.id)
        now = int(time.time() * 1000)
        summary = [self.Metric(k, v, now, 0) for k, v in _numbers(record.summary).items()]
        self.client.log_batch(
            mlflow_id, metrics=summary, tags=[self.RunTag("status", record.status)]
        )
        for path in artifacts.values():
            self.client.log_artifact(mlflow_id, str(path))
        state = "FINISHED" if record.status in ("complete", "diverged") else "FAILED"
        self.client.set_terminated(mlflow_id, status=state)


def tensorboard_sink(*, target: str | None = None):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise BenchError(
            "--sink tensorboard: TensorBoard is not installed. "
            "pip install 'benchbench-harness[tensorboard]'."
        ) from None
    return TensorBoardSink(SummaryWriter, Path(target or "bench-tensorboard"))


class TensorBoardSink:
    """An event-file folder per run, named by label and run id."""

    def __init__(self, writer_class, root: Path):
        self.writer_class, self.root = writer_class, root
        self.writers: dict = {}

    def run_started(self, run_id, label, config, environment) -> None:
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", label).strip("-") or "run"
        writer = self.writer_class(log_dir=str(self.root / f"{slug}-{run_id}"))
        writer.add_text("config", "\n".join(f"    {k} = {v}" for k, v in _flat(config).items()))
        writer.add_text("environment", "\n".join(f"    {k} = {v}" for k, v in environment.items()))
        self.writers[run_id] = (writer, config)

    def epoch_ended(self, run_id, record) -> None:
        writer, _ = self.writers[run_id]
        for key, value in _numbers(record).items():
            if key != "epoch":
                writer.add_scalar(key, value, int(record["epoch"]))

    def run_ended(self, record, artifacts) -> None:
        import numpy as np
        from PIL import Image

        writer, config = self.writers.pop(record.id)
        hparams = {
            k: v
            for k, v in config.items()
            if isinstance(v, (int, float, str, bool)) and not isinstance(v, dict)
        }
        writer.add_hparams(hparams, _numbers(record.summary), run_name=".")
        for name, path in artifacts.items():
            if path.suffix == ".png":
                image = np.asarray(Image.open(path).convert("RGB"))
                writer.add_image(name.removesuffix(".png"), image, dataformats="HWC")
        writer.close()

    def close(self) -> None:
        for writer, _ in self.writers.values():
            writer.close()
        self.writers.clear()
