"""The names of generated data sets: one spelling each, and the offsets a name can carry."""

from __future__ import annotations

import math

from sedlib.errors import ConfigError

#: The largest event-to-background offset a generated data set may have, in dB either way:
#: beyond it an event is lost in 16-bit quantization or drowns its background.
MAX_EBR_OFFSET_DB = 60.0


def check_ebr_offset(value: float, what: str = "ebr_offset_db") -> float:
    """``value`` as a float when a data set name can carry it exactly; else ``ConfigError`` naming ``what``.

    A generated data set's name carries its offset (``synthetic-small-ebr-12``)
    and ``--dataset`` reads it back, so the offset must be finite, within
    :data:`MAX_EBR_OFFSET_DB` and have at most three decimals.

    Examples
    --------
    >>> check_ebr_offset(-12.5)
    -12.5
    """
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{what} must be a number of dB, got {value!r}") from None
    if not (math.isfinite(number) and abs(number) <= MAX_EBR_OFFSET_DB):
        raise ConfigError(
            f"{what} must lie within ±{MAX_EBR_OFFSET_DB:g} dB (an event that much quieter is "
            f"lost in the background, that much louder drowns it), got {value!r}"
        )
    if round(number, 3) != number:
        raise ConfigError(
            f"{what} {value!r} has more than three decimals: a data set name could not carry it "
            "(round it)"
        )
    return number


def synthetic_name(preset: str, seed: int = 0, ebr_offset_db: float = 0.0) -> str:
    """The one spelling of a generated data set: ``synthetic-<preset>[-ebr<dB>][-seed<N>]``.

    The offset 0 and the seed 0 are left out, so that every spelling of one
    data set (``-ebr0``, ``-ebr-0``, ``-seed0``) names it the same way.

    Examples
    --------
    >>> synthetic_name("small"), synthetic_name("tut-timeline", 0, -30.0), synthetic_name("paper", 2)
    ('synthetic-small', 'synthetic-tut-timeline-ebr-30', 'synthetic-paper-seed2')
    """
    difficulty = f"-ebr{float(ebr_offset_db):g}" if ebr_offset_db else ""
    return f"synthetic-{preset}{difficulty}" + (f"-seed{seed}" if seed else "")
