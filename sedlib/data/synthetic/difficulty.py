"""How audible each synthetic class is in the features: its events over its scenes' backgrounds, band by band.

The generator's difficulty setting (``ebr_offset_db``) shifts every event's
event-to-background ratio, an RMS ratio over the whole band. What the model
sees is the log-mel energy of the file as written: the mix, normalised to a
peak and stored as 16-bit samples. This module measures, from the generator
itself, how far one event of a class raises that log-mel energy above the
background of one of its scenes, band by band (approximately: see
:func:`band_rise_db`):

- :func:`band_rise_db`: the rise, for a given event and background;
- :func:`band_rises`: events of a class rendered as a mix renders them
  (:func:`sedlib.data.synthetic.generate.render_file`: the same sound model,
  background and levels, at the middle of the class's ratio range plus the
  offset);
- :func:`class_audibility`: every class, summarised.

Other events of the scene are left out: the rise is over the background alone.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sedlib.data.synthetic.classes import CLASS_FACTS, FACTS_BY_LABEL, SCENES
from sedlib.data.synthetic.sounds import (
    BACKGROUND_LEVEL,
    MODELS,
    background,
    ebr_range_db,
    event_gain,
)
from sedlib.errors import ConfigError
from sedlib.features import log_mel

#: Sample rate of the measurement: the generator's (``generate.SAMPLE_RATE``).
MEASURE_SAMPLE_RATE = 44100
#: The peak a written file is normalised to: ``render_file`` draws 0.9 times 0 to -6 dB; the middle.
WRITTEN_PEAK = 0.9 * 10 ** (-3 / 20)
#: Events longer than this are measured over their first this-many seconds.
LONGEST_MEASURED_S = 10.0
#: Events shorter than this are measured over this many seconds (a few frames).
SHORTEST_MEASURED_S = 0.1
#: A band counts as *raised* by an event when its energy rises by at least this much (dB): the
#: event is then about as loud as the background there.
RAISED_DB = 3.0


def as_written(y: np.ndarray) -> np.ndarray:
    """``y`` as a 16-bit WAV file stores it and a reader gives it back.

    libsndfile (under ``soundfile.write``) stores ``floor(y * 32768)``,
    clipped to the 16-bit range; a reader divides by 32768.

    >>> as_written(np.array([0.5, 1e-6, -2.0, 2.0])).tolist()
    [0.5, 0.0, -1.0, 0.999969482421875]
    """
    return np.clip(np.floor(y * 32768), -32768, 32767) / 32768


def _mean_mel_power(y: np.ndarray, sr: int) -> np.ndarray:
    """Mean over frames of the features' mel power (``exp`` of :func:`sedlib.features.log_mel`)."""
    return np.exp(log_mel(y, sr).astype(np.float64)).mean(axis=0)


def band_rise_db(
    event: np.ndarray, room: np.ndarray, sr: int, peak: float = WRITTEN_PEAK
) -> np.ndarray:
    """Per mel band, how far ``event`` raises the log-mel energy of ``room`` in a written file (dB).

    The mix ``room + event`` is scaled to ``peak``; the background alone
    gets the same scale; both are stored as 16-bit samples
    (:func:`as_written`) and analysed as the features are (64 log-mel bands,
    40 ms / 20 ms). A band's rise is its mean mel power in the mix over that
    of the background alone: near 0 dB where the event is much weaker than
    the background (or than the 16-bit quantisation noise) in that band,
    about 3 dB where it is as loud as the background.

    A data set's file is scaled to the peak of the whole file, with all its
    events; scaling one event and its background to their own peak makes
    the quantisation noise of this measurement approximate: a few dB either
    way where the background is near it.

    Parameters
    ----------
    event, room : np.ndarray
        An event and a background, equally long, at their levels in the mix.
    sr : int
        Their sample rate, Hz.
    peak : float
        The peak the mix is normalised to, in (0, 1].

    Returns
    -------
    np.ndarray
        ``(64,)`` float64, dB.

    Raises
    ------
    ConfigError
        When the signals differ in length or are silent, or ``peak`` lies outside (0, 1].
    """
    if len(event) != len(room):
        raise ConfigError(
            f"event and room must be equally long, got {len(event)} and {len(room)} samples"
        )
    if not 0 < peak <= 1:
        raise ConfigError(f"peak must lie in (0, 1], got {peak!r}")
    mix = room + event
    top = float(np.max(np.abs(mix)))
    if top == 0:
        raise ConfigError("event and room are both silent: there is no mix to normalise")
    scale = peak / top
    written_mix, written_room = as_written(mix * scale), as_written(room * scale)
    return 10 * np.log10(_mean_mel_power(written_mix, sr) / _mean_mel_power(written_room, sr))


def band_rises(
    label: str,
    scene: str,
    ebr_offset_db: float = 0.0,
    draws: int = 3,
    seed: int = 0,
    sr: int = MEASURE_SAMPLE_RATE,
) -> np.ndarray:
    """:func:`band_rise_db` of events of ``label`` over backgrounds of ``scene``, one row per draw.

    Each draw renders one event (the class's median duration, within
    :data:`SHORTEST_MEASURED_S` .. :data:`LONGEST_MEASURED_S`) at the middle
    of its ratio range plus ``ebr_offset_db``, and a background of ``scene``
    as long, at the levels a mix gives them.

    Parameters
    ----------
    label, scene : str
        A synthetic class and a scene (any of :data:`~sedlib.data.synthetic.classes.SCENES`).
    ebr_offset_db : float
        The generator's difficulty setting, dB.
    draws : int
        Independent renderings (sound model and background), at least 1.
    seed : int
        Seed of the draws, at least 0: equal arguments give equal rises.
    sr : int
        Sample rate of the rendering, Hz, at least 16000.

    Returns
    -------
    np.ndarray
        ``(draws, 64)`` float64, dB.

    Raises
    ------
    ConfigError
        Naming the argument: an unknown class or scene, fewer than one draw,
        a negative seed, a low sample rate or a non-finite offset.
    """
    if label not in FACTS_BY_LABEL:
        raise ConfigError(
            f"unknown class {label!r}; the synthetic classes are {', '.join(FACTS_BY_LABEL)}"
        )
    if scene not in SCENES:
        raise ConfigError(f"unknown scene {scene!r}; choose {', '.join(SCENES)}")
    for name, value, least in (("draws", draws, 1), ("seed", seed, 0), ("sr", sr, 16000)):
        if not (isinstance(value, int) and value >= least):
            raise ConfigError(f"{name} must be a whole number of at least {least}, got {value!r}")
    if not math.isfinite(ebr_offset_db):
        raise ConfigError(f"ebr_offset_db must be a finite number of dB, got {ebr_offset_db!r}")
    facts = FACTS_BY_LABEL[label]
    n = round(min(max(math.exp(facts.log_mu), SHORTEST_MEASURED_S), LONGEST_MEASURED_S) * sr)
    lo, hi = ebr_range_db(label)
    gain = event_gain((lo + hi) / 2 + ebr_offset_db)
    streams = [CLASS_FACTS.index(facts), SCENES.index(scene)]
    rows = []
    for draw in range(draws):
        rng = np.random.default_rng(np.random.SeedSequence([seed, *streams, draw]))
        room = background(scene, n, sr, rng) * BACKGROUND_LEVEL
        event = gain * MODELS[label](n, sr, rng)
        rows.append(band_rise_db(event, room, sr))
    return np.array(rows)


def class_audibility(ebr_offset_db: float = 0.0, draws: int = 3, seed: int = 0) -> pd.DataFrame:
    """Every class: how far it raises its scenes' backgrounds in the features, at a difficulty.

    Parameters
    ----------
    ebr_offset_db : float
        The generator's difficulty setting, dB.
    draws, seed : int
        As in :func:`band_rises`, per scene of the class (its scenes in the
        development metadata).

    Returns
    -------
    pandas.DataFrame
        Indexed by class label (``event_label``): ``largest_rise_db``, the
        median over draws and scenes of the largest rise over the 64 bands,
        and ``bands_raised``, the median share of the bands raised by at
        least :data:`RAISED_DB`.
    """
    rows = {}
    for facts in CLASS_FACTS:
        rises = np.vstack(
            [
                band_rises(facts.label, scene, ebr_offset_db, draws, seed)
                for scene in facts.dev_events
            ]
        )
        rows[facts.label] = {
            "largest_rise_db": float(np.median(rises.max(axis=1))),
            "bands_raised": float(np.median((rises >= RAISED_DB).mean(axis=1))),
        }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("event_label")
