"""The ``sedlib`` command line (also ``python -m sedlib``)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from sedlib import __version__

DESCRIPTION = """\
Sound event detection with a duration robust loss: the command line of the
executable study of Akiyama, Imoto et al. Run a subcommand with --help for
its options."""


def _cmd_info(args: argparse.Namespace) -> int:
    from sedlib import provenance, settings

    record = provenance.collect(include_device=not args.no_device)
    record["settings"] = {
        "data_root": str(settings.data_root()),
        "tut_meta": str(settings.tut_meta_dir()),
        "results": str(settings.results_dir()),
    }
    print(json.dumps(record, indent=2))
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    from sedlib.system_check import run_checks

    return run_checks(browser=args.browser)


def _cmd_data_tut(args: argparse.Namespace) -> int:
    from sedlib.data.tut import fetch_tut
    from sedlib.settings import data_root

    root = args.root if args.root is not None else data_root() / "tut"
    fetch_tut(root, args.meta_dir, keep_archives=args.keep_archives, dry_run=args.dry_run)
    return 0


def _cmd_data_synthetic(args: argparse.Namespace) -> int:
    import time

    from sedlib.data.synthetic import generate

    start = time.perf_counter()
    ds = generate(
        args.root, args.preset, args.seed, jobs=args.jobs, meta_dir=args.meta_dir, force=args.force
    )
    print(f"{ds.name}: {ds.audio_dir} ({time.perf_counter() - start:.1f} s)")
    return 0


def _cmd_data_stats(args: argparse.Namespace) -> int:
    from sedlib.data import class_stats
    from sedlib.data.registry import get_dataset

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
    import time

    from sedlib.data.cache import build_features
    from sedlib.data.registry import get_dataset

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
    from sedlib.settings import data_root
    from sedlib.train import TrainConfig, train

    config = TrainConfig(
        dataset=args.dataset,
        loss=args.loss,
        gamma=args.gamma,
        seed=args.seed,
        epochs=args.epochs,
        device=args.device,
        batch_size=args.batch_size,
        patience=args.patience,
        lr=args.lr,
        loss_options=_parse_options(args.loss_option),
    )
    run_dir = args.output_dir or data_root() / "runs" / "cli" / config.describe()
    result = train(config, run_dir)
    ev = result["evaluation"]
    print(
        f"{result['run']}: macro F {ev['macro_f']:.4f}, micro F {ev['micro_f']:.4f}, "
        f"micro ER {ev['micro_er']:.4f} -> {run_dir}/metrics.json"
    )
    return 0


def _parse_options(items: list[str]) -> dict[str, float]:
    options = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            if not sep or not name:
                raise ValueError
            options[name.strip()] = float(value)
        except ValueError:
            raise SystemExit(f"--loss-option must look like NAME=NUMBER, got {item!r}") from None
    return options


def _cmd_sweep(args: argparse.Namespace) -> int:
    from sedlib.sweep import aggregate, parse_shard, run_grid

    if args.aggregate_only:
        aggregate(args.grid)
        return 0
    run_grid(
        args.grid,
        dataset=args.dataset,
        device=args.device,
        epochs=args.epochs,
        seeds=args.seeds,
        jobs=args.jobs,
        shard=parse_shard(args.shard),
    )
    return 0


def _add_run_commands(sub) -> None:
    from pathlib import Path

    tr = sub.add_parser("train", help="train and evaluate one run (no notebook)")
    tr.add_argument("--dataset", default="synthetic-small")
    from sedlib.losses import LOSSES

    tr.add_argument("--loss", default="bce", choices=sorted(LOSSES))
    tr.add_argument("--gamma", type=float, default=1.0, help="γ of duration_robust and focal")
    tr.add_argument(
        "--loss-option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="more loss parameters, e.g. alpha=0.25, beta=0.999, gamma_neg=4, clip=0.05",
    )
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--epochs", type=int, default=60)
    tr.add_argument("--batch-size", type=int, default=16)
    tr.add_argument("--patience", type=int, default=20)
    tr.add_argument("--lr", type=float, default=1e-3)
    tr.add_argument("--device", default="auto")
    tr.add_argument(
        "--output-dir",
        type=Path,
        default=None,
        help="run folder (default: <data root>/runs/cli/<run>)",
    )
    tr.set_defaults(func=_cmd_train)

    sw = sub.add_parser("sweep", help="run a grid of training runs through the papermill notebook")
    from sedlib.sweep import GRIDS

    sw.add_argument("--grid", required=True, choices=GRIDS)
    sw.add_argument("--dataset", default="synthetic-small")
    sw.add_argument("--device", default="auto")
    sw.add_argument(
        "--epochs", type=int, default=None, help="epochs per run (default: the notebook's)"
    )
    sw.add_argument(
        "--seeds", type=int, default=None, help="seeds per configuration (default 10; smoke 1)"
    )
    sw.add_argument(
        "--jobs", type=int, default=1, help="runs at the same time (several fit on one GPU)"
    )
    sw.add_argument(
        "--shard", default=None, help="i/n: run every n-th run from the i-th (cluster array jobs)"
    )
    sw.add_argument(
        "--aggregate-only", action="store_true", help="only collect finished runs into data/results"
    )
    sw.set_defaults(func=_cmd_sweep)


def _add_data_commands(sub) -> None:
    from pathlib import Path

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
    tut.set_defaults(func=_cmd_data_tut)

    syn = data_sub.add_parser(
        "synthetic", help="generate the procedural default data set (offline)"
    )
    syn.add_argument("--preset", choices=["small", "paper", "tut-timeline"], default="small")
    syn.add_argument("--seed", type=int, default=0)
    syn.add_argument(
        "--root",
        type=Path,
        default=None,
        help="output folder (default: <data root>/synthetic/<preset>-seed<seed>)",
    )
    syn.add_argument("--jobs", type=int, default=None, help="worker processes (default: all cores)")
    syn.add_argument(
        "--meta-dir", type=Path, default=None, help="TUT metadata for --preset tut-timeline"
    )
    syn.add_argument("--force", action="store_true", help="regenerate even if it exists")
    syn.set_defaults(func=_cmd_data_synthetic)

    stats = data_sub.add_parser(
        "stats", help="per-class statistics (the paper's Table 1 and Fig. 2)"
    )
    stats.add_argument(
        "--dataset", default="synthetic-small", help="synthetic-small, tut, ... or a folder"
    )
    stats.add_argument(
        "--split",
        action="append",
        help="split name (repeatable; default development and evaluation)",
    )
    stats.add_argument("--tsv", action="store_true", help="tab-separated output")
    stats.set_defaults(func=_cmd_data_stats)

    feats = data_sub.add_parser(
        "features", help="compute (or check) the cached log-mel features and label rolls"
    )
    feats.add_argument("--dataset", default="synthetic-small")
    feats.add_argument(
        "--split",
        action="append",
        help="split name (repeatable; default development and evaluation)",
    )
    feats.add_argument(
        "--jobs", type=int, default=None, help="worker processes (default: all cores)"
    )
    feats.set_defaults(func=_cmd_data_features)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="sedlib", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"sedlib {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    info = sub.add_parser("info", help="print versions, device and data locations as JSON")
    info.add_argument(
        "--no-device", action="store_true", help="do not import torch to probe the device"
    )
    info.set_defaults(func=_cmd_info)

    check = sub.add_parser("check", help="check that the system has what the study needs")
    check.add_argument("--browser", action="store_true", help="also require a headless Chromium")
    check.set_defaults(func=_cmd_check)

    _add_data_commands(sub)
    _add_run_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``sedlib`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    return int(args.func(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
