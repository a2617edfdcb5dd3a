"""The study's grids of runs, declared as data.

A grid is a list of methods (a loss with its parameters), a number of seeds,
and the settings its runs share (overrides of :class:`~sedlib.training.TrainConfig`).
Everything else comes from ``TrainConfig``'s defaults, and a sweep may
override shared settings (data set, epochs, model width...) on top.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import IntEnum
from typing import Any

from sedlib.errors import ConfigError
from sedlib.study.choices import chosen_value
from sedlib.training.config import TrainConfig, merge_settings, method_key, run_name


@dataclass(frozen=True)
class Method:
    """A loss with its parameters."""

    loss: str
    gamma: float = 1.0
    loss_options: dict = field(default_factory=dict, hash=False)

    @property
    def key(self) -> str:
        """``bce``, ``duration_robust-g4`` ... (see :func:`sedlib.study.summary.method_key`)."""

        return method_key(self.loss, self.gamma)


@dataclass(frozen=True)
class Grid:
    """A named set of runs: methods x seeds, with shared settings."""

    name: str
    description: str
    methods: tuple[Method, ...]
    seeds: int = 10
    settings: dict = field(default_factory=dict, hash=False)
    cause: Cause | None = None  # for the attribution study's arms: the cause the arm tests
    #: The stage of ``tools/attribution.sh`` that makes its result sets; empty: a plain sweep
    #: (the command line writes either command: ``sedlib.cli.how_to_make``).
    stage: str = ""
    fixed: tuple[str, ...] = ()  # settings that define the grid besides an arm's (see `defining`)

    @property
    def defining(self) -> dict[str, Any]:
        """The settings that make this grid what it is: a sweep's shared settings cannot change them.

        An arm of the attribution study is defined by all its settings (the
        choice it tests); another grid by those it names in ``fixed``.
        """
        names = self.settings if self.cause else self.fixed
        return {name: self.settings[name] for name in names}


@dataclass(frozen=True)
class RunSpec:
    """One run of a grid."""

    method: Method
    seed: int

    @property
    def name(self) -> str:
        return run_name(self.method.loss, self.method.gamma, self.seed)


PAPER_GAMMAS = (0.25, 0.5, 1.0, 2.0, 4.0)

#: The methods of the attribution study: BCE, inverse frequency, duration robust γ=4.
CAUSE_METHODS = (Method("bce"), Method("inverse_frequency"), Method("duration_robust", 4.0))


class Cause(IntEnum):
    """The causes the attribution study tests (chapter "Why the numbers differ from the paper")."""

    OPTIMIZER = 1
    OUTPUT_BIAS = 2
    CLASS_FRAMES = 3
    SELECTION = 4
    DIFFICULTY = 5
    CAPACITY = 6


@dataclass(frozen=True)
class Chosen:
    """A shared setting whose value a study stage chose: read from that stage's result sets
    (:func:`sedlib.study.choices.chosen_value`) when the grid is got (:func:`get_grid`)."""

    grid: str
    setting: str


def _arm(name: str, changes: str, settings: dict, cause: Cause | None) -> Grid:
    """A grid of the attribution study: its three methods and seeds, ``settings`` changed alone."""
    return Grid(name, f"attribution: {changes}", CAUSE_METHODS, 3, settings, cause, "screen")


#: The attribution study: one grid per arm, each a choice where the paper is silent,
#: changed alone against ``cause-baseline`` (today's defaults); ``tools/attribution.sh screen``
#: makes them.
CAUSE_GRIDS = (
    _arm("cause-baseline", "today's defaults (BCE, IF, DR γ=4)", {}, None),
    _arm(
        "cause-sgd",
        "SGD with momentum 0.9 at the learning rate the sgd-lr grid chose, instead of Adam",
        {"optimizer": "sgd", "lr": Chosen("sgd-lr", "lr")},
        Cause.OPTIMIZER,
    ),
    _arm(
        "cause-zero-bias",
        "output biases start at zero instead of the class priors",
        {"output_bias": "zero"},
        Cause.OUTPUT_BIAS,
    ),
    _arm(
        "cause-clip-frames",
        "E2's N_m counted per clip (the paper's text) instead of per data set",
        {"class_frames": "clip"},
        Cause.CLASS_FRAMES,
    ),
    _arm(
        "cause-last-epoch",
        "the last epoch of a fixed schedule instead of the best validation epoch",
        {"selection": "last", "patience_steps": 0},
        Cause.SELECTION,
    ),
    Grid(
        "calibration",
        "the audio's difficulty, calibrated on BCE alone (run on synthetic-tut-timeline-ebr<dB>)",
        (Method("bce"),),
        1,
        stage="calibrate",
    ),
    Grid(
        "sgd-lr",
        "SGD's learning rate, chosen once on BCE's validation macro F (run with --set lr=...)",
        (Method("bce"),),
        1,
        {"optimizer": "sgd"},
        fixed=("optimizer",),
        stage="screen",
    ),
)


GRIDS: dict[str, Grid] = {
    grid.name: grid
    for grid in (
        Grid(
            "paper",
            "the paper's Table 4: BCE, inverse frequency, duration robust γ=1 and γ=4",
            (
                Method("bce"),
                Method("inverse_frequency"),
                Method("duration_robust", 1.0),
                Method("duration_robust", 4.0),
            ),
            settings={"protocol": "folds"},
        ),
        Grid(
            "gamma",
            "the paper's Figs. 4 and 5: duration robust loss with γ = 2^-2 ... 2^2",
            tuple(Method("duration_robust", g) for g in PAPER_GAMMAS),
            settings={"protocol": "folds"},
        ),
        Grid(
            "baselines",
            "later imbalance losses with their published parameters: α-balanced focal "
            "(γ=2, α=0.25), class-balanced BCE (β=0.9999), asymmetric (γ+=0, γ-=4, clip 0.05)",
            (Method("focal", 2.0), Method("class_balanced"), Method("asymmetric")),
            settings={"protocol": "folds"},
        ),
        *CAUSE_GRIDS,
        Grid(
            "smoke",
            "a seconds-long check of the whole path (BCE and duration robust, one epoch, 8 channels)",
            (Method("bce"), Method("duration_robust", 1.0)),
            seeds=1,
            settings={
                "epochs": 1,
                "max_steps": 0,
                "warmup_steps": 0,
                "patience_steps": 0,
                "model": {"channels": 8},
                "batch_size": 16,
            },
        ),
    )
}


def get_grid(name: str) -> Grid:
    """The grid called ``name``, its chosen settings (:class:`Chosen`) read from their stage's results.

    Raises
    ------
    ConfigError
        For an unknown grid, or a chosen setting whose stage has no result yet.
    """
    if name not in GRIDS:
        raise ConfigError(f"unknown grid {name!r}; choose {', '.join(GRIDS)}")
    grid = GRIDS[name]
    settings = {
        k: chosen_value(v.grid, v.setting) if isinstance(v, Chosen) else v
        for k, v in grid.settings.items()
    }
    return replace(grid, settings=settings)


def grid_runs(name: str, seeds: int | None = None) -> list[RunSpec]:
    """The runs of a grid: every method with seeds 0 .. seeds-1 (default: the grid's)."""
    grid = get_grid(name)
    n = grid.seeds if seeds is None else seeds
    if n < 1:
        raise ConfigError(f"seeds must be at least 1, got {n}")
    return [RunSpec(method, seed) for method in grid.methods for seed in range(n)]


#: What a grid sets run by run: a sweep's shared settings cannot change them.
PER_RUN = ("loss", "gamma", "loss_options", "seed")


def run_config(grid: Grid, spec: RunSpec, overrides: dict[str, Any]) -> TrainConfig:
    """The configuration of one run: defaults, the grid's settings, the sweep's overrides, the method and seed.

    Raises
    ------
    ConfigError
        When ``overrides`` sets what the grid sets run by run (:data:`PER_RUN`).
    """
    check_overrides(grid, overrides)
    return _method_config(grid, spec.method, overrides, seed=spec.seed)


def _method_config(grid: Grid, method: Method, overrides: dict[str, Any], **more) -> TrainConfig:
    values = merge_settings(grid.settings, overrides)
    values.update(loss=method.loss, gamma=method.gamma, loss_options=dict(method.loss_options))
    return TrainConfig.from_parameters(**values, **more)


def check_overrides(grid: Grid, overrides: dict[str, Any]) -> None:
    """Refuse shared settings that the grid sets run by run, and settings no run could take.

    Every run of the grid is configured with ``overrides`` (its data set
    aside), so a bad value is refused naming it before any data is made or
    any run starts.

    Raises
    ------
    ConfigError
        Naming the setting.
    """
    clash = sorted(set(overrides) & set(PER_RUN))
    if clash:
        methods = ", ".join(m.key for m in grid.methods)
        raise ConfigError(
            f"grid {grid.name!r} sets {', '.join(clash)} run by run (methods {methods}, "
            "seeds 0..N-1 with --seeds N): a shared setting cannot change it; declare a grid "
            "in sedlib/study/grids.py, or train one run with `sedlib train`"
        )
    changed = {k: v for k, v in overrides.items() if k in grid.defining and v != grid.defining[k]}
    if changed:
        asked = ", ".join(f"{k}={v!r}" for k, v in changed.items())
        defined = ", ".join(f"{k}={v!r}" for k, v in grid.defining.items())
        raise ConfigError(
            f"grid {grid.name!r} is defined by {defined} ({grid.description}): the shared "
            f"setting {asked} would make it another grid; choose the grid that has it (e.g. "
            "cause-baseline for today's defaults), or declare one in sedlib/study/grids.py"
        )
    for method in grid.methods:
        _method_config(grid, method, overrides)
