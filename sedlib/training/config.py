"""The configuration of a training run: the study's only source of defaults, and a run's identity.

What the paper fixes is taken from it; what it leaves open is chosen here
once, and every entry point (the ``sedlib train`` command, the training
notebook, the sweeps) starts from these values. Each setting's meaning and
choices are stated once, as metadata of its field (:func:`setting_help`,
:func:`setting_choices`; the command line's options are made from them);
the reason of each choice is stated once, as data (:data:`TRAINING_CHOICES`,
rendered by :func:`sedlib.report.tables.training_choices`).
"""

from __future__ import annotations

import hashlib
import inspect
import json
import math
import re
from dataclasses import Field, dataclass, field, fields
from typing import Any

import torch

from sedlib.errors import ConfigError
from sedlib.losses import GAMMA_LOSSES, LOSSES, canonical_loss_name
from sedlib.model import CRNN

#: Evaluation protocols: ``folds`` (the paper's: 4-fold cross-validation on the
#: development set, scored over the pooled test folds) and ``dev-eval``
#: (train on the development set, test on the evaluation set).
PROTOCOLS = (FOLDS, DEV_EVAL) = ("folds", "dev-eval")

#: Bumped when the meaning of the identity changes. 2: the data set is known by its
#: content (fingerprint and audio), not by the name or path it was given; the
#: optimizer, output bias and model selection are settings.
IDENTITY_VERSION = 2

#: Choices of the settings that take a name.
OPTIMIZERS = ("adam", "sgd")
OUTPUT_BIASES = ("prior", "zero")
SELECTIONS = ("best", "last")

#: Named sets of overrides, declared once. ``book``: the short run the training
#: chapter trains at every book build.
PROFILES: dict[str, dict[str, Any]] = {
    "book": {
        "loss": "duration_robust",
        "protocol": DEV_EVAL,
        "max_steps": 75,
        "warmup_steps": 25,
        "patience_steps": 0,
    },
}

#: The training budget and the convergence criterion, in optimizer steps (batches), so that
#: a small data set trains as much as a large one. A training ends when its best validation
#: score is ``patience_steps`` old (it has *converged*: :mod:`sedlib.training.convergence`),
#: or with the epoch that reaches ``max_steps`` (it has not); no model validated before
#: ``warmup_steps`` is kept, so a model that has not begun to train is never a result.
#: The numbers come from the calibrated rung (synthetic-tut-timeline at -30 dB, dev-eval,
#: 32 channels, 52 steps an epoch; ``benchmarks/RESULTS.md``, "Steps to converge" and
#: "Patience"): zero output biases leave the first ~300 steps with an "everything active"
#: or "nothing active" model; the 10-seed runs kept models from step 1,144 to 7,696, their
#: validation macro F pausing up to 832 steps between two better scores, so a patience of
#: 800 steps stopped runs by chance (the step of the kept model predicted the test score,
#: r = +0.85 to +0.87 within each method; 5 of 20 runs had their lowest validation loss in
#: their last two validations); a plateau is 2,000 steps without a better score, and the
#: budget leaves room for it after a late best.
DEFAULT_MAX_STEPS = 15000
DEFAULT_WARMUP_STEPS = 300
DEFAULT_PATIENCE_STEPS = 2000

#: The settings that state the training budget in steps; all 0 is the budget of sedlib
#: 0.3 and earlier (epochs and patience in epochs), whose runs keep their identity.
STEP_SETTINGS = ("max_steps", "warmup_steps", "patience_steps")

_DEVICE = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


def _setting(
    default: Any,
    help: str,
    *,
    choices: tuple | None = None,
    least: int | None = None,
    zero: str | None = None,
    options: tuple[str, ...] = (),
) -> Any:
    """A :class:`TrainConfig` field with its metadata: the one statement of its meaning.

    ``default`` is the setting's default (a dict is copied for each
    configuration), ``help`` says what the setting means, ``choices`` lists
    the values it takes, ``least`` is an integer setting's minimum,
    ``zero`` what its value 0 means (said when a value is refused),
    ``options`` names the commands (``train``, ``sweep``) that take it as an
    option of its own; the command line makes its options from these
    (:func:`setting_help`, :func:`option_settings`).
    """
    about = {"help": help, "choices": choices, "least": least, "zero": zero, "options": options}
    if isinstance(default, dict):
        return field(default_factory=default.copy, metadata=about)
    return field(default=default, metadata=about)


_LOSS_HELP = (
    "bce, inverse_frequency, duration_robust, focal, class_balanced or asymmetric "
    "(see sedlib.losses.get_loss); an alias (E1, E2, E3) becomes its canonical name"
)


@dataclass
class TrainConfig:
    """Everything that defines a training run; checked when it is made.

    Each field states its meaning once, as metadata (:func:`_setting`, :func:`setting_help`,
    :func:`setting_choices`); the command line's options and help are made
    from it, and the reasons of the defaults are :data:`TRAINING_CHOICES`.

    Attributes
    ----------
    dataset, protocol, loss, gamma, C, class_frames, loss_options : str, str, str, float, float, str, dict
        The data and the loss (see :func:`setting_help`).
    seed, optimizer, batch_size, lr, momentum, weight_decay : int, str, int, float, float, float
        The optimisation.
    epochs, max_steps, warmup_steps, patience_steps, patience : int, int, int, int, int
        The budget, the warm-up of model selection and early stopping (see
        :data:`DEFAULT_MAX_STEPS`).
    output_bias, selection, val_fraction : str, str, float
        Initialisation, model selection and validation hold-out.
    threshold, time_resolution : float, float
        The metrics.
    device, amp, model : str, bool, dict
        Where and how the model runs, and the arguments of :class:`sedlib.model.CRNN`.

    Raises
    ------
    ConfigError
        (a ``ValueError``) when a value is out of range; the message names the parameter.
    """

    dataset: str = _setting(
        "synthetic-small",
        "data set name or folder (see sedlib.data.registry.get_dataset)",
        options=("train",),
    )
    protocol: str = _setting(
        FOLDS,
        "folds: 4-fold cross-validation on the development set, scored over the pooled test "
        "folds (the paper's); dev-eval: train on development, test on evaluation",
        choices=PROTOCOLS,
        options=("train", "sweep"),
    )
    loss: str = _setting("bce", _LOSS_HELP, options=("train",))
    gamma: float = _setting(
        1.0,
        "γ of the duration robust and the focal loss (ignored by the others)",
        options=("train",),
    )
    C: float = _setting(500.0, "constant of the inverse frequency weights")
    class_frames: str = _setting(
        "dataset", "how the inverse frequency loss counts N_m", choices=("dataset", "clip")
    )
    loss_options: dict = _setting(  # noqa: RUF009 (a Field: a new dict per configuration)
        {},
        "more keyword parameters of the loss (alpha of focal, beta of class balanced, "
        "gamma_neg / gamma_pos / clip of asymmetric); empty: the published defaults",
    )
    seed: int = _setting(
        0, "seed of the initialisation, dropout and batch order", least=0, options=("train",)
    )
    epochs: int = _setting(
        0,
        "maximum number of epochs per training (0: no cap; the step budget decides)",
        least=0,
        zero="no cap",
        options=("train", "sweep"),
    )
    max_steps: int = _setting(
        DEFAULT_MAX_STEPS,
        "training budget: optimizer steps per training, whatever the data's size "
        "(a training ends with the epoch that reaches it; 0: the epochs alone)",
        least=0,
        zero="the epochs alone",
        options=("train", "sweep"),
    )
    warmup_steps: int = _setting(
        DEFAULT_WARMUP_STEPS,
        "optimizer steps before model selection and early stopping start: the model of an "
        "earlier validation is never kept",
        least=0,
        options=("train", "sweep"),
    )
    patience_steps: int = _setting(
        DEFAULT_PATIENCE_STEPS,
        "early stopping and the convergence criterion: optimizer steps without a better "
        "validation score (0: never stop early; convergence is then judged at "
        f"{DEFAULT_PATIENCE_STEPS} steps)",
        least=0,
        zero="never stop early",
        options=("train", "sweep"),
    )
    optimizer: str = _setting("adam", "Adam, or SGD with momentum", choices=OPTIMIZERS)
    batch_size: int = _setting(16, "clips per batch", least=1, options=("train",))
    lr: float = _setting(1e-3, "learning rate", options=("train",))
    momentum: float = _setting(0.9, "momentum of SGD (ignored by Adam)")
    weight_decay: float = _setting(0.0, "weight decay")
    output_bias: str = _setting(
        "prior",
        "initial output bias: the log-odds of each class's frame frequency in the training "
        "files (Lin et al. 2017), or zero",
        choices=OUTPUT_BIASES,
    )
    selection: str = _setting(
        "best",
        "the epoch whose model a training keeps: the best validation macro F, or the last "
        "(a fixed schedule; needs patience 0)",
        choices=SELECTIONS,
    )
    patience: int = _setting(
        0,
        "early stopping in epochs: epochs without a better validation macro F (0: never; "
        "patience_steps is the study's rule)",
        least=0,
        zero="never stop early",
        options=("train",),
    )
    val_fraction: float = _setting(
        0.2, "share of each scene's training files held out for validation"
    )
    threshold: float = _setting(0.5, "detection threshold (the paper: 0.5)")
    time_resolution: float = _setting(1.0, "segment length of the metrics in seconds")
    device: str = _setting(
        "auto", "auto (CUDA when present), cpu or cuda[:N]", options=("train", "sweep")
    )
    amp: bool = _setting(True, "bfloat16 autocast on CUDA (ignored on CPU)")
    model: dict = _setting(  # noqa: RUF009 (a Field: a new dict per configuration)
        {}, "keyword arguments of sedlib.model.CRNN (empty: the paper's Table 3)"
    )

    def __post_init__(self) -> None:
        check_config(self)
        self.loss = canonical_loss_name(self.loss)  # an alias (``E3``) names its loss once, here

    @classmethod
    def from_parameters(cls, profile: str | None = None, **params: Any) -> TrainConfig:
        """A configuration from the defaults, a named profile, then ``params`` (None: keep).

        This is how the training notebook and the command line build their
        configuration, so that an unset parameter always means this class's
        default.
        """
        if profile not in (None, "", *PROFILES):
            raise ConfigError(f"unknown profile {profile!r}; known: {sorted(PROFILES)}")
        values = dict(PROFILES.get(profile or "", {}))
        values.update({k: v for k, v in params.items() if v is not None})
        unknown = set(values) - {f.name for f in fields(cls)}
        if unknown:
            raise ConfigError(f"unknown TrainConfig field(s) {sorted(unknown)}")
        return cls(**values)

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """The names of every setting, in declaration order."""
        return tuple(f.name for f in fields(cls))

    def describe(self) -> str:
        """Short run name, e.g. ``duration_robust-g4-s3``."""
        return run_name(self.loss, self.gamma, self.seed)

    def resolved(self, device_type: str) -> dict[str, Any]:
        """Every setting as the run uses it: the basis of its identity.

        Settings the loss ignores become None,
        the loss and model options are filled with their defaults, the device
        becomes the kind actually used. Two configurations with equal resolved
        settings train the same run.
        """
        loss = self.loss
        values = {f.name: _like(getattr(self, f.name), _default_of(f)) for f in fields(self)}
        values["loss"] = loss
        values["gamma"] = values["gamma"] if loss in GAMMA_LOSSES else None
        values["C"] = values["C"] if loss == "inverse_frequency" else None
        values["class_frames"] = self.class_frames if loss == "inverse_frequency" else None
        values["momentum"] = values["momentum"] if self.optimizer == "sgd" else None
        defaults = _loss_defaults(loss)
        values["loss_options"] = {
            k: _like(v, defaults.get(k)) for k, v in {**defaults, **self.loss_options}.items()
        }
        defaults = model_defaults()
        values["model"] = {
            k: _like(v, defaults.get(k)) for k, v in {**defaults, **self.model}.items()
        }
        values["model"]["freq_pools"] = [int(p) for p in values["model"]["freq_pools"]]
        values["device"] = device_type
        values["amp"] = bool(self.amp and device_type == "cuda")
        return json.loads(json.dumps(values))  # plain JSON types, as stored

    def identity(self, device_type: str, data: dict[str, str]) -> str:
        """Short hash of the resolved settings and the data (fingerprint, audio signature).

        The data set enters by ``data`` alone: its content, not the name or
        path that ``dataset`` gives it, so one data set has one identity
        however it is named or spelled.
        """
        config = {k: v for k, v in self.resolved(device_type).items() if k != "dataset"}
        if not any(config[k] for k in STEP_SETTINGS):  # a budget in epochs: sedlib 0.3's identity
            config = {k: v for k, v in config.items() if k not in STEP_SETTINGS}
        payload = {"version": IDENTITY_VERSION, "config": config, "data": data}
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:12]

    def loss_params(self, class_frames) -> dict[str, Any]:
        """Keyword parameters of the configured loss, given the training set's frame counts."""
        loss = self.loss
        params: dict[str, Any] = {}
        if loss in GAMMA_LOSSES:
            params["gamma"] = self.gamma
        if loss == "inverse_frequency":
            params["C"] = self.C
            params["class_frames"] = "clip" if self.class_frames == "clip" else class_frames
        if loss == "class_balanced":
            params["class_frames"] = class_frames
        return {**params, **self.loss_options}


def _field(name: str) -> Field:
    try:
        return next(f for f in fields(TrainConfig) if f.name == name)
    except StopIteration:
        raise ConfigError(f"unknown TrainConfig field {name!r}") from None


def setting_help(name: str) -> str:
    """What a setting of :class:`TrainConfig` means (its field's one statement)."""
    return _field(name).metadata["help"]


def setting_choices(name: str) -> tuple | None:
    """The values a setting takes, when it takes a name from a list; else None."""
    return _field(name).metadata["choices"]


def setting_least(name: str) -> int | None:
    """The least value of an integer setting (None for the others)."""
    return _field(name).metadata["least"]


def option_settings(command: str) -> tuple[str, ...]:
    """The settings that the command ``command`` (``train``, ``sweep``) takes as options of their own."""
    return tuple(f.name for f in fields(TrainConfig) if command in f.metadata["options"])


def default_settings() -> dict[str, Any]:
    """Every setting's default, by name."""
    return {f.name: _default_of(f) for f in fields(TrainConfig)}


@dataclass(frozen=True)
class Choice:
    """One training choice, stated once: what the paper says, what this study does, and why.

    ``ours`` and ``why`` may name :class:`TrainConfig`'s defaults and a few
    derived values as ``str.format`` fields (see
    :func:`sedlib.report.tables.training_choices`, which fills them).
    """

    setting: str
    paper: str
    ours: str
    why: str


#: What the paper fixes, what it leaves open, and what this study chose, with the reason.
TRAINING_CHOICES: tuple[Choice, ...] = (
    Choice(
        "features", "64 log-mel bands, 40 ms window, 20 ms hop", "the same", "fixed by the paper"
    ),
    Choice(
        "training clips", "10 s", "{clip_seconds:g} s ({clip_frames} frames)", "fixed by the paper"
    ),
    Choice(
        "model",
        "CRNN of Table 3",
        "the same; batch norm, ReLU, dropout {dropout}",
        "what Table 3 omits follows the DCASE 2018 task 4 baseline it names",
    ),
    Choice(
        "threshold, segments",
        "0.5, 1 s segments",
        "{threshold}, {time_resolution:g} s",
        "fixed by the paper",
    ),
    Choice(
        "protocol",
        "not stated; 192 min of development data",
        "`{protocol}`: 4-fold cross-validation on the development set, scored over the pooled test folds",
        "the paper's Table 1 and its 192 min are the development metadata, which ships with these 4 folds",
    ),
    Choice(
        "optimizer, learning rate",
        "not given",
        "Adam, {lr:g}",
        "the DCASE 2018 task 4 baseline; the chapter “Why the numbers differ” measures SGD with momentum against it",
    ),
    Choice(
        "batch size",
        "not given",
        "{batch_size} clips",
        "about {updates_per_epoch:.0f} updates per epoch of a fold at the paper's size; "
        "the committed CPU runs used it too",
    ),
    Choice(
        "training length, early stopping",
        "not given",
        "at most {max_steps} optimizer steps; stop when the best validation score is "
        "{patience_steps} steps old (the run has converged); no model kept before step "
        "{warmup_steps}",
        "stated in steps, not epochs, so that a small data set trains as much as a large one; "
        "the warm-up keeps a model that has not begun to train out of the results; the "
        "patience is 2.4 times the longest pause seen to end in a better score on the "
        "calibrated rung (800 steps stopped runs by chance), the budget leaves room for a "
        "late best, and each record says whether its run converged",
    ),
    Choice(
        "model selection",
        "not given",
        "the epoch with the best validation macro F (ties: lower validation loss)",
        "macro F is the paper's headline metric; never chosen on test files",
    ),
    Choice(
        "validation files",
        "not given",
        "{val_fraction:.0%} of each scene's training files, fixed seed",
        "the same files for every loss and seed",
    ),
    Choice(
        "output bias",
        "not given",
        "log-odds of each class's frame frequency (Lin et al., 2017)",
        "without it the first hundreds of updates only learn that most frames are inactive; "
        "kept as the default, though the chapter “Why the numbers differ” finds that zero biases (the paper's likely "
        "setting) are one of the choices behind IF's departure from the paper",
    ),
    Choice(
        "loss reduction",
        "written as sums over frames and classes",
        "mean over the valid frames and all classes",
        "only rescales the gradient; Adam is invariant to that scale",
    ),
    Choice(
        "E2's N_m",
        '"frames of event m": per clip or per training set',
        "`{class_frames}`: frames of the class in the training set",
        "under it the paper's Table 2 shows \"fan\" falling to 0; per clip (the text's "
        "reading) is an option, and the chapter “Why the numbers differ” finds it one of the choices behind IF's departure",
    ),
    Choice(
        "precision",
        "not given",
        "{precision}",
        "the GPU's fast path; CPU results stay float32",
    ),
    Choice(
        "seeds",
        "10 per loss",
        "10 per method in the grids; fewer on CPU rungs, stated with each result",
        "the paper's count where a GPU allows it",
    ),
)


def merge_settings(base: dict, overrides: dict) -> dict:
    """``base`` updated by ``overrides``; the ``model`` and ``loss_options`` dictionaries merge key by key.

    Examples
    --------
    >>> merge_settings({"model": {"channels": 8}, "epochs": 2}, {"model": {"gru_units": 16}})
    {'model': {'channels': 8, 'gru_units': 16}, 'epochs': 2}
    """
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in base.items()}
    for key, value in overrides.items():
        if key in ("model", "loss_options") and isinstance(value, dict):
            out[key] = {**(out.get(key) or {}), **value}
        else:
            out[key] = value
    return out


def device_kind(device: str) -> str:
    """``cpu`` or ``cuda``: the kind of device a configuration's ``device`` means here.

    ``auto`` is CUDA when this machine has it; ``cuda[:N]`` is ``cuda`` even
    where CUDA is absent (so results of a GPU machine can be planned and
    aggregated elsewhere).
    """
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return "cuda" if device.startswith("cuda") else "cpu"


def method_key(loss: str, gamma: float | None) -> str:
    """``bce``, ``inverse_frequency``, ``duration_robust-g<γ>``, ``focal-g<γ>``...: a method's name.

    γ is part of it for the losses that take it (:data:`sedlib.losses.GAMMA_LOSSES`).

    Examples
    --------
    >>> method_key("duration_robust", 4.0), method_key("bce", None)
    ('duration_robust-g4', 'bce')
    """
    if loss in GAMMA_LOSSES:
        return f"{loss}-g{float(gamma):g}"
    return loss


def run_name(loss: str, gamma: float, seed: int) -> str:
    """``<method key>-s<seed>`` (see :func:`method_key`)."""
    return f"{method_key(loss, gamma)}-s{seed}"


def _loss_defaults(loss: str) -> dict[str, Any]:
    """Defaults of a loss's options (those not set from the configuration or the data)."""
    set_elsewhere = {"logits", "targets", "reduction", "gamma", "C", "class_frames"}
    return {
        name: p.default
        for name, p in inspect.signature(LOSSES[loss]).parameters.items()
        if name not in set_elsewhere and p.default is not inspect.Parameter.empty
    }


def model_defaults() -> dict[str, Any]:
    """The keyword defaults of :class:`sedlib.model.CRNN` (the paper's Table 3)."""
    return {
        name: p.default
        for name, p in inspect.signature(CRNN.__init__).parameters.items()
        if name not in ("self", "n_classes")
    }


def _default_of(f) -> Any:
    return f.default_factory() if callable(f.default_factory) else f.default


def _like(value: Any, default: Any) -> Any:
    """``value`` with the numeric type of ``default``, so that ``lr=1`` and ``lr=1.0`` are one setting."""
    if isinstance(default, bool) or isinstance(value, bool):
        return value
    if isinstance(default, float) and isinstance(value, int | float):
        return float(value)
    if isinstance(default, int) and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _require(ok: bool, name: str, value: Any, rule: str) -> None:
    if not ok:
        raise ConfigError(f"TrainConfig.{name} = {value!r}: {rule}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


#: Field -> (rule that a value must satisfy, the rule in words), for the settings whose field
#: states no choices and no least value (those are checked by them: :func:`_rule`).
_RULES: dict[str, tuple[Any, str]] = {
    "dataset": (lambda v: isinstance(v, str) and bool(v), "a name or a folder"),
    "gamma": (lambda v: _finite(v) and v >= 0, "a finite number >= 0"),
    "C": (lambda v: _finite(v) and v > 0, "a finite number > 0"),
    "lr": (lambda v: _finite(v) and v > 0, "a finite number > 0"),
    "momentum": (lambda v: _finite(v) and 0 <= v < 1, "in [0, 1)"),
    "weight_decay": (lambda v: _finite(v) and v >= 0, "a finite number >= 0"),
    "val_fraction": (lambda v: _finite(v) and 0 < v < 1, "in (0, 1)"),
    "threshold": (lambda v: _finite(v) and 0 < v <= 1, "in (0, 1]"),
    "time_resolution": (lambda v: _finite(v) and v > 0, "a finite number > 0"),
    "device": (
        lambda v: isinstance(v, str) and bool(_DEVICE.match(v)),
        "auto, cpu, cuda or cuda:N",
    ),
    "amp": (lambda v: isinstance(v, bool), "True or False"),
}


def _rule(f: Field) -> tuple[Any, str] | None:
    """The rule of a setting: one of its field's choices, an integer from its least value, or :data:`_RULES`'s."""
    choices, least = f.metadata["choices"], f.metadata["least"]
    if choices:
        return (lambda v: v in choices), f"one of {choices}"
    if least is not None:
        zero = f" (0: {f.metadata['zero']})" if f.metadata["zero"] else ""
        return (lambda v: _is_int(v) and v >= least), f"an integer >= {least}{zero}"
    return _RULES.get(f.name)


def check_config(config: TrainConfig) -> None:
    """Check every field; the first bad one (in declaration order) raises :class:`ConfigError` naming it and the rule."""
    for f in fields(config):
        rule = _rule(f)
        if rule is not None:
            _require(rule[0](getattr(config, f.name)), f.name, getattr(config, f.name), rule[1])
    try:
        loss = canonical_loss_name(config.loss)
    except ValueError:
        loss = None
    _require(loss is not None, "loss", config.loss, f"one of {sorted(LOSSES)}")
    options = config.loss_options
    _require(isinstance(options, dict), "loss_options", options, "a dict")
    accepted = sorted(_loss_defaults(loss))
    _require(not set(options) - set(accepted), "loss_options", options, f"{loss} takes {accepted}")
    for key, value in options.items():
        _require(_finite(value), f"loss_options[{key!r}]", value, "a finite number")
    momentum = _field("momentum").default
    _require(
        config.optimizer == "sgd" or config.momentum == momentum,
        "momentum",
        config.momentum,
        f"a setting of SGD; optimizer {config.optimizer!r} has no momentum: set optimizer=sgd, "
        f"or leave momentum at its default ({momentum})",
    )
    _require(
        config.selection != "last" or (config.patience == 0 and config.patience_steps == 0),
        "selection",
        config.selection,
        "'last' keeps the last epoch of a fixed schedule: set patience and patience_steps "
        "to 0 (no early stop)",
    )
    _require(
        bool(config.epochs or config.max_steps),
        "max_steps",
        config.max_steps,
        "a training needs a budget: max_steps or epochs above 0",
    )
    _require(
        not config.max_steps or config.warmup_steps < config.max_steps,
        "warmup_steps",
        config.warmup_steps,
        f"fewer than max_steps ({config.max_steps}): no model would be validated after it",
    )
    _check_model(config.model)


def _check_model(model: Any) -> None:
    """The CRNN arguments: known names, each of the type of its default."""
    _require(isinstance(model, dict), "model", model, "a dict of CRNN arguments")
    defaults = model_defaults()
    unknown = set(model) - set(defaults)
    _require(not unknown, "model", model, f"CRNN takes {sorted(defaults)}")
    for key, value in model.items():
        default = defaults[key]
        if isinstance(default, bool):
            ok = isinstance(value, bool)
        elif isinstance(default, int):
            ok = _is_int(value) and value >= 1
        elif isinstance(default, float):  # dropout
            ok = _finite(value) and 0 <= value < 1
        elif isinstance(default, tuple | list):
            ok = isinstance(value, tuple | list) and all(_is_int(v) and v >= 1 for v in value)
        else:
            ok = True
        _require(ok, f"model[{key!r}]", value, f"like the default {default!r}")
