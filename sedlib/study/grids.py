"""The study's grids of runs, declared as data.

A grid is a list of methods (a loss with its parameters), a number of seeds,
and the settings its runs share (overrides of :class:`~sedlib.training.TrainConfig`).
Everything else comes from ``TrainConfig``'s defaults, and a sweep may
override shared settings (data set, epochs, model width...) on top.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sedlib.errors import ConfigError
from sedlib.training.config import TrainConfig, merge_settings, run_name


@dataclass(frozen=True)
class Method:
    """A loss with its parameters."""

    loss: str
    gamma: float = 1.0
    loss_options: dict = field(default_factory=dict, hash=False)

    @property
    def key(self) -> str:
        """``bce``, ``duration_robust-g4`` ... (see :func:`sedlib.study.summary.method_key`)."""
        from sedlib.training.config import method_key

        return method_key(self.loss, self.gamma)


@dataclass(frozen=True)
class Grid:
    """A named set of runs: methods x seeds, with shared settings."""

    name: str
    description: str
    methods: tuple[Method, ...]
    seeds: int = 10
    settings: dict = field(default_factory=dict, hash=False)
    cause: str = ""  # for the attribution study's arms: the cause the arm tests
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

#: The learning rate of SGD (momentum 0.9), chosen once on BCE's validation macro F among
#: the runs of the ``sgd-lr`` grid (rung 1: 0.01 ... 10; see the chapter "Why the numbers differ").
SGD_LR = 3.0

#: The settings of the paper-like rung: those of the arms whose verdict is "explains" on rung 1
#: (chapter "Why the numbers differ"), combined; the rung runs the ``paper`` grid with them on
#: the data at the calibrated difficulty (:data:`CALIBRATED_EBR_DB`).
PAPER_LIKE = {"output_bias": "zero", "class_frames": "clip"}

#: The event-to-background offset (dB) at which BCE alone lands nearest the paper's BCE
#: (``calibration`` grid, 4 folds of the development set, offsets -20 and -30 dB): -30 dB,
#: macro F within its window, micro F not (the chapter "Why the numbers differ" says by how much).
CALIBRATED_EBR_DB: float | None = -30.0

#: The attribution study: one grid per arm, each a choice where the paper is silent,
#: changed alone against ``cause-baseline`` (today's defaults).
CAUSE_GRIDS = (
    Grid("cause-baseline", "attribution: today's defaults (BCE, IF, DR γ=4)", CAUSE_METHODS, 3),
    Grid(
        "cause-sgd",
        f"attribution: SGD with momentum 0.9 at lr {SGD_LR:g} instead of Adam",
        CAUSE_METHODS,
        3,
        {"optimizer": "sgd", "lr": SGD_LR},
        "1. optimizer",
    ),
    Grid(
        "cause-zero-bias",
        "attribution: output biases start at zero instead of the class priors",
        CAUSE_METHODS,
        3,
        {"output_bias": "zero"},
        "2. output-bias initialisation",
    ),
    Grid(
        "cause-clip-frames",
        "attribution: E2's N_m counted per clip (the paper's text) instead of per data set",
        CAUSE_METHODS,
        3,
        {"class_frames": "clip"},
        "3. E2's N_m",
    ),
    Grid(
        "cause-last-epoch",
        "attribution: the last epoch of a fixed schedule instead of the best validation epoch",
        CAUSE_METHODS,
        3,
        {"selection": "last", "patience_steps": 0},
        "4. model selection",
    ),
    Grid(
        "calibration",
        "the audio's difficulty, calibrated on BCE alone (run on synthetic-tut-timeline-ebr<dB>)",
        (Method("bce"),),
        1,
    ),
    Grid(
        "sgd-lr",
        "SGD's learning rate, chosen once on BCE's validation macro F (run with --set lr=...)",
        (Method("bce"),),
        1,
        {"optimizer": "sgd"},
        fixed=("optimizer",),
    ),
)


def paper_like_arms() -> list[str]:
    """The attribution grids whose settings :data:`PAPER_LIKE` combines (the arms that explain).

    >>> paper_like_arms()
    ['cause-zero-bias', 'cause-clip-frames']
    """
    return [
        g.name
        for g in CAUSE_GRIDS
        if g.cause and g.settings and all(PAPER_LIKE.get(k) == v for k, v in g.settings.items())
    ]


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
    """The grid called ``name``."""
    if name not in GRIDS:
        raise ConfigError(f"unknown grid {name!r}; choose {', '.join(GRIDS)}")
    return GRIDS[name]


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
    values = merge_settings(grid.settings, overrides)
    values.update(
        loss=spec.method.loss,
        gamma=spec.method.gamma,
        loss_options=dict(spec.method.loss_options),
        seed=spec.seed,
    )
    return TrainConfig.from_parameters(**values)


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
        raise ConfigError(
            f"grid {grid.name!r} sets {', '.join(clash)} run by run (methods {grid_methods(grid)}, "
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
        values = merge_settings(grid.settings, overrides)
        values.update(loss=method.loss, gamma=method.gamma, loss_options=dict(method.loss_options))
        TrainConfig.from_parameters(**values)


def grid_methods(grid: Grid) -> str:
    """The grid's method keys, comma-separated."""
    return ", ".join(m.key for m in grid.methods)
