"""Grids of training runs, each executed as the papermill training notebook.

``run_grid("paper")`` executes ``book/03_training.ipynb`` once per run of the
grid into ``<data root>/runs/<grid>/<run>/`` (the executed notebook next to
its ``metrics.json``), skips finished runs, lets interrupted ones resume from
their checkpoint, and aggregates every finished run into
``<data root>/results/<grid>.csv`` and ``.json``. Runs are independent, so
``shard=(i, n)`` takes every n-th run from the i-th on: a cluster array job
can split a grid across machines, and a final ``aggregate`` call collects it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sedlib.analysis import EXTENDED_KEYS, complete_run
from sedlib.data.meta import atomic_write_text
from sedlib.losses import GAMMA_LOSSES
from sedlib.settings import REPO_ROOT

NOTEBOOK = REPO_ROOT / "book" / "03_training.ipynb"
PAPER_GAMMAS = (0.25, 0.5, 1.0, 2.0, 4.0)
GRIDS = ("paper", "gamma", "baselines", "smoke")


@dataclass(frozen=True)
class RunSpec:
    """One run of a grid: the notebook parameters that differ between runs."""

    loss: str
    seed: int
    gamma: float = 1.0
    extra: dict = field(default_factory=dict, hash=False, compare=False)

    @property
    def name(self) -> str:
        from sedlib.train import run_name

        return run_name(self.loss, self.gamma, self.seed)


def grid_runs(grid: str, seeds: int | None = None) -> list[RunSpec]:
    """The runs of a named grid.

    ``paper``: BCE, inverse frequency, duration robust γ=1 and γ=4, 10 seeds
    each (the paper's Table 4). ``gamma``: duration robust with γ in
    {2^-2, ..., 2^2}, 10 seeds (Figs. 4 and 5). ``smoke``: BCE and duration
    robust, one seed, a seconds-long run of a slim model (for CI).
    ``baselines``: the imbalance losses of later work with their published
    parameters, 10 seeds: α-balanced focal (γ=2, α=0.25), class-balanced BCE
    (β=0.9999) and asymmetric (γ+=0, γ-=4, clip 0.05).
    """
    if grid == "paper":
        n = 10 if seeds is None else seeds
        losses = [
            ("bce", 1.0),
            ("inverse_frequency", 1.0),
            ("duration_robust", 1.0),
            ("duration_robust", 4.0),
        ]
        return [RunSpec(loss, s, g) for loss, g in losses for s in range(n)]
    if grid == "gamma":
        n = 10 if seeds is None else seeds
        return [RunSpec("duration_robust", s, g) for g in PAPER_GAMMAS for s in range(n)]
    if grid == "baselines":
        n = 10 if seeds is None else seeds
        losses = [("focal", 2.0), ("class_balanced", 1.0), ("asymmetric", 1.0)]
        return [RunSpec(loss, s, g) for loss, g in losses for s in range(n)]
    if grid == "smoke":
        slim = {"epochs": 1, "model": {"channels": 8}, "batch_size": 16}
        n = 1 if seeds is None else seeds
        return [
            RunSpec(loss, s, 1.0, slim) for loss in ("bce", "duration_robust") for s in range(n)
        ]
    raise ValueError(f"unknown grid {grid!r}; choose {', '.join(GRIDS)}")


def parse_shard(text: str | None) -> tuple[int, int]:
    """``"i/n"`` -> (i, n) with 0 <= i < n."""
    if not text:
        return 0, 1
    try:
        i, n = (int(v) for v in text.split("/"))
    except ValueError:
        raise ValueError(f"--shard must look like i/n (e.g. 0/4), got {text!r}") from None
    if not 0 <= i < n:
        raise ValueError(f"--shard {text!r}: need 0 <= i < n")
    return i, n


def run_grid(
    grid: str,
    *,
    dataset: str = "synthetic-small",
    device: str = "auto",
    epochs: int | None = None,
    seeds: int | None = None,
    jobs: int = 1,
    shard: tuple[int, int] = (0, 1),
    runs_root: Path | None = None,
    results_root: Path | None = None,
    extra_parameters: dict | None = None,
    echo: Callable[[str], None] = print,
) -> pd.DataFrame:
    """Execute the grid's runs (those of this shard) and aggregate the finished ones.

    Parameters
    ----------
    grid : str
        ``paper``, ``gamma`` or ``smoke`` (see :func:`grid_runs`).
    dataset, device : str
        Notebook parameters shared by all runs.
    epochs : int, optional
        Epochs per run (default: the notebook's, or the smoke grid's 1).
    seeds : int, optional
        Seeds per configuration (default: 10, smoke 1).
    jobs : int
        Runs executed at the same time (several fit on one GPU).
    shard : (int, int)
        Run only every n-th run starting at the i-th.
    runs_root, results_root : path, optional
        Default ``<data root>/runs`` and ``<data root>/results``.
    extra_parameters : dict, optional
        More notebook parameters for every run.
    echo : callable
        Where progress messages go.

    Returns
    -------
    pandas.DataFrame
        The aggregated table of all finished runs of the grid.
    """
    import papermill
    from tqdm.auto import tqdm

    from sedlib.settings import data_root

    runs_root = Path(runs_root) if runs_root else data_root() / "runs"
    results_root = Path(results_root) if results_root else data_root() / "results"
    specs = grid_runs(grid, seeds)
    mine = [s for k, s in enumerate(specs) if k % shard[1] == shard[0]]

    def parameters(spec: RunSpec) -> dict[str, Any]:
        params = {
            "dataset": dataset,
            "loss": spec.loss,
            "gamma": spec.gamma,
            "seed": spec.seed,
            "device": device,
        }
        params.update(spec.extra)
        if epochs is not None:
            params["epochs"] = epochs
        params.update(extra_parameters or {})
        params["output_dir"] = str(runs_root / grid / spec.name)
        return params

    todo = [s for s in mine if not _finished(runs_root / grid / s.name, parameters(s))]
    reused = [s for s in todo if _reuse_from_other_grid(runs_root, grid, s.name, parameters(s))]
    todo = [s for s in todo if s not in reused]
    if reused:
        echo(f"grid {grid}: reused {len(reused)} identical finished run(s) of other grids")
    echo(
        f"grid {grid}: {len(specs)} runs, {len(mine)} in shard {shard[0]}/{shard[1]}, {len(todo)} to run"
    )

    def execute(spec: RunSpec) -> str:
        run_dir = runs_root / grid / spec.name
        run_dir.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        papermill.execute_notebook(
            str(NOTEBOOK),
            str(run_dir / "03_training.ipynb"),
            parameters=parameters(spec),
            kernel_name="python3",
            progress_bar=False,
            cwd=str(REPO_ROOT),
        )
        return f"{spec.name}: {time.perf_counter() - start:.0f} s"

    with tqdm(total=len(todo), desc=f"sweep {grid}", unit="run") as bar:
        if jobs <= 1:
            for spec in todo:
                bar.set_postfix_str(execute(spec))
                bar.update()
        else:
            with ThreadPoolExecutor(max_workers=jobs) as pool:  # each run is its own kernel process
                for message in pool.map(execute, todo):
                    bar.set_postfix_str(message)
                    bar.update()
    return aggregate(grid, runs_root=runs_root, results_root=results_root, echo=echo)


def _reuse_from_other_grid(runs_root: Path, grid: str, name: str, params: dict) -> bool:
    """Copy a finished run with the same parameters from another grid (e.g. γ=1 of ``paper`` into ``gamma``)."""
    import shutil

    for other in sorted(runs_root.glob(f"*/{name}")):
        if other.parent.name == grid or not _finished(other, params):
            continue
        target = runs_root / grid / name
        target.mkdir(parents=True, exist_ok=True)
        for item in (
            "03_training.ipynb",
            "predictions.npz",
            "best.pt",
            "metrics.json",
        ):  # metrics.json last
            if (other / item).is_file():
                shutil.copy2(other / item, target / item)
        return True
    return False


def _finished(run_dir: Path, params: dict) -> bool:
    path = run_dir / "metrics.json"
    if not path.is_file():
        return False
    config = json.loads(path.read_text())["config"]
    keys = ("dataset", "loss", "gamma", "seed", "epochs", "device")
    return all(config.get(k) == params[k] for k in keys if k in params) and config.get(
        "loss_options", {}
    ) == params.get("loss_options", {})


def _histograms(run_dir: Path, config: dict) -> dict | None:
    """Probability histograms of an older run, from its stored predictions (None if the data is gone)."""
    import numpy as np

    from sedlib.data.cache import build_features
    from sedlib.data.registry import get_dataset
    from sedlib.weights import probability_histograms

    try:
        evaluation = build_features(
            get_dataset(config["dataset"], create=False), config["eval_split"], progress=False
        )
        with np.load(run_dir / "predictions.npz") as stored:
            probs = [stored[f"p{i}"].astype(np.float32) for i in range(len(evaluation.files))]
    except (FileNotFoundError, KeyError, ValueError):
        return None
    labels = [evaluation.file(i)[1] for i in range(len(evaluation.files))]
    return {k: v.tolist() for k, v in probability_histograms(probs, labels).items()}


def _summary_json(header: dict, runs: dict) -> str:
    """The summary as JSON with one line per run (readable diffs, no line per histogram bin)."""
    dump = lambda value: json.dumps(value, allow_nan=False, default=str)  # noqa: E731
    lines = [f"  {dump(key)}: {dump(value)}," for key, value in header.items()]
    entries = [f"    {dump(name)}: {dump(run)}" for name, run in runs.items()]
    return "{\n" + "\n".join(lines) + '\n  "per_run": {\n' + ",\n".join(entries) + "\n  }\n}\n"


def _command(grid: str, configs: list[dict]) -> str:
    """The ``sedlib sweep`` command that reproduces these runs (options shared by all of them)."""
    parts = [f"sedlib sweep --grid {grid}"]
    seeds = len({c["seed"] for c in configs})
    parts.append(f"--seeds {seeds}")
    for option, key in (("--epochs", "epochs"), ("--dataset", "dataset"), ("--device", "device")):
        values = {str(c[key]) for c in configs}
        if len(values) == 1:
            parts.append(f"{option} {values.pop()}")
    return " ".join(parts)


def _extended_columns(metrics: dict) -> dict[str, Any]:
    """Summary columns of the tuned-threshold and threshold-free results (NaN when absent)."""
    tuned = metrics.get("tuned", {}).get("evaluation", {})
    free = metrics.get("threshold_free", {})
    columns = {
        f"tuned_{k}": tuned.get(k, float("nan"))
        for k in ("macro_f", "micro_f", "macro_er", "micro_er")
    }
    for key in ("segment_ap", "segment_auroc", "psds1", "psds2", "psds1_mean", "psds2_mean"):
        columns[key] = free.get(key, float("nan"))
    return columns


def aggregate(
    grid: str,
    *,
    runs_root: Path | None = None,
    results_root: Path | None = None,
    echo: Callable[[str], None] = print,
) -> pd.DataFrame:
    """Collect the finished runs of a grid into ``<grid>.csv`` (one row per run) and ``<grid>.json``."""
    from sedlib import provenance
    from sedlib.settings import data_root

    runs_root = Path(runs_root) if runs_root else data_root() / "runs"
    results_root = Path(results_root) if results_root else data_root() / "results"
    rows, runs = [], {}
    for path in sorted((runs_root / grid).glob("*/metrics.json")):
        metrics = json.loads(path.read_text())
        if not all(key in metrics for key in EXTENDED_KEYS):
            try:
                complete_run(path.parent)
                echo(f"{path.parent.name}: added tuned-threshold and threshold-free results")
                metrics = json.loads(path.read_text())
            except (FileNotFoundError, RuntimeError, ValueError) as error:
                echo(f"{path.parent.name}: left without tuned/threshold-free results: {error}")
        ev, cfg = metrics["evaluation"], metrics["config"]
        row = {
            "run": metrics["run"],
            "dataset": metrics["dataset"]["name"],
            "loss": cfg["loss"],
            "gamma": cfg["gamma"] if cfg["loss"] in GAMMA_LOSSES else None,
            "seed": cfg["seed"],
            "epochs_run": metrics["epochs_run"],
            "best_epoch": metrics["best_epoch"],
            "macro_f": ev["macro_f"],
            "micro_f": ev["micro_f"],
            "macro_er": ev["macro_er"],
            "micro_er": ev["micro_er"],
            "seconds_per_epoch": metrics["timing"]["seconds_per_epoch"],
            "device": metrics["provenance"]["device"]["used"],
            "git_commit": metrics["provenance"]["git_commit"],
        }
        row.update(_extended_columns(metrics))
        for label, values in ev["per_class"].items():
            row[f"f:{label}"] = values["f"]
            row[f"er:{label}"] = values["er"]
        for label, values in (
            metrics.get("tuned", {}).get("evaluation", {}).get("per_class", {}).items()
        ):
            row[f"tuned_f:{label}"] = values["f"]
        for label, values in metrics.get("threshold_free", {}).get("per_class", {}).items():
            row[f"ap:{label}"] = values["ap"]
        rows.append(row)
        runs[metrics["run"]] = {
            "config": cfg,
            "evaluation": ev,
            **{key: metrics[key] for key in EXTENDED_KEYS if key in metrics},
            "provenance": metrics["provenance"],
            "probability_histograms": metrics.get("probability_histograms")
            or _histograms(path.parent, cfg),
        }
    table = pd.DataFrame(rows)
    if table.empty:
        echo(f"grid {grid}: no finished runs yet in {runs_root / grid}")
        return table
    results_root.mkdir(parents=True, exist_ok=True)
    atomic_write_text(results_root / f"{grid}.csv", table.to_csv(index=False))
    header = {
        "grid": grid,
        "runs": len(rows),
        "created_by": _command(grid, [r["config"] for r in runs.values()]),
        "aggregated": provenance.collect(include_device=False),
        "table_columns": list(table.columns),
    }
    atomic_write_text(results_root / f"{grid}.json", _summary_json(header, runs))
    echo(f"grid {grid}: {len(rows)} finished runs -> {results_root / (grid + '.csv')}")
    return table
