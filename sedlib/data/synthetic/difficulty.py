"""How hard each synthetic class is to hear: its events against its scenes' backgrounds, band by band.

The generator's difficulty setting (``ebr_offset_db``) shifts every event's
event-to-background ratio, an RMS ratio over the whole band. A class can
stay easy to detect whatever that ratio is when its energy lies in mel bands
where its scenes' backgrounds have little, or when it sounds through nearly
all of its scenes' time (then detecting it is recognising the scene). This
module measures both, from the generator itself:

- :func:`band_ratios` (with :func:`band_ratio_db`): per mel band, the power of a class's events over the
  power of the background of a scene it occurs in, rendered exactly as a
  mix renders them (:func:`sedlib.data.synthetic.generate.render_file`), at
  the middle of the class's ratio range plus the offset;
- :func:`scene_share`: the expected share of its scenes' time during which
  the class is active, from the development metadata's statistics
  (:data:`~sedlib.data.synthetic.classes.CLASS_FACTS`);
- :func:`class_difficulty`: both, for every class.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sedlib.data.synthetic.classes import CLASS_FACTS, DEV_SCENE_MINUTES, ClassFacts
from sedlib.data.synthetic.sounds import (
    BACKGROUND_LEVEL,
    MODELS,
    background,
    ebr_range_db,
    event_gain,
)
from sedlib.errors import ConfigError
from sedlib.features import LOG_OFFSET, log_mel

#: Sample rate of the measurement: the generator's (``generate.SAMPLE_RATE``).
MEASURE_SAMPLE_RATE = 44100
#: Events longer than this are measured over their first this-many seconds.
LONGEST_MEASURED_S = 10.0
#: Events shorter than this are measured over this many seconds (a few frames).
SHORTEST_MEASURED_S = 0.1


def _facts(label: str) -> ClassFacts:
    found = [facts for facts in CLASS_FACTS if facts.label == label]
    if not found:
        known = ", ".join(facts.label for facts in CLASS_FACTS)
        raise ConfigError(f"unknown class {label!r}; the synthetic classes are {known}")
    return found[0]


def _mel_power(y: np.ndarray, sr: int) -> np.ndarray:
    """Mean mel-band power over the frames of ``y`` (64 bands, the paper's analysis)."""
    return np.maximum(np.exp(log_mel(y, sr).astype(np.float64)) - LOG_OFFSET, 0.0).mean(axis=0)


def band_ratio_db(event: np.ndarray, room: np.ndarray, sr: int) -> np.ndarray:
    """Per mel band (the paper's 64), the mean power of ``event`` over that of ``room``, in dB.

    Both signals are analysed as the features are (:func:`sedlib.features.log_mel`);
    ``inf`` where ``room`` has no power in a band.

    Raises
    ------
    ConfigError
        When the two signals differ in length.
    """
    if len(event) != len(room):
        raise ConfigError(
            f"event and room must be equally long, got {len(event)} and {len(room)} samples"
        )
    with np.errstate(divide="ignore"):
        return 10 * np.log10(_mel_power(event, sr) / _mel_power(room, sr))


def band_ratios(
    label: str,
    scene: str,
    ebr_offset_db: float = 0.0,
    draws: int = 3,
    seed: int = 0,
    sr: int = MEASURE_SAMPLE_RATE,
) -> np.ndarray:
    """Event-to-background power ratio (dB) per mel band, one row per draw.

    Each draw renders one event of ``label`` (its median duration, within
    :data:`SHORTEST_MEASURED_S` .. :data:`LONGEST_MEASURED_S`) at the middle
    of its ratio range plus ``ebr_offset_db``, and a background of ``scene``
    of the same length, at the levels a mix gives them; a band's ratio is the
    mean power of the event over that of the background in that band.

    Parameters
    ----------
    label, scene : str
        A synthetic class and one of its scenes (any scene is accepted).
    ebr_offset_db : float
        The generator's difficulty setting, dB.
    draws : int
        Independent renderings (sound model and background), at least 1.
    seed : int
        Seed of the draws: equal arguments give equal ratios.
    sr : int
        Sample rate of the rendering, Hz.

    Returns
    -------
    np.ndarray
        ``(draws, 64)`` float64, dB; ``inf`` where the background has no power.

    Raises
    ------
    ConfigError
        For an unknown class or scene, fewer than one draw, or a non-finite offset.
    """
    facts = _facts(label)
    if not (isinstance(draws, int) and draws >= 1):
        raise ConfigError(f"draws must be a whole number of at least 1, got {draws!r}")
    if not math.isfinite(ebr_offset_db):
        raise ConfigError(f"ebr_offset_db must be a finite number of dB, got {ebr_offset_db!r}")
    seconds = min(max(math.exp(facts.log_mu), SHORTEST_MEASURED_S), LONGEST_MEASURED_S)
    n = round(seconds * sr)
    lo, hi = ebr_range_db(label)
    gain = event_gain((lo + hi) / 2 + ebr_offset_db)
    label_index = [f.label for f in CLASS_FACTS].index(label)
    rows = []
    for draw in range(draws):
        rng = np.random.default_rng(np.random.SeedSequence([seed, label_index, draw]))
        room = background(scene, n, sr, rng) * BACKGROUND_LEVEL
        event = gain * MODELS[label](n, sr, rng)
        rows.append(band_ratio_db(event, room, sr))
    return np.array(rows)


def scene_share(label: str) -> float:
    """The expected share of its scenes' development time during which ``label`` is active, at most 1.

    Events x their mean duration (of the log-normal fitted to the
    development metadata), over the minutes of the scenes the class occurs
    in; overlaps between its own events are not subtracted.

    >>> round(scene_share("fan"), 3)  # 78 events of 30 s in 78 office files of 30 s
    1.0
    """
    facts = _facts(label)
    mean_s = min(math.exp(facts.log_mu + facts.log_sigma**2 / 2), facts.max_s)
    events = sum(facts.dev_events.values())
    seconds = 60 * sum(DEV_SCENE_MINUTES[scene] for scene in facts.dev_events)
    return min(events * mean_s / seconds, 1.0)


def class_difficulty(ebr_offset_db: float = 0.0, draws: int = 3, seed: int = 0) -> pd.DataFrame:
    """Every class: how far its loudest band rises above its scenes' backgrounds, and its share of their time.

    Parameters
    ----------
    ebr_offset_db : float
        The generator's difficulty setting, dB.
    draws, seed : int
        As in :func:`band_ratios`, per scene of the class.

    Returns
    -------
    pandas.DataFrame
        Indexed by class label: ``loudest_band_db`` (the median over draws
        and the class's scenes of its largest band ratio), ``bands_above``
        (the median share of the 64 bands where the event is louder than
        the background) and ``scene_share`` (:func:`scene_share`).
    """
    rows = {}
    for facts in CLASS_FACTS:
        ratios = np.vstack(
            [
                band_ratios(facts.label, scene, ebr_offset_db, draws, seed)
                for scene in facts.dev_events
            ]
        )
        rows[facts.label] = {
            "loudest_band_db": float(np.median(ratios.max(axis=1))),
            "bands_above": float(np.median((ratios > 0).mean(axis=1))),
            "scene_share": scene_share(facts.label),
        }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("event_label")
