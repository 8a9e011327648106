"""Questions asked of stored runs: a run's setting by name, runs matching ``KEY=VALUE``
filters, the runs behind a suite's table, a metric grouped by a setting."""

from __future__ import annotations

from dataclasses import replace

from benchbench.errors import BenchError
from benchbench.results.store import RunRecord
from benchbench.results.store import Store
from benchbench.settings import parse_value


def setting(record: RunRecord, key: str):
    """A run's setting by name: ``lr``, ``arch``, or a plugin option ``arch.bn``; also
    ``study`` and ``trial`` for the runs ``bench tune`` trained."""
    if key == "label":
        return record.label
    if key in ("study", "trial"):  # the study a run was a trial of (bench tune)
        return record.environment.get(key)
    scope, _, option = key.partition(".")
    if option and scope in ("arch", "dataset"):
        return record.config.get(f"{scope}_options", {}).get(option, "default")
    if option and scope == "aug":
        name, _, opt = option.partition(".")
        return record.config.get("aug_options", {}).get(name, {}).get(opt, "default")
    if key not in record.config:
        raise BenchError(
            f"No setting {key!r} in the stored runs; settings are the `bench run` "
            "options by name (lr, batch_size, arch, ...) or arch.OPTION."
        )
    value = record.config.get(key)
    return "+".join(value) or "none" if isinstance(value, list) else value


def matching(records: list[RunRecord], filters: list[str]) -> list[RunRecord]:
    """The runs whose settings match every ``KEY=VALUE`` of ``filters``."""
    for item in filters:
        key, sep, text = item.partition("=")
        if not sep:
            raise BenchError(f"--where {item!r}: write KEY=VALUE, e.g. --where arch=cnn_small.")
        wanted = parse_value(text)
        records = [
            r
            for r in records
            if setting(r, key.strip()) == wanted or str(setting(r, key.strip())) == text
        ]
    return records


def suite_members(store: Store, key: str, group: str = "all") -> list[dict]:
    """The membership rows (``group, run_id, setting, value``) of ``group`` in the last
    sweep of suite ``key``; ``all`` for every group."""
    return [m for m in store.suite_members(key) if group in ("all", m["group"])]


def swept_profile(store: Store, key: str, mixed_refused: bool = True) -> str | None:
    """The profile suite ``key``'s stored rows were swept at (None: as written, or not
    swept); where its groups were swept at different profiles, refused (or None, when
    not ``mixed_refused``)."""
    profiles = sorted({m["profile"] or "" for m in store.suite_members(key)})
    if len(profiles) > 1:
        if not mixed_refused:
            return None
        named = ", ".join(repr(p) if p else "as written" for p in profiles)
        raise BenchError(
            f"suite {key}: its stored rows were swept at different profiles ({named}); "
            "give --profile NAME to render them at one scale."
        )
    return profiles[0] or None if profiles else None


def suite_runs(store: Store, key: str, group: str = "all") -> list[RunRecord]:
    """The stored runs of ``group`` in the last sweep of suite ``key``, in order, each
    labelled as the suite's row names it: once per row, even where two rows share a run."""
    records = {r.id: r for r in store.runs(smoke=None)}  # membership decides, smoke or not
    chosen = {}
    for m in suite_members(store, key, group):
        record = records.get(m["run_id"])
        if record is not None:
            label = m["label"] or record.label
            chosen[(record.id, label)] = replace(record, label=label)
    return list(chosen.values())


def selected(
    store: Store, key: str, *, row: str = "", group: str = "", step: str = "", where=None
) -> list[tuple[dict, RunRecord]]:
    """The complete runs of suite ``key``'s last sweep a figure selects, with their
    membership rows, seed 0 first: labelled ``row``, members of ``group`` (of its tuning
    ``step`` only), whose settings have the values of ``where``."""
    records = {r.id: r for r in store.runs(smoke=None)}
    chosen = []
    for m in suite_members(store, key, group or "all"):
        record = records.get(m["run_id"])
        if record is None or record.status != "complete" or (step and m["setting"] != step):
            continue
        record = replace(record, label=m["label"] or record.label)
        if row and record.label != row:
            continue
        if all(str(setting(record, k)) == str(v) for k, v in (where or {}).items()):
            chosen.append((m, record))
    return sorted(chosen, key=lambda pair: pair[1].config.get("seed", 0))


def values_by(records: list[RunRecord], metric: str, key: str) -> dict[str, list[float]]:
    """``metric`` of the complete runs, grouped by the value of setting ``key`` (sorted)."""
    groups: dict[str, list[float]] = {}
    complete = [r for r in records if r.status == "complete"]
    for r in sorted(complete, key=lambda r: str(setting(r, key))):
        groups.setdefault(str(setting(r, key)), []).append(r.summary[metric])
    return groups


def timing_key(environment: dict, config: dict) -> str:
    """Runs whose seconds may be averaged together share this: same host (CPU or GPU
    model and cores), precision and memory layout."""
    host = environment.get("host") or environment.get("device_name") or "unknown host"
    precision = environment.get("precision") or config.get("precision", "fp32")
    layout = environment.get("layout") or "contiguous"
    batched = environment.get("vectorized")
    return f"{host}, {precision}, {layout}" + (f", {batched} seeds batched" if batched else "")
