"""The ``sedlib`` command line (also ``python -m sedlib``)."""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path

# sweep.run_grid, training.train and training_run.default_run_dir are called through their
# modules, where the tests replace them
from sedlib import __version__, provenance, settings, training
from sedlib.data import class_stats
from sedlib.data.cache import build_features
from sedlib.data.naming import check_ebr_offset
from sedlib.data.registry import canonical_name, get_dataset
from sedlib.data.tut import fetch_tut
from sedlib.errors import ConfigError, MissingFileError, SedlibError
from sedlib.settings import data_root, pin_paths
from sedlib.study import carry, sweep
from sedlib.study.grids import GRIDS, PER_RUN, check_overrides, get_grid
from sedlib.study.results import ResultSetConflict
from sedlib.study.slurm import SlurmSweep, slurm_parameters
from sedlib.system_check import run_checks
from sedlib.training import run as training_run
from sedlib.training.config import (
    PROFILES,
    TrainConfig,
    default_settings,
    merge_settings,
    option_settings,
    setting_choices,
    setting_help,
    setting_least,
)
from sedlib.training.preflight import RunPlan
from sedlib.util.io import read_config_file
from sedlib.util.kernel_wakeup import install as install_kernel_wakeup
from sedlib.util.process import die_with_parent

DESCRIPTION = """\
Sound event detection with a duration robust loss: the command line of the
executable study of Akiyama, Imoto et al. Run a subcommand with --help for
its options."""


def _cmd_info(args: argparse.Namespace) -> int:
    record = provenance.collect(include_device=not args.no_device)
    record["settings"] = {
        "data_root": str(settings.data_root()),
        "tut_meta": str(settings.tut_meta_dir()),
        "results": str(settings.results_dir()),
    }
    print(json.dumps(record, indent=2))
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    return run_checks(browser=args.browser)


def _cmd_data_tut(args: argparse.Namespace) -> int:
    root = args.root if args.root is not None else data_root() / "tut"
    ds = fetch_tut(
        root,
        args.meta_dir,
        keep_archives=args.keep_archives,
        dry_run=args.dry_run,
        meta_only=args.meta_only,
    )
    if args.dry_run:
        print(f"dry run: nothing was downloaded (metadata: {ds.meta_dir}; audio: {ds.audio_dir})")
        return 0
    print(f"TUT metadata: {ds.meta_dir}" + ("" if args.meta_only else f"; audio: {ds.audio_dir}"))
    return 0


def _cmd_data_synthetic(args: argparse.Namespace) -> int:
    # local: the generator imports scipy.signal, +1.5 s for every other command (measured)
    from sedlib.data.synthetic import generate

    start = time.perf_counter()
    ds = generate(
        args.root.absolute() if args.root else None,
        args.preset,
        args.seed,
        jobs=args.jobs,
        meta_dir=args.meta_dir.absolute() if args.meta_dir else None,
        force=args.force,
        ebr_offset_db=args.ebr_offset_db,
    )
    print(f"{ds.name}: {ds.audio_dir} ({time.perf_counter() - start:.1f} s)")
    return 0


def _cmd_data_stats(args: argparse.Namespace) -> int:
    ds = get_dataset(args.dataset, create=False)
    for split in args.split or ["development", "evaluation"]:
        meta = ds.meta(split)
        stats = class_stats(meta).sort_values("mean_duration")
        print(f"# {ds.name} / {split}: {len(meta)} events in {meta['filename'].nunique()} files")
        print(
            stats.to_csv(sep="\t", float_format="%.3f") if args.tsv else stats.round(3).to_string()
        )
    return 0


def _cmd_data_features(args: argparse.Namespace) -> int:
    ds = get_dataset(args.dataset)
    for split in args.split or ["development", "evaluation"]:
        start = time.perf_counter()
        feats = build_features(ds, split, jobs=args.jobs)
        print(
            f"{ds.name}/{split}: {len(feats.files)} files, {feats.features.shape[0]} frames "
            f"({time.perf_counter() - start:.1f} s)"
        )
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    die_with_parent()  # started by a sweep: end with it (no orphan trains on)

    values = read_config_file(args.config.absolute()) if args.config else {}
    values = merge_settings(values, _overrides(args, option_settings("train")))
    if "dataset" in values:
        values["dataset"] = canonical_name(values["dataset"])
    config = TrainConfig.from_parameters(profile=args.profile, **values)
    plan = RunPlan(config)  # resolved once: the run folder's name and the training share it
    run_dir = (
        args.output_dir.absolute() if args.output_dir else training_run.default_run_dir(plan, "cli")
    )
    record = training.train(plan, run_dir)
    ev = record.evaluation
    print(
        f"{record.run} ({record.protocol}): macro F {_fmt(ev['macro_f'])}, micro F {_fmt(ev['micro_f'])}, "
        f"micro ER {_fmt(ev['micro_er'])} -> {Path(run_dir) / 'metrics.json'}"
    )
    return 0


def _fmt(value) -> str:
    """A metric for the terminal: undefined values (None) are normal early in training."""
    return "undefined" if value is None else f"{value:.4f}"


def _overrides(args: argparse.Namespace, options: tuple[str, ...]) -> dict:
    """The settings of ``--set`` and of the named options; a setting given twice is refused."""
    values = _parse_settings(args.set, "--set")
    for name in options:
        value = getattr(args, name)
        if value is None:
            continue
        if name in values:
            raise ConfigError(
                f"--{_option(name)} {value} and --set {name}={json.dumps(values[name])} "
                "set the same setting: give it once"
            )
        values[name] = value
    return values


def _parse_settings(items: list[str], option: str) -> dict:
    """``KEY=VALUE`` pairs, VALUE read as JSON (a bare word is a string); ``a.b=v`` nests.

    A setting given twice, or set to null, is refused naming it.
    """
    out: dict = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key or "" in key.split("."):
            raise ConfigError(f"{option} must look like KEY=VALUE or KEY.SUB=VALUE, got {item!r}")
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text
        if value is None:
            raise ConfigError(f"{option} {item}: a setting needs a value (null keeps nothing)")
        *parents, leaf = key.split(".")
        node = out
        for depth, parent in enumerate(parents):
            node = node.setdefault(parent, {})
            if not isinstance(node, dict):
                raise ConfigError(
                    f"{option} {item}: {'.'.join(parents[: depth + 1])} is not a group"
                )
        if leaf in node:
            raise ConfigError(f"{option} {key} is given twice")
        node[leaf] = value
    return out


def _cmd_sweep(args: argparse.Namespace) -> int:
    if args.executor is None:  # the notebook's path asks for papermill; else the faster engine
        args.executor = "papermill" if args.notebook is not None else "batched"
    _check_executor_options(args)
    overrides = _overrides(args, option_settings("sweep"))
    if "dataset" in overrides:
        raise ConfigError("--set dataset=...: give the data set with --dataset")
    check_overrides(get_grid(args.grid), overrides)  # before any data is made or run started
    args.dataset = canonical_name(args.dataset)
    command = shlex.join(["sedlib", *set_command(args.argv)]) if args.record_command else None
    notebook = args.notebook
    if args.executor == "papermill" and not args.aggregate_only:
        notebook = training_notebook(notebook)
    caller = sweep_caller(notebook)
    try:
        if args.aggregate_only:
            result, planned = _aggregate_only(args, overrides, caller)
        else:
            result, planned = _sweep(args, overrides, command, caller), None
    except ResultSetConflict as err:
        raise SystemExit(f"sedlib sweep: {err}") from None
    except sweep.SweepError as err:
        raise SystemExit(f"sedlib sweep: {err}") from None
    if result is None:
        what = f"none of the {planned} planned runs" if planned else "no run"
        print(f"grid {args.grid}: {what} has finished; no results were written", file=sys.stderr)
        return 1 if args.aggregate_only else 0
    print(
        f"grid {args.grid}: {result.header['runs']} of {result.header['planned']} planned runs "
        f"finished -> {result.path}"
    )
    return 0


#: Sweep options that choose what one process trains, not what the runs are.
PROCESS_OPTIONS = ("--shard", "--runs", "--extend-budget")


def set_command(argv: Sequence[str]) -> list[str]:
    """``argv`` of a sweep without :data:`PROCESS_OPTIONS`: the command that makes the whole set.

    >>> set_command(["sweep", "--grid", "paper", "--shard", "0/2", "--runs=bce-*", "--extend-budget"])
    ['sweep', '--grid', 'paper']
    """
    kept, skip = [], False
    for word in argv:
        if skip:
            skip = False
        elif word in PROCESS_OPTIONS:
            skip = word != "--extend-budget"  # the others take a value
        elif not word.startswith(tuple(f"{option}=" for option in PROCESS_OPTIONS)):
            kept.append(word)
    return kept


def _check_executor_options(args: argparse.Namespace) -> None:
    """Refuse an option the chosen executor would ignore, naming it (nothing is dropped)."""
    if args.jobs is not None and args.executor == "batched":
        raise ConfigError(
            f"--jobs {args.jobs} runs trainings side by side as processes (--executor papermill "
            "or python); --executor batched (the default without --notebook) trains every run at "
            "once in this process, as "
            "stacked models: leave --jobs out (SEDLIB_BATCHED_MEMBERS caps a group)"
        )
    if args.extend_budget and args.aggregate_only:
        raise ConfigError(
            "--extend-budget continues runs before training them; --aggregate-only trains "
            "nothing: leave one out"
        )
    if args.notebook is not None and args.executor != "papermill":
        raise ConfigError(
            f"--notebook is the training notebook of --executor papermill; --executor "
            f"{args.executor} executes no notebook: leave --notebook out"
        )


def _sweep(args: argparse.Namespace, overrides: dict, command: str | None, caller):
    try:
        shard = parse_shard(args.shard)
    except ValueError as err:
        raise SystemExit(str(err)) from None
    executor = _slurm_executor(args)
    return sweep.run_grid(
        args.grid,
        dataset=args.dataset,
        seeds=args.seeds,
        overrides=overrides,
        jobs=args.jobs or 1,
        shard=shard,
        command=command,
        executor=executor,
        force=args.force,
        caller=caller,
        extend_budget=args.extend_budget,
        only=run_patterns(args.runs),
    )


def run_patterns(given: list[str] | None) -> list[str]:
    """The patterns of ``--runs`` (repeated or comma-separated); an empty one is refused."""
    patterns = [p.strip() for text in given or () for p in text.split(",")]
    if any(not p for p in patterns):
        raise ConfigError(
            f"--runs {','.join(given)}: an empty pattern (give a run name or pattern)"
        )
    return patterns


def _aggregate_only(args: argparse.Namespace, overrides: dict, caller):
    """The result set of the finished runs (the command that made them is kept); and the runs planned."""

    if args.shard or args.runs:
        option = "--shard" if args.shard else "--runs"
        raise SystemExit(
            f"{option} cannot be used with --aggregate-only: aggregating collects the finished "
            "runs of the whole grid (run it once, after the shards)"
        )
    dataset = get_dataset(args.dataset, create=False)
    planned = sweep.plan_grid(
        args.grid,
        dataset=dataset,
        seeds=args.seeds,
        overrides={**overrides, "dataset": canonical_name(args.dataset)},
    )
    if not args.force:  # a fresh checkout: the committed runs join the new ones
        sweep.restore_stored(planned)  # (--force: only this runs folder's, to drop a run)
    result = sweep.aggregate_grid(
        args.grid, planned, dataset, force=args.force, sweep_command=caller.sweep_command
    )
    return result, len(planned)


def how_to_make(*grids: str) -> list[str]:
    """The commands a reader runs to make the result sets of ``grids`` (for the book's messages).

    A grid made by a stage of ``tools/attribution.sh`` names it
    (:attr:`~sedlib.study.grids.Grid.stage`; ``paper-like``: the ``confirm``
    stage); the others are swept on the small synthetic data set with 3 seeds
    (:data:`CHECKOUT_NOTEBOOK`: the commands run from the checkout's root).

    Examples
    --------
    >>> how_to_make("paper", "calibration")  # doctest: +NORMALIZE_WHITESPACE
    ['sedlib sweep --grid paper --dataset synthetic-small --seeds 3 --notebook book/03_training.ipynb',
     'bash tools/attribution.sh calibrate']
    """

    stages = {name: grid.stage for name, grid in GRIDS.items()} | {"paper-like": "confirm"}
    return [
        f"bash tools/attribution.sh {stages[g]}"
        if stages.get(g)
        else f"sedlib sweep --grid {g} --dataset synthetic-small --seeds 3 --notebook {CHECKOUT_NOTEBOOK}"
        for g in grids
    ]


#: The training notebook in a checkout of the repository, as the commands sedlib prints name it.
CHECKOUT_NOTEBOOK = "book/03_training.ipynb"


def training_notebook(notebook: Path | None) -> Path:
    """The notebook a papermill sweep executes: ``--notebook``, which that executor requires.

    Raises
    ------
    ConfigError
        When none was given, naming ``--notebook`` and the other executors.
    MissingFileError
        When it does not exist.
    """
    if notebook is None:
        raise ConfigError(
            "--executor papermill executes the training notebook: give it with "
            f"--notebook PATH (in a checkout: --notebook {CHECKOUT_NOTEBOOK}), or use "
            "--executor python or batched"
        )
    path = Path(notebook).absolute()
    if not path.is_file():
        raise MissingFileError(
            f"--notebook {notebook}: {path} does not exist; give the training notebook "
            f"(in a checkout: {CHECKOUT_NOTEBOOK}), or use --executor python or batched"
        )
    return path


def sweep_caller(notebook: Path | None = None):
    """What a sweep needs of the command line (:class:`sedlib.study.sweep.SweepCaller`).

    ``notebook`` is the training notebook of the papermill executor (see
    :func:`training_notebook`), executed after :func:`sedlib.util.kernel_wakeup.install`
    (a missed socket wake-up would hang papermill, which waits without a timeout); the python
    executor runs :func:`train_command`; the results record :func:`sweep_command`.
    """

    return sweep.SweepCaller(
        notebook=notebook,
        train_command=train_command,
        sweep_command=sweep_command,
        before_notebooks=install_kernel_wakeup,
    )


def train_command(config_file: Path, run_dir: Path) -> list[str]:
    """The argv of ``sedlib train`` for one run: its configuration file and its folder."""
    return [
        sys.executable, "-m", "sedlib", "train",
        "--config", str(config_file), "--output-dir", str(run_dir),
    ]  # fmt: skip


def sweep_command(grid: str, seeds: int, config) -> str:
    """The ``sedlib sweep`` command whose runs share ``config``'s settings (all but method and seed)."""
    from dataclasses import asdict

    parts = [f"sedlib sweep --grid {grid}", f"--seeds {seeds}", f"--dataset {config.dataset}"]
    defaults = asdict(TrainConfig.from_parameters(**get_grid(grid).settings))
    for key, value in asdict(config).items():
        if key == "dataset" or key in PER_RUN:  # given apart, or set run by run
            continue
        if value != defaults[key]:
            parts.append(_set_option(key, value, defaults[key]))
    parts.append(f"--notebook {CHECKOUT_NOTEBOOK}")  # the papermill executor's, in a checkout
    return " ".join(parts)


def _set_option(key: str, value, default) -> str:
    """One shared setting of :func:`sweep_command`: its own option, or ``--set``."""
    if key == "model":
        return " ".join(
            f"--set model.{k}={json.dumps(v)}" for k, v in value.items() if default.get(k) != v
        )

    if key in option_settings("sweep"):
        return f"--{_option(key)} {value}"
    return f"--set {key}={json.dumps(value)}"


def parse_shard(text: str | None) -> tuple[int, int]:
    """``"i/n"`` (``--shard``) -> (i, n) with 0 <= i < n; none: (0, 1)."""
    if not text:
        return 0, 1
    try:
        i, n = (int(v) for v in text.split("/"))
    except ValueError:
        raise ConfigError(f"--shard must look like i/n (e.g. 0/4), got {text!r}") from None
    if not 0 <= i < n:
        raise ConfigError(f"--shard {text!r}: need 0 <= i < n")
    return i, n


def _add_train_command(sub) -> None:
    tr = sub.add_parser(
        "train",
        help="train and evaluate one run (no notebook)",
        description="Train and evaluate one run. Unset options take the defaults of "
        "sedlib.training.TrainConfig, the study's one source of defaults (shown in brackets).",
    )
    tr.add_argument("--profile", default=None, choices=sorted(PROFILES), help="named overrides")
    tr.add_argument(
        "--config",
        type=Path,
        default=None,
        help="a JSON file of TrainConfig fields (options override it)",
    )
    _add_setting_options(tr, "train")
    tr.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="any TrainConfig setting, VALUE as JSON, merged key by key over --config: "
        "e.g. model.channels=32, loss_options.alpha=0.5, optimizer=sgd",
    )
    for gone in ("--model", "--loss-option"):
        tr.add_argument(gone, action=_Replaced, help=argparse.SUPPRESS)
    tr.add_argument(
        "--output-dir",
        type=Path,
        default=None,
        help="run folder (default: <data root>/runs/cli/<run>-<identity>)",
    )
    tr.set_defaults(func=_cmd_train)


def _option(name: str) -> str:
    """The option of a TrainConfig setting, without its dashes: ``batch_size`` -> ``batch-size``."""
    return name.replace("_", "-")


def _add_setting_options(parser, command: str, default_note: str = "") -> None:
    """An option for each TrainConfig setting that ``command`` takes (its field's metadata says which).

    Type, choices and help come from the field; the help ends with the default,
    in brackets, or with ``default_note``.
    """
    from dataclasses import fields

    kinds = {f.name: f.type for f in fields(TrainConfig)}
    defaults = default_settings()
    for name in option_settings(command):
        least, kind = setting_least(name), kinds[name]
        parse = _count(least) if least is not None else float if kind == "float" else None
        parser.add_argument(
            f"--{_option(name)}",
            type=parse,
            choices=setting_choices(name),
            default=None,
            help=f"{setting_help(name)} {default_note or f'[{defaults[name]}]'}",
        )


def _add_sweep_command(sub) -> None:
    defaults = default_settings()

    sw = sub.add_parser(
        "sweep",
        help="run a grid of training runs through the papermill notebook",
        description="Run a grid ("
        + "; ".join(f"{g.name}: {g.description}" for g in GRIDS.values())
        + ").",
    )
    sw.add_argument("--grid", required=True, choices=list(GRIDS))
    sw.add_argument("--dataset", default=defaults["dataset"], help=f"[{defaults['dataset']}]")
    _add_setting_options(sw, "sweep", "(default: the grid's, else TrainConfig's)")
    sw.add_argument(
        "--seeds", type=_count(1), default=None, help="seeds per method (default: the grid's)"
    )
    sw.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="any other shared TrainConfig setting, VALUE as JSON, e.g. patience=0, model.channels=32",
    )
    _add_sweep_execution_options(sw)
    sw.set_defaults(func=_cmd_sweep)


def _add_sweep_execution_options(sw) -> None:
    """How a sweep runs (executor, jobs, shard) and what it writes (aggregation, results)."""
    sw.add_argument(
        "--executor",
        choices=("papermill", "python", "batched", "slurm"),
        default=None,
        help="batched: every run at once in this process as stacked models "
        "(sedlib.training.batched; the default without --notebook: on one CPU thread a group of "
        "4 trains 1.3x the clips of one run, and on 2 cores two such sweeps, --shard 0/2 and "
        "1/2, train 1.6x what one sweep on 2 threads does); papermill: each run executes the "
        "training notebook (--notebook; the default with it); python: `sedlib train` in its own "
        "process (no Jupyter needed); "
        "slurm: each run a task of a SLURM job array, through submitit (sedlib.study.slurm)",
    )
    _add_slurm_options(sw)
    sw.add_argument(
        "--notebook",
        type=Path,
        default=None,
        help="the training notebook, required by --executor papermill "
        f"(in a checkout: {CHECKOUT_NOTEBOOK})",
    )
    sw.add_argument(
        "--jobs",
        type=_count(1),
        default=None,
        help="runs at the same time, as processes (several fit on one GPU) [1]",
    )
    sw.add_argument(
        "--shard", default=None, help="i/n: run every n-th run from the i-th (cluster array jobs)"
    )
    sw.add_argument(
        "--runs",
        action="append",
        metavar="PATTERN[,PATTERN...]",
        help="run only the runs whose name matches a shell pattern, e.g. 'duration_robust-g1-*' "
        "(repeatable; sharded after the choice; the results still collect the whole grid)",
    )
    sw.add_argument(
        "--aggregate-only",
        action="store_true",
        help="only collect the finished runs into results (the result keeps the command that "
        "made them)",
    )
    sw.add_argument(
        "--force",
        action="store_true",
        help="replace a result set holding runs this one lacks (--aggregate-only: none restored)",
    )
    sw.add_argument(
        "--extend-budget",
        action="store_true",
        help="continue each run from the same run under a smaller max_steps or patience_steps "
        "in the grid's folder, from where it stopped (sedlib.study.extension)",
    )
    sw.add_argument(
        "--no-record-command",
        dest="record_command",
        action="store_false",
        help="write the canonical command into the results instead of this one",
    )


def _add_slurm_options(sw) -> None:
    """The options of ``--executor slurm``."""
    sw.add_argument(
        "--slurm",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="with --executor slurm: a setting of submitit's SlurmExecutor, VALUE as JSON, e.g. "
        "partition=gpu, gpus_per_node=1, timeout_min=120, array_parallelism=16",
    )
    sw.add_argument(
        "--members",
        type=_count(1),
        default=None,
        help="with --executor slurm: each task trains up to this many runs as one batched group",
    )
    sw.add_argument(
        "--no-wait",
        action="store_true",
        help="with --executor slurm: return once submitted, printing the job id (collect the "
        "results later with --aggregate-only)",
    )


def _slurm_executor(args: argparse.Namespace):
    """The executor of ``--executor``: its name, or the SLURM one; SLURM options refused elsewhere."""
    if args.executor != "slurm":
        given = [o for o, v in (("--slurm", args.slurm), ("--members", args.members),
                                ("--no-wait", args.no_wait)) if v]  # fmt: skip
        if given:
            raise ConfigError(f"{', '.join(given)}: only with --executor slurm")
        return args.executor

    if args.jobs is not None:
        raise ConfigError(
            "--jobs: a SLURM sweep submits every run at once; limit the tasks running at "
            "the same time with --slurm array_parallelism=N"
        )
    try:
        parameters = slurm_parameters(_parse_settings(args.slurm, "--slurm"))
    except ConfigError as err:
        raise ConfigError(f"--slurm: {err}") from None
    return SlurmSweep(parameters, members=args.members, wait=not args.no_wait)


def _add_data_commands(sub) -> None:
    data = sub.add_parser("data", help="get, generate and describe data sets")
    data_sub = data.add_subparsers(dest="data_command", metavar="DATA_COMMAND", required=True)

    tut = data_sub.add_parser(
        "tut", help="download the paper's TUT data (metadata + Zenodo audio), verified"
    )
    tut.add_argument(
        "--root", type=Path, default=None, help="where the audio goes (default: <data root>/tut)"
    )
    tut.add_argument(
        "--meta-dir", type=Path, default=None, help="an existing copy of the TUT metadata"
    )
    tut.add_argument(
        "--keep-archives", action="store_true", help="keep the zip archives after extraction"
    )
    tut.add_argument(
        "--dry-run", action="store_true", help="print what would be downloaded and stop"
    )
    tut.add_argument(
        "--meta-only",
        action="store_true",
        help="only the event metadata (kilobytes): statistics and synthetic-tut-timeline need no more",
    )
    tut.set_defaults(func=_cmd_data_tut)
    _add_synthetic_command(data_sub)
    _add_describe_commands(data_sub)


def _add_synthetic_command(data_sub) -> None:
    syn = data_sub.add_parser(
        "synthetic", help="generate the procedural default data set (offline)"
    )
    syn.add_argument("--preset", choices=["small", "paper", "tut-timeline"], default="small")
    syn.add_argument("--seed", type=_count(0), default=0)
    syn.add_argument(
        "--ebr-offset-db",
        type=_ebr_offset,
        default=0.0,
        help="difficulty: every event this many dB quieter (negative) or louder against "
        "its background [0]",
    )
    syn.add_argument(
        "--root",
        type=Path,
        default=None,
        help="output folder (default: <data root>/synthetic/<preset>-seed<seed>)",
    )
    syn.add_argument(
        "--jobs", type=_count(1), default=None, help="worker processes (default: all cores)"
    )
    syn.add_argument(
        "--meta-dir", type=Path, default=None, help="TUT metadata for --preset tut-timeline"
    )
    syn.add_argument("--force", action="store_true", help="regenerate even if it exists")
    syn.set_defaults(func=_cmd_data_synthetic)


def _add_describe_commands(data_sub) -> None:
    stats = data_sub.add_parser(
        "stats", help="per-class statistics (the paper's Table 1 and Fig. 2)"
    )
    feats = data_sub.add_parser(
        "features", help="compute (or check) the cached log-mel features and label rolls"
    )
    for parser in (stats, feats):
        parser.add_argument(
            "--dataset", default="synthetic-small", help="synthetic-small, tut, ... or a folder"
        )
        parser.add_argument(
            "--split",
            action="append",
            help="split name (repeatable; default development and evaluation)",
        )
    stats.add_argument("--tsv", action="store_true", help="tab-separated output")
    stats.set_defaults(func=_cmd_data_stats)
    feats.add_argument(
        "--jobs", type=_count(1), default=None, help="worker processes (default: all cores)"
    )
    feats.set_defaults(func=_cmd_data_features)


def _count(least: int):
    """An argparse type: an integer >= ``least``, refused naming the option otherwise."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"must be at least {least}, got {value}")
        return value

    parse.__name__ = f"integer >= {least}"
    return parse


def _ebr_offset(text: str) -> float:
    """An argparse type: an offset in dB that a data set name can carry (see ``check_ebr_offset``)."""

    try:
        return check_ebr_offset(text, "the offset")
    except ConfigError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


class _Replaced(argparse.Action):
    """An option of earlier versions: refused with the spelling that replaced it."""

    def __call__(self, parser, namespace, values, option_string=None):
        field = "model" if option_string == "--model" else "loss_options"
        parser.error(f"{option_string} NAME=VALUE is now --set {field}.NAME=VALUE")


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line, like every other error of sedlib."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (`{self.prog} --help` lists the options)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = _Parser(
        prog="sedlib", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"sedlib {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show the traceback of an error, not one line"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    info = sub.add_parser("info", help="print versions, device and data locations as JSON")
    info.add_argument("--no-device", action="store_true", help="do not probe the device (CUDA)")
    info.set_defaults(func=_cmd_info)

    check = sub.add_parser("check", help="check that the system has what the study needs")
    check.add_argument("--browser", action="store_true", help="also require a headless Chromium")
    check.set_defaults(func=_cmd_check)

    _add_data_commands(sub)
    _add_train_command(sub)
    _add_sweep_command(sub)
    _add_carry_command(sub)
    return parser


def _add_carry_command(sub) -> None:
    cr = sub.add_parser(
        "carry",
        help="pack a grid's trainings in progress into one file, or unpack them on another machine",
        description="Pack the state of a grid's trainings in progress (<runs>/<grid>/.work: "
        "group checkpoints, kept models, claims) into one .tar.gz with a manifest of SHA-256 "
        "sums, or unpack such a file so that `sedlib sweep` resumes them on this machine. "
        "Packing refuses while a training of the grid runs (stop it with Ctrl-C first) and "
        "writes nothing when no run is in progress (exit 0; an archive there whose trainings "
        "have all finished here is removed). It never replaces or removes an archive holding "
        "trainings that are neither in progress nor finished here. Unpacking checks every "
        "file first and never overwrites other state.",
    )
    cr.add_argument("action", choices=["pack", "unpack"])
    cr.add_argument("archive", type=Path, help="the .tar.gz to write (pack) or read (unpack)")
    cr.add_argument("--grid", help="the grid whose trainings to pack (pack only)")
    cr.add_argument(
        "--runs-root", type=Path, default=None, help="the runs folder [<data root>/runs]"
    )
    cr.set_defaults(func=_cmd_carry)


def _cmd_carry(args: argparse.Namespace) -> int:
    runs_root = args.runs_root or data_root() / "runs"
    if args.action == "pack":
        if not args.grid:
            raise ConfigError("sedlib carry pack: give the grid with --grid")
        try:
            done = carry.pack(runs_root / args.grid, args.archive)
        except carry.NothingInProgress as err:  # not an error: every run finished, or none began
            removed = carry.retire(args.archive, runs_root / args.grid)
            print(f"grid {args.grid}: {err}" + (f"; {args.archive} removed" if removed else ""))
            return 0
        verb = "packed"
    else:
        if args.grid:
            raise ConfigError("sedlib carry unpack: the archive names its grid; drop --grid")
        done = carry.unpack(args.archive, runs_root)
        verb = "unpacked"
    steps = [s for g in done.groups.values() for s in g.get("steps", [])]
    print(
        f"{verb} grid {done.grid}: {len(done.runs)} runs, {len(done.groups)} groups "
        f"(members at steps {min(steps, default=0)}-{max(steps, default=0)}), {done.files} files, "
        f"{done.bytes / 2**20:.1f} MiB -> {args.archive if verb == 'packed' else runs_root}"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``sedlib`` console script."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.argv = argv

    pin_paths()  # relative folders mean the user's folder, also to child processes
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("sedlib").setLevel(logging.INFO)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args))
    except _EXPECTED as err:
        if args.debug:
            raise
        message = str(err) or type(err).__name__
        print(
            f"sedlib {args.command}: error: {message} (`sedlib --debug {args.command} ...` shows "
            "the traceback)",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        if args.debug:
            raise
        print(
            f"sedlib {args.command}: interrupted; {_RESUMES.get(args.command, _AGAIN)}",
            file=sys.stderr,
        )
        return 130


#: What running an interrupted command again does, by command.
_AGAIN = "run the same command again"
_RESUMES = {
    "sweep": "finished runs are kept, and the same command resumes the others from their last "
    "finished epoch",
    "train": "the same command resumes the run from its last finished epoch",
}


#: Errors of configuration, data and files: one message, no traceback (``--debug`` shows it).
#: sedlib raises :class:`~sedlib.errors.SedlibError`; the built-ins are those of the libraries
#: below it (a full disk, a file a library cannot read).
_EXPECTED = (SedlibError, ValueError, OSError, RuntimeError, KeyError)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
