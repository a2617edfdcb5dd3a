"""The configuration of a training run: the study's only source of defaults, and a run's identity.

What the paper fixes is taken from it; what it leaves open is chosen here
once, with the reason, and every entry point (the ``sedlib train`` command,
the training notebook, the sweeps) starts from these values:

====================  ==========================  =========================================
setting               value                       why
====================  ==========================  =========================================
protocol              4-fold cross-validation     the paper's data: its Table 1 and "192 min"
                      on the development set      are the development metadata, which comes
                                                  with 4 folds; scored once over the pooled
                                                  test folds
optimizer, lr         Adam, 1e-3                  the DCASE 2018 task 4 baseline the paper
                                                  builds on (SGD with momentum: an option)
batch_size            16 clips of 10 s            the paper's 10 s clips; 16 gives ~40
                                                  updates per epoch at the paper's size
epochs, patience      at most 60, stop after 20   enough to converge at the paper's size;
                      without a better score      the paper gives neither
model selection       best validation macro F     the paper's headline metric, on held-out
                                                  development files, never the test files
                                                  (``last`` epoch of a fixed schedule: an option)
validation            20% of the training files   per scene, fixed seed: the same files for
                      of each scene               every run and loss
output bias           log-odds of the class's     without it the first hundreds of updates
                      frame frequency (Lin 2017)  only learn that most frames are inactive
                                                  (``zero``: an option)
reduction             mean over valid frames      the paper writes sums; the mean only
                      and classes                 rescales the gradient (Adam is invariant)
bf16 autocast         on CUDA only                the GPU's fast path; on CPU float32
segment length        1 s (metrics), 10 s clips   the paper's
====================  ==========================  =========================================
"""

from __future__ import annotations

import hashlib
import inspect
import json
import math
import re
from dataclasses import dataclass, field, fields
from typing import Any

from sedlib.errors import ConfigError

#: Evaluation protocols: ``folds`` (the paper's: 4-fold cross-validation on the
#: development set, scored over the pooled test folds) and ``dev-eval``
#: (train on the development set, test on the evaluation set).
PROTOCOLS = ("folds", "dev-eval")

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
    "book": {"loss": "duration_robust", "protocol": "dev-eval", "epochs": 15, "patience": 0},
}

_DEVICE = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


@dataclass
class TrainConfig:
    """Everything that defines a training run; checked when it is made.

    Attributes
    ----------
    dataset : str
        Data set name or folder (see :func:`sedlib.data.registry.get_dataset`).
    protocol : {"folds", "dev-eval"}
        See :data:`PROTOCOLS`.
    loss : str
        ``bce``, ``inverse_frequency``, ``duration_robust``, ``focal``,
        ``class_balanced`` or ``asymmetric`` (see :func:`sedlib.losses.get_loss`);
        an alias (``E1``, ``E2``, ``E3``) is replaced by its canonical name when
        the configuration is made.
    gamma : float
        γ of the duration robust and the focal loss (ignored by the others).
    C : float
        Constant of the inverse frequency weights.
    class_frames : {"dataset", "clip"}
        How the inverse frequency loss counts ``N_m``.
    loss_options : dict
        More keyword parameters of the loss (``alpha`` of focal, ``beta`` of
        class balanced, ``gamma_neg`` / ``gamma_pos`` / ``clip`` of asymmetric);
        empty: the published defaults.
    seed : int
        Seed of the initialisation, dropout and batch order.
    epochs : int
        Maximum number of epochs (per fold).
    optimizer : {"adam", "sgd"}
        Adam, or SGD with ``momentum``.
    batch_size, lr, weight_decay : int, float, float
        Optimisation.
    momentum : float
        Momentum of SGD (ignored by Adam).
    output_bias : {"prior", "zero"}
        Initial output bias: the log-odds of each class's frame frequency in
        the training files (Lin et al. 2017), or zero.
    selection : {"best", "last"}
        Which epoch's model a training keeps: the best validation macro F, or
        the last epoch (a fixed schedule; needs ``patience`` 0).
    patience : int
        Early stopping: epochs without a better validation macro F (0: never stop early).
    val_fraction : float
        Share of each scene's training files held out for validation.
    threshold : float
        Detection threshold (the paper: 0.5).
    time_resolution : float
        Segment length of the metrics in seconds.
    device : str
        ``auto`` (CUDA when present), ``cpu`` or ``cuda[:N]``.
    amp : bool
        bfloat16 autocast on CUDA (ignored on CPU).
    model : dict
        Keyword arguments of :class:`sedlib.model.CRNN` (empty: Table 3).

    Raises
    ------
    ValueError
        When a value is out of range; the message names the parameter.
    """

    dataset: str = "synthetic-small"
    protocol: str = "folds"
    loss: str = "bce"
    gamma: float = 1.0
    C: float = 500.0
    class_frames: str = "dataset"
    loss_options: dict = field(default_factory=dict)
    seed: int = 0
    epochs: int = 60
    optimizer: str = "adam"
    batch_size: int = 16
    lr: float = 1e-3
    momentum: float = 0.9
    weight_decay: float = 0.0
    output_bias: str = "prior"
    selection: str = "best"
    patience: int = 20
    val_fraction: float = 0.2
    threshold: float = 0.5
    time_resolution: float = 1.0
    device: str = "auto"
    amp: bool = True
    model: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        from sedlib.losses import canonical_loss_name

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


#: The losses that take γ (equal to :data:`sedlib.losses.GAMMA_LOSSES`, tested; kept here
#: so that reading a configuration does not import torch).
GAMMA_LOSSES = ("duration_robust", "focal")


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
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    return "cuda" if device.startswith("cuda") else "cpu"


def run_name(loss: str, gamma: float, seed: int) -> str:
    """``<loss>[-g<γ>]-s<seed>``; γ is part of the name for the losses that take it."""
    tag = f"{loss}-g{float(gamma):g}" if loss in GAMMA_LOSSES else loss
    return f"{tag}-s{seed}"


def _loss_defaults(loss: str) -> dict[str, Any]:
    """Defaults of a loss's options (those not set from the configuration or the data)."""
    from sedlib.losses import LOSSES

    set_elsewhere = {"logits", "targets", "reduction", "gamma", "C", "class_frames"}
    return {
        name: p.default
        for name, p in inspect.signature(LOSSES[loss]).parameters.items()
        if name not in set_elsewhere and p.default is not inspect.Parameter.empty
    }


def model_defaults() -> dict[str, Any]:
    """The keyword defaults of :class:`sedlib.model.CRNN` (the paper's Table 3)."""
    from sedlib.model import CRNN

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


#: Field -> (rule that a value must satisfy, the rule in words). Checked in this order.
_RULES: dict[str, tuple[Any, str]] = {
    "dataset": (lambda v: isinstance(v, str) and bool(v), "a name or a folder"),
    "protocol": (lambda v: v in PROTOCOLS, f"one of {PROTOCOLS}"),
    "gamma": (lambda v: _finite(v) and v >= 0, "a finite number >= 0"),
    "C": (lambda v: _finite(v) and v > 0, "a finite number > 0"),
    "class_frames": (lambda v: v in ("dataset", "clip"), "'dataset' or 'clip'"),
    "seed": (lambda v: _is_int(v) and v >= 0, "an integer >= 0"),
    "epochs": (lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
    "optimizer": (lambda v: v in OPTIMIZERS, f"one of {OPTIMIZERS}"),
    "batch_size": (lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
    "lr": (lambda v: _finite(v) and v > 0, "a finite number > 0"),
    "momentum": (lambda v: _finite(v) and 0 <= v < 1, "in [0, 1)"),
    "weight_decay": (lambda v: _finite(v) and v >= 0, "a finite number >= 0"),
    "output_bias": (lambda v: v in OUTPUT_BIASES, f"one of {OUTPUT_BIASES}"),
    "selection": (lambda v: v in SELECTIONS, f"one of {SELECTIONS}"),
    "patience": (lambda v: _is_int(v) and v >= 0, "an integer >= 0 (0: never stop early)"),
    "val_fraction": (lambda v: _finite(v) and 0 < v < 1, "in (0, 1)"),
    "threshold": (lambda v: _finite(v) and 0 < v <= 1, "in (0, 1]"),
    "time_resolution": (lambda v: _finite(v) and v > 0, "a finite number > 0"),
    "device": (
        lambda v: isinstance(v, str) and bool(_DEVICE.match(v)),
        "auto, cpu, cuda or cuda:N",
    ),
    "amp": (lambda v: isinstance(v, bool), "True or False"),
}


def check_config(config: TrainConfig) -> None:
    """Check every field; the first bad one raises ``ValueError`` naming it and the rule."""
    from sedlib.losses import LOSSES, canonical_loss_name

    for name, (ok, rule) in _RULES.items():
        _require(ok(getattr(config, name)), name, getattr(config, name), rule)
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
    _require(
        config.selection != "last" or config.patience == 0,
        "selection",
        config.selection,
        "'last' keeps the last epoch of a fixed schedule: set patience to 0 (no early stop)",
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
