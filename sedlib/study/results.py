"""Aggregated results on disk: one set per grid and shared configuration, and the ladder of sets.

A sweep's finished runs are aggregated into ``<results>/<grid>/<slug>.csv``
(one row per run) and ``.json`` (a header that says what was run, on which
data, by which command, and a compact record of every run). The slug names
the data set, the protocol and the device, and ends with a hash of every
setting the runs share and of the identities of the runs the sweep planned
(which cover the data, audio included, and the seeds), so two sweeps that
differ in anything (epochs, model width, seeds, data...) never write into
each other's files. A set is rewritten only with at least the runs it holds
(:func:`check_replace`), unless forced. Files written before the planned
runs were hashed keep their names (:func:`find_result_file`).

The sets of one grid form a *ladder*: the same comparison at increasing
fidelity to the paper (more data, the paper's protocol, more seeds, the
full model). :func:`load_ladder` returns them in that order.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from sedlib.errors import SedlibError
from sedlib.settings import results_dir
from sedlib.training.config import FOLDS
from sedlib.training.record import RunRecord, SchemaError
from sedlib.util.io import read_json, read_json_object


class ResultSetConflict(SedlibError, RuntimeError):
    """Writing a result set would drop finished runs of the file already there; the message says which."""


def slug(
    shared: dict[str, Any],
    fingerprint: str = "",
    runs: Sequence[str] | None = None,
    *,
    spelled: bool = False,
) -> str:
    """``<dataset>_<protocol>_<device>_<hash>`` of the settings shared by a set of runs and their data.

    The hash covers every shared setting, the data set's fingerprint and,
    when given, the identities of the planned ``runs`` (the set's seeds and
    the audio), so results of other seeds, regenerated or changed data never
    overwrite older ones. With ``runs``, the hash leaves out how the data set
    is spelled (a name, a folder, a copy of it): the runs' identities cover
    the data by its content, so one data set has one result set however it is
    spelled (``spelled=True``: the hash of the files of sedlib 0.3.0, which
    covered the spelling). Without ``runs``: the names of sedlib 0.2 files.

    Examples
    --------
    >>> slug({"dataset": "synthetic-small", "protocol": "folds", "device": "cpu", "epochs": 30}, "ab12")
    'synthetic-small_folds_cpu_dc5b097d'
    """
    settings = shared
    if runs is not None and not spelled:
        settings = {k: v for k, v in shared.items() if k != "dataset"}
    payload: dict[str, Any] = {"settings": settings, "data": fingerprint}
    if runs is not None:
        payload["runs"] = sorted(runs)
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:8]
    name = str(shared.get("dataset", "data")).rstrip("/").split("/")[-1]
    return f"{name}_{shared.get('protocol')}_{shared.get('device')}_{digest}"


def find_result_file(
    folder: Path, shared: dict[str, Any], fingerprint: str, planned: Sequence[str] | None
) -> tuple[str, dict | None]:
    """The name of the file of a result set in ``folder`` and its current summary (None when new).

    The set's file is found under its name (:func:`slug`); else under the name
    another spelling of its data set gave it (the same hash, the same
    planned runs); else under the name of sedlib 0.3.0 (:func:`slug` with
    ``spelled=True``); else, for a file written before sets were keyed by
    their planned runs (its header lacks ``planned_runs``), under the older
    name (:func:`slug` without runs) when it holds only planned runs and
    planned as many.
    """
    name = slug(shared, fingerprint, planned)
    if (folder / f"{name}.json").is_file():
        return name, read_summary(folder / f"{name}.json")
    if planned is None:
        return name, None
    found = _spelled_otherwise(folder, name, planned) or _older_file(
        folder, shared, fingerprint, planned
    )
    return found or (name, None)


def _spelled_otherwise(folder: Path, name: str, planned: Sequence[str]) -> tuple[str, dict] | None:
    """The set's file named after another spelling of its data set (same hash, same planned runs)."""
    suffix = "_".join(name.rsplit("_", 3)[1:])  # protocol, device, hash
    for path in sorted(folder.glob(f"*_{suffix}.json")):
        summary = read_summary(path)
        if sorted(summary["header"].get("planned_runs") or []) == sorted(planned):
            return path.stem, summary
    return None


def _older_file(
    folder: Path, shared: dict[str, Any], fingerprint: str, planned: Sequence[str]
) -> tuple[str, dict] | None:
    """The set's file under the name of sedlib 0.3.0 or of sedlib 0.2 (see :func:`find_result_file`)."""
    spelled = slug(shared, fingerprint, planned, spelled=True)
    if (folder / f"{spelled}.json").is_file():
        return spelled, read_summary(folder / f"{spelled}.json")
    legacy = slug(shared, fingerprint)
    if (folder / f"{legacy}.json").is_file():
        summary = read_summary(folder / f"{legacy}.json")
        held = {run["identity"] for run in summary["runs"].values()}
        header = summary["header"]
        if (
            "planned_runs" not in header
            and held <= set(planned)
            and header.get("planned") == len(planned)
        ):
            return legacy, summary
    return None


def check_replace(path: Path, previous: dict | None, identities: set[str], force: bool) -> None:
    """Raise :class:`ResultSetConflict` unless the new set of ``identities`` keeps every run of ``previous``.

    Parameters
    ----------
    path : Path
        The result file (for the message).
    previous : dict or None
        Its current summary (None: no file yet).
    identities : set of str
        The runs of the set about to be written.
    force : bool
        Replace anyway.
    """
    if previous is None or force:
        return
    lost = sorted(
        name for name, run in previous["runs"].items() if run["identity"] not in identities
    )
    if lost:
        raise ResultSetConflict(
            f"{path} holds {len(previous['runs'])} finished run(s), the new aggregate "
            f"{len(identities)} and lacks {len(lost)} of them ({', '.join(lost[:4])}"
            f"{', ...' if len(lost) > 4 else ''}); not replaced (use --force to replace it)"
        )


def results_root(root: Path | None = None) -> Path:
    """``<data root>/results`` unless given."""

    return Path(root) if root is not None else results_dir()


@dataclass
class ResultSet:
    """One aggregated set of runs: its header, its table, its per-run records.

    Attributes
    ----------
    grid, slug : str
        Which grid, which shared configuration.
    header : dict
        What was run (``settings``), on which data (``data``), with which
        ``protocol``, how many ``seeds``, by which command (``created_by``).
    table : pandas.DataFrame
        One row per run (metrics, per-class columns ``f:<label>`` ...).
    runs : dict
        Compact record of every run, by run name.
    path : Path, optional
        The ``.csv`` file (its ``.json`` beside it), when read or written.
    """

    grid: str
    slug: str
    header: dict
    table: pd.DataFrame
    runs: dict
    path: Path | None = None

    def setting(self, key: str, default: Any = None) -> Any:
        """A setting of the set's runs: the shared one, else the one value its runs that use it have.

        A setting that only some methods use (E2's ``class_frames``) is
        resolved per run (None where unused), so it is not a shared setting;
        its value is then read from the runs' records.
        """
        if key in self.header["settings"]:
            return self.header["settings"][key]
        values = {
            json.dumps(run.get("resolved", {}).get(key))
            for run in self.runs.values()
            if run.get("resolved", {}).get(key) is not None
        }
        return json.loads(values.pop()) if len(values) == 1 else default

    @property
    def fidelity(self) -> tuple:
        """Sort key, from the small synthetic data to the paper's protocol: the protocol
        (the paper's 4 folds last), the minutes of audio, the model's width (the paper's
        last), then seeds and training budget."""
        settings = self.header["settings"]
        return (
            self.header["protocol"] == FOLDS,  # the paper's protocol
            float(self.header["data"]["audio_minutes"]),
            settings.get("model", {}).get("channels", 128) == 128,
            int(self.header["seeds"]),
            int(settings.get("max_steps") or 0),
            int(settings.get("epochs") or 0),
        )

    @property
    def superseded(self) -> bool:
        """Aggregated before the convergence criterion (its table had no ``converged`` column)."""
        return "converged" not in self.header.get("table_columns", ())

    @property
    def code_versions(self) -> dict[str, list[str]]:
        """Training-code fingerprint -> run names (``"not recorded"`` for runs made before it was)."""
        return self.header.get("training_code") or {"not recorded": sorted(self.runs)}

    @property
    def mixed_code(self) -> bool:
        """Runs of more than one training-code version, and no recorded check that they train the
        same numbers (the header's ``one_training_code``: :mod:`sedlib.study.equivalence`)."""
        return len(self.code_versions) > 1 and not self.header.get("one_training_code", False)

    @property
    def engines(self) -> dict[str, list[str]]:
        """Training engine (``single``, ``batched``) -> run names."""
        found: dict[str, list[str]] = {}
        for name, run in sorted(self.runs.items()):
            found.setdefault(run.get("timing", {}).get("engine", "single"), []).append(name)
        return found

    @property
    def mixed_engines(self) -> bool:
        """Runs of both engines with dropout on: their masks come from different generators, so
        the seeds of one method are not the same trainings (:mod:`sedlib.training.batched`)."""
        dropout = {
            r.get("resolved", {}).get("model", {}).get("dropout") for r in self.runs.values()
        }
        return len(self.engines) > 1 and dropout != {0.0}

    @property
    def command(self) -> str:
        """The command that reproduces these runs today (it may differ from the one that made them)."""
        return self.header.get("reproduce_with", self.header["created_by"])

    @property
    def settings_key(self) -> str:
        """Equal for result sets of different grids run with the same settings on the same data.

        The data count by name and fingerprint, not by how a sweep spelled them.
        """
        data = self.header["data"]
        settings = {k: v for k, v in self.header["settings"].items() if k != "dataset"}
        key = {"settings": settings, "data": [data["name"], data.get("fingerprint")]}
        return json.dumps(key, sort_keys=True)


def joined(result: ResultSet, others: list[ResultSet]) -> pd.DataFrame:
    """The runs of ``result`` and of the set among ``others`` with the same settings and data.

    E.g. a rung of the ``paper`` grid with the ``baselines`` run on the same
    settings; a run in both (same identity) is kept once.
    """
    partner = next((o for o in others if o.settings_key == result.settings_key), None)
    if partner is None:
        return result.table.copy()
    both = pd.concat([result.table, partner.table], ignore_index=True)
    return both.drop_duplicates("identity").reset_index(drop=True)


def with_partner(result: ResultSet, others: list[ResultSet]) -> ResultSet:
    """``result`` with the runs of its partner among ``others`` (:func:`joined`) in its table."""
    return replace(result, table=joined(result, others))


def sweep_sources(
    gamma_sets: list[ResultSet], paper_sets: list[ResultSet]
) -> list[tuple[ResultSet, pd.DataFrame]]:
    """The rungs of the γ sweep: each set's runs, as chapter "The γ sweep" draws and tabulates them.

    Every ``gamma`` set comes first, joined (:func:`joined`) with the
    ``paper`` set of the same settings and data, which brings BCE and IF;
    then every ``paper`` set that no ``gamma`` set shares settings with
    (its γ = 1 and 4 alone).

    Returns
    -------
    list of (ResultSet, pandas.DataFrame)
        The set that names the rung, and the runs to show for it.
    """
    swept = {s.settings_key for s in gamma_sets}
    sources = [(s, joined(s, paper_sets)) for s in gamma_sets]
    return sources + [(s, s.table) for s in paper_sets if s.settings_key not in swept]


def stored_records(root: Path | None = None) -> dict[str, tuple[Path, str]]:
    """Every run whose whole record a result set holds: identity -> (summary file, run name).

    Sets aggregated before records were kept whole (their runs lack the
    per-epoch history) are skipped: their runs cannot be restored. A summary
    that cannot be read is skipped with a warning naming it.
    """
    import logging

    found: dict[str, tuple[Path, str]] = {}
    for path in sorted(results_root(root).glob("*/*.json")):
        try:
            runs = read_json(path, "result summary").get("runs", {})
        except (SedlibError, ValueError, OSError) as err:
            logging.getLogger(__name__).warning("%s skipped: %s", path, err)
            continue
        for name, run in runs.items() if isinstance(runs, dict) else ():
            folds = run.get("folds") if isinstance(run, dict) else None
            if isinstance(folds, list) and folds and all("history" in f for f in folds):
                found.setdefault(run.get("identity", ""), (path, name))
    found.pop("", None)
    return found


def stored_record(source: tuple[Path, str]) -> RunRecord:
    """The :class:`~sedlib.training.record.RunRecord` that ``source`` (from :func:`stored_records`) names."""
    path, name = source
    data = read_json(path, "result summary")["runs"][name]
    return RunRecord.from_dict({"run": name, **data}, source=f"{path}: runs[{name!r}]")


def read_summary(path: Path) -> dict:
    """A result set's summary (``<slug>.json``), its shape checked.

    It must hold a ``header`` object and ``runs``, an object of runs by name,
    each with its ``identity``.

    Raises
    ------
    sedlib.util.io.CorruptFileError
        When it is not a JSON object (naming the file).
    SchemaError
        Naming the file, and the run, that do not have that shape.
    """
    summary = read_json_object(path, "result summary", "remove it or aggregate the runs again")
    missing = [key for key in ("header", "runs") if key not in summary]
    if missing or not isinstance(summary["header"], dict):
        raise SchemaError(
            f"{path}: not a result summary (it lacks {missing or 'a header object'}); every "
            f".json in {path.parent} is read as one: move it out or aggregate the runs again"
        )
    if not isinstance(summary["runs"], dict):
        raise SchemaError(
            f"{path}: 'runs' must be an object of runs by name, not a "
            f"{type(summary['runs']).__name__}; aggregate the runs again"
        )
    for name, run in summary["runs"].items():
        if not (isinstance(run, dict) and isinstance(run.get("identity"), str)):
            raise SchemaError(
                f"{path}: run {name!r} has no identity (a string); aggregate the runs again"
            )
    return summary


def load_result(grid: str, name: str, root: Path | None = None) -> ResultSet:
    """The result set ``<root>/<grid>/<name>.csv`` / ``.json``."""
    folder = results_root(root) / grid
    summary = read_summary(folder / f"{name}.json")
    csv = folder / f"{name}.csv"
    table = pd.read_csv(csv)
    extra = {}
    if "marked" not in table:
        extra["marked"] = table["run"].map(lambda run: marked_share(summary["runs"].get(run, {})))
    if "converged" not in table:  # aggregated before the criterion: not assessed, so not converged
        extra["converged"] = False
    else:
        table["converged"] = [
            judged_converged(run, summary["runs"].get(run, {}), folder / f"{name}.json", done)
            for run, done in zip(table["run"], table["converged"], strict=True)
        ]
    table = pd.concat([table, pd.DataFrame(extra, index=table.index)], axis=1)
    return ResultSet(grid, name, summary["header"], table, summary["runs"], csv)


def judged_converged(name: str, run: dict, path: Path, aggregated: bool) -> bool:
    """Whether a stored run converged by today's criterion (:mod:`sedlib.training.convergence`).

    ``run`` is the record ``name`` of the summary at ``path``. A whole record
    (its trainings' histories) is judged again, so a result set aggregated
    under an earlier, shorter patience meets today's bar; a compact one keeps
    the ``converged`` of its table (``aggregated``).
    """
    folds = run.get("folds") or []
    if not folds or not all("history" in f for f in folds):
        return bool(aggregated)
    return RunRecord.from_dict({**run, "run": name}, source=f"{path}: runs[{name!r}]").converged


def marked_share(run: dict) -> float:
    """How many labels (segment, class) a run's test output marks, per label of the reference.

    Read from the run's compact record (``evaluation.per_class``: ``n_sys`` and
    ``n_ref``); NaN when the record does not hold them.

    >>> marked_share({"evaluation": {"per_class": {"a": {"n_sys": 1, "n_ref": 4}}}})
    0.25
    """
    per_class = run.get("evaluation", {}).get("per_class", {})
    marked = sum(c.get("n_sys", 0) for c in per_class.values())
    reference = sum(c.get("n_ref", 0) for c in per_class.values())
    return marked / reference if reference else float("nan")


def load_ladder(grid: str, root: Path | None = None) -> list[ResultSet]:
    """Every result set of a grid, from the farthest from the paper to the closest."""
    folder = results_root(root) / grid
    sets = [load_result(grid, p.stem, root) for p in sorted(folder.glob("*.json"))]
    return sorted(sets, key=lambda s: s.fidelity)
