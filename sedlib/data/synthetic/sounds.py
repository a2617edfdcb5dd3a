"""Procedural sound models: one per class, plus one background per scene.

The models follow the paper's premise. Long classes are mostly stationary
textures whose spectrum stays put for the whole event (fan hum, traffic,
wind, running water). Short classes are transients with several audio
patterns each (attack, decay and release variants; impacts, clicks,
squeaks, jingles), drawn anew for every instance so that no two events of a
class sound alike.

Every model is a function ``model(n, sr, rng) -> np.ndarray`` returning
``n`` float64 samples with unit RMS (over the samples where it sounds);
levels are set by the generator.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
from scipy import signal

from sedlib.data.synthetic.classes import CLASS_FACTS
from sedlib.errors import ConfigError

Model = Callable[[int, int, np.random.Generator], np.ndarray]


# ----------------------------------------------------------------------------- primitives
def _sos(kind: str, freqs, sr: int, order: int = 2):
    nyq = sr / 2.0
    if kind == "bandpass":
        lo, hi = freqs
        lo, hi = max(lo, 10.0), min(hi, nyq * 0.95)
        if hi <= lo * 1.05:
            lo = hi / 1.5
        return signal.butter(order, [lo / nyq, hi / nyq], btype="bandpass", output="sos")
    return signal.butter(order, min(freqs, nyq * 0.95) / nyq, btype=kind, output="sos")


def filtered_noise(
    n: int, sr: int, rng: np.random.Generator, kind: str, freqs, order: int = 2
) -> np.ndarray:
    """White noise through a Butterworth filter (``kind``: lowpass, highpass, bandpass)."""
    return signal.sosfilt(_sos(kind, freqs, sr, order), rng.standard_normal(n))


def pink_noise(n: int, rng: np.random.Generator, exponent: float = 1.0) -> np.ndarray:
    """Noise with power falling as ``1 / f**exponent``, unit RMS."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spectrum), dtype=np.float64)
    f[0] = 1.0
    x = np.fft.irfft(spectrum / f ** (exponent / 2), n)
    return x / (np.sqrt(np.mean(x**2)) + 1e-12)


def smooth_random(n: int, sr: int, rng: np.random.Generator, rate_hz: float) -> np.ndarray:
    """A slowly varying random curve in about [-1, 1] (knots every ``1 / rate_hz`` s, cubic)."""
    n_knots = max(int(n / sr * rate_hz) + 4, 4)
    knots = rng.uniform(-1, 1, n_knots)
    xs = np.linspace(0, n_knots - 1, n)
    return np.interp(xs, np.arange(n_knots), knots) if n_knots < 5 else _cubic(knots, xs)


def _cubic(knots: np.ndarray, xs: np.ndarray) -> np.ndarray:
    from scipy.interpolate import CubicSpline

    return np.clip(CubicSpline(np.arange(len(knots)), knots)(xs), -1.5, 1.5)


def tone(
    n: int, sr: int, f0, harmonics=(1.0,), rng: np.random.Generator | None = None
) -> np.ndarray:
    """Harmonic tone; ``f0`` a number or a per-sample frequency curve in Hz."""
    f0 = np.broadcast_to(np.asarray(f0, dtype=np.float64), (n,))
    phase = 2 * np.pi * np.cumsum(f0) / sr
    out = np.zeros(n)
    for k, amp in enumerate(harmonics, start=1):
        offset = rng.uniform(0, 2 * np.pi) if rng is not None else 0.0
        partial = amp * np.sin(k * phase + offset)
        partial[k * f0 >= sr / 2] = 0.0  # no aliasing
        out += partial
    return out


def modal_hit(n: int, sr: int, rng: np.random.Generator, freqs, decays_s, amps=None) -> np.ndarray:
    """A struck object: exponentially decaying sinusoids (its modes) with random phases."""
    t = np.arange(n) / sr
    out = np.zeros(n)
    amps = np.ones(len(freqs)) if amps is None else amps
    for f, d, a in zip(freqs, decays_s, amps, strict=True):
        if f < sr / 2:
            out += a * np.exp(-t / d) * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))
    return out


def burst(
    n: int, sr: int, rng: np.random.Generator, lo: float, hi: float, decay_s: float
) -> np.ndarray:
    """A band-limited noise burst with a sharp attack and an exponential decay."""
    t = np.arange(n) / sr
    return filtered_noise(n, sr, rng, "bandpass", (lo, hi)) * np.exp(-t / decay_s)


def fade(x: np.ndarray, sr: int, fade_in_s: float = 0.005, fade_out_s: float = 0.005) -> np.ndarray:
    """Raised-cosine fades at both ends (no clicks at event boundaries)."""
    x = x.copy()
    for length, rev in ((fade_in_s, False), (fade_out_s, True)):
        m = min(int(length * sr), len(x) // 2)
        if m > 1:
            ramp = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, m))
            if rev:
                x[len(x) - m :] *= ramp[::-1]
            else:
                x[:m] *= ramp
    return x


def unit_rms(x: np.ndarray) -> np.ndarray:
    """Scale to unit RMS over the samples that are not (near) silent."""
    loud = np.abs(x) > 1e-4 * (np.max(np.abs(x)) + 1e-12)
    rms = np.sqrt(np.mean(x[loud] ** 2)) if loud.any() else 0.0
    return x / rms if rms > 0 else x


def add_at(dst: np.ndarray, src: np.ndarray, start: int) -> None:
    """Add ``src`` into ``dst`` from sample ``start`` on, cut at the end of ``dst``."""
    end = min(len(dst), start + len(src))
    if end > start >= 0:
        dst[start:end] += src[: end - start]


def _scatter(
    n: int,
    sr: int,
    rng: np.random.Generator,
    rate_hz: float,
    make: Callable[[], np.ndarray],
    jitter: float = 0.3,
    first_at: float = 0.0,
) -> np.ndarray:
    """Repeat sounds made by ``make()`` at about ``rate_hz`` (jittered) over ``n`` samples."""
    out = np.zeros(n)
    t = first_at
    while t * sr < n:
        add_at(out, make(), int(t * sr))
        t += max(1.0 / rate_hz * (1 + rng.uniform(-jitter, jitter)), 0.002)
    return out


# ----------------------------------------------------------------------------- long, stationary
def fan(n, sr, rng):
    f0 = rng.uniform(45, 140)
    harm = np.sort(rng.uniform(0.05, 1.0, int(rng.integers(3, 8))))[::-1]
    hum = tone(n, sr, f0 * (1 + 0.002 * smooth_random(n, sr, rng, 0.2)), harm, rng)
    centre = rng.uniform(250, 1500)
    air = filtered_noise(n, sr, rng, "bandpass", (centre / 2.5, centre * 2.5))
    blades = 1 + rng.uniform(0.02, 0.15) * np.sin(
        2 * np.pi * f0 / rng.integers(2, 6) * np.arange(n) / sr
    )
    return unit_rms(
        fade(unit_rms(hum) * rng.uniform(0.3, 1.0) + unit_rms(air) * blades, sr, 0.3, 0.3)
    )


def _vehicle(n, sr, rng, f0_range, cutoff_range, harm_gain):
    f0 = rng.uniform(*f0_range)
    glide = 1 - rng.uniform(0.0, 0.12) * np.linspace(0, 1, n)  # pass-by pitch drop
    engine = tone(
        n,
        sr,
        f0 * glide * (1 + 0.03 * smooth_random(n, sr, rng, 0.5)),
        (1, 0.8, 0.6, 0.5, 0.3),
        rng,
    )
    rumble = filtered_noise(n, sr, rng, "lowpass", rng.uniform(*cutoff_range), order=3)
    tyres = filtered_noise(n, sr, rng, "bandpass", (500, 3000)) * rng.uniform(0.05, 0.3)
    x = unit_rms(rumble) + harm_gain * unit_rms(engine) + unit_rms(tyres) * 0.3
    shape = rng.integers(3)  # approaching and leaving, passing by, idling
    t = np.linspace(-1, 1, n)
    if shape == 0:
        env = np.exp(-(t**2) / (2 * rng.uniform(0.2, 0.5) ** 2))
    elif shape == 1:
        env = 0.3 + 0.7 * (1 - np.abs(t)) ** 0.5
    else:
        env = np.ones(n)
    return unit_rms(fade(x * (0.2 + env), sr, 0.2, 0.2))


def car(n, sr, rng):
    return _vehicle(n, sr, rng, (25, 60), (250, 900), 0.4)


def large_vehicle(n, sr, rng):
    return _vehicle(n, sr, rng, (12, 30), (80, 300), 1.0)


def wind_blowing(n, sr, rng):
    gusts = 0.6 + 0.4 * smooth_random(n, sr, rng, rng.uniform(0.2, 1.0))
    body = filtered_noise(n, sr, rng, "lowpass", rng.uniform(150, 600), order=2)
    whistle = filtered_noise(
        n, sr, rng, "bandpass", (rng.uniform(600, 900), rng.uniform(1000, 1600))
    )
    return unit_rms(fade(unit_rms(body) * gusts + 0.2 * unit_rms(whistle) * gusts**2, sr, 0.5, 0.5))


def water_tap_running(n, sr, rng):
    lo = rng.uniform(500, 1500)
    stream = filtered_noise(n, sr, rng, "bandpass", (lo, lo * rng.uniform(3, 6)), order=3)
    flutter = 1 + 0.25 * unit_rms(filtered_noise(n, sr, rng, "lowpass", 40.0))
    return unit_rms(fade(stream * np.clip(flutter, 0.3, 2.0), sr, 0.1, 0.1))


def washing_dishes(n, sr, rng):
    water = unit_rms(water_tap_running(n, sr, rng)) * 0.6

    def clink():
        m = int(0.25 * sr)
        return modal_hit(
            m, sr, rng, rng.uniform(1500, 5000, 3), rng.uniform(0.02, 0.08, 3)
        ) * rng.uniform(0.5, 2)

    return unit_rms(water + _scatter(n, sr, rng, rng.uniform(1.5, 4), clink, 0.6) * 0.5)


def bird_singing(n, sr, rng):
    kind = rng.integers(3)  # song types: up-sweeps, down-sweeps, trills
    base = rng.uniform(2000, 5000)

    def syllable():
        m = int(rng.uniform(0.05, 0.2) * sr)
        x = np.linspace(0, 1, m)
        if kind == 0:
            f = base * (1 + 0.5 * x)
        elif kind == 1:
            f = base * (1.5 - 0.6 * x)
        else:
            f = base * (1 + 0.15 * np.sin(2 * np.pi * rng.uniform(20, 40) * x * m / sr))
        env = np.sin(np.pi * x) ** 2
        return tone(m, sr, f, (1.0, 0.3), rng) * env

    song = _scatter(n, sr, rng, rng.uniform(3, 8), syllable, 0.5)
    phrase = (smooth_random(n, sr, rng, 0.5) > -0.3).astype(float)  # pauses between phrases
    return unit_rms(song * (0.3 + 0.7 * phrase))


def _voice(n, sr, rng, f0_range, syllable_hz, shout=0.0):
    f0 = rng.uniform(*f0_range) * (1 + 0.15 * smooth_random(n, sr, rng, 2.0))
    pulses = tone(n, sr, f0, tuple(1.0 / k for k in range(1, 25)), rng)
    out = np.zeros(n)
    seg = int(sr / syllable_hz)
    for start in range(0, n, seg):
        part = pulses[start : start + seg]
        vowel = np.zeros_like(part)
        for lo, hi in ((200, 900), (800, 2500), (2200, 3500)):
            fc = rng.uniform(lo, hi)
            vowel += signal.sosfilt(_sos("bandpass", (fc / 1.2, fc * 1.2), sr), part)
        env = np.sin(np.pi * np.linspace(0, 1, len(part))) ** 0.7 * (1 + shout * rng.uniform(0, 2))
        out[start : start + len(part)] = vowel * env
    pauses = (smooth_random(n, sr, rng, 1.0) > -0.5).astype(float)
    return unit_rms(fade(out * pauses, sr, 0.05, 0.05))


def people_talking(n, sr, rng):
    return _voice(n, sr, rng, (90, 230), rng.uniform(3.5, 5.5))


def children(n, sr, rng):
    return _voice(n, sr, rng, (250, 420), rng.uniform(4, 7), shout=1.0)


def people_walking(n, sr, rng):
    heel_f = rng.uniform(60, 160)
    surface = rng.uniform(800, 4000)

    def step():
        m = int(0.12 * sr)
        thud = modal_hit(m, sr, rng, [heel_f, heel_f * 2.3], [0.02, 0.01])
        scuff = burst(m, sr, rng, surface / 2, surface * 2, 0.02) * rng.uniform(0.2, 1.0)
        return unit_rms(thud) + unit_rms(scuff)

    return unit_rms(_scatter(n, sr, rng, rng.uniform(1.5, 2.3), step, 0.15, rng.uniform(0, 0.2)))


def brakes_squeaking(n, sr, rng):
    f0 = rng.uniform(1500, 5000)
    vibrato = 1 + 0.01 * np.sin(2 * np.pi * rng.uniform(4, 12) * np.arange(n) / sr)
    squeal = tone(n, sr, f0 * vibrato, (1.0, rng.uniform(0.1, 0.6), rng.uniform(0, 0.3)), rng)
    env = np.sin(np.pi * np.linspace(0, 1, n)) ** rng.uniform(0.3, 2)
    return unit_rms(fade(squeal * env, sr, 0.02, 0.02))


# ----------------------------------------------------------------------------- short, transient
def mouse_clicking(n, sr, rng):
    pattern = rng.integers(3)  # single click, double click, press and release
    f = rng.uniform(2000, 7000)

    def click(gain=1.0):
        m = int(0.01 * sr)
        return gain * (
            burst(m, sr, rng, f / 2, f * 2, 0.0015)
            + 0.3 * modal_hit(m, sr, rng, [f * 1.3], [0.002])
        )

    out = np.zeros(n)
    add_at(out, click(), 0)
    if pattern == 1:
        add_at(out, click(), int(rng.uniform(0.06, 0.12) * sr))
    elif pattern == 2:
        add_at(out, click(0.5), int(rng.uniform(0.03, 0.08) * sr))
    return unit_rms(out)


def mouse_wheeling(n, sr, rng):
    rate = rng.uniform(15, 45)
    f = rng.uniform(3000, 8000)

    def tick():
        return burst(int(0.004 * sr), sr, rng, f / 2, f * 1.5, 0.0008)

    return unit_rms(_scatter(n, sr, rng, rate, tick, 0.1))


def keyboard_typing(n, sr, rng):
    def key():
        m = int(0.06 * sr)
        body = rng.uniform(150, 900)
        kind = rng.integers(3)  # letter key, space bar, bottoming out
        thock = modal_hit(m, sr, rng, [body, body * rng.uniform(1.8, 2.6)], [0.008, 0.004])
        clack = burst(m, sr, rng, 1000, rng.uniform(3000, 8000), 0.003)
        if kind == 1:
            thock *= 2.0
        if kind == 2:
            add_at(clack, burst(m, sr, rng, 800, 5000, 0.002), int(rng.uniform(0.01, 0.03) * sr))
        return unit_rms(thock) + unit_rms(clack) * rng.uniform(0.3, 1.2)

    return unit_rms(_scatter(n, sr, rng, rng.uniform(6, 12), key, 0.5))


def object_impact(n, sr, rng):
    k = int(rng.integers(3, 7))
    freqs = rng.uniform(250, 3500, k)
    decays = rng.uniform(0.01, 0.15, k)
    hit = modal_hit(n, sr, rng, freqs, decays, rng.uniform(0.2, 1, k))
    hit += 0.5 * unit_rms(burst(n, sr, rng, 500, 6000, 0.004)) * np.max(np.abs(hit))
    pattern = rng.integers(3)  # sharp attack, soft attack, bounce
    if pattern == 1:
        attack = int(rng.uniform(0.003, 0.012) * sr)
        hit[:attack] *= np.linspace(0, 1, attack)
    elif pattern == 2:
        gap = int(rng.uniform(0.04, 0.12) * sr)
        bounced = hit.copy()
        add_at(bounced, hit * 0.5, gap)
        add_at(bounced, hit * 0.25, 2 * gap)
        hit = bounced
    return unit_rms(hit)


def object_banging(n, sr, rng):
    k = int(rng.integers(2, 5))
    hit = modal_hit(n, sr, rng, rng.uniform(70, 600, k), rng.uniform(0.05, 0.3, k))
    hit += 0.8 * unit_rms(burst(n, sr, rng, 100, 2000, 0.01)) * np.max(np.abs(hit))
    pattern = rng.integers(3)  # single bang, double bang, rattle
    out = hit.copy()
    if pattern == 1:
        add_at(out, hit * rng.uniform(0.6, 1.0), int(rng.uniform(0.1, 0.3) * sr))
    elif pattern == 2:
        for j in range(1, 5):
            add_at(out, hit * 0.5**j, int(j * rng.uniform(0.03, 0.06) * sr))
    return unit_rms(out)


def object_snapping(n, sr, rng):
    def snap():
        m = int(0.03 * sr)
        crack = burst(m, sr, rng, 1500, 12000, rng.uniform(0.0005, 0.002))
        return crack + 0.3 * modal_hit(m, sr, rng, [rng.uniform(2000, 5000)], [0.005]) * np.max(
            np.abs(crack)
        )

    if rng.integers(2):  # single snap or crackle
        out = np.zeros(n)
        add_at(out, snap(), 0)
        return unit_rms(out)
    return unit_rms(_scatter(n, sr, rng, rng.uniform(8, 25), snap, 0.8))


def object_squeaking(n, sr, rng):
    f0 = rng.uniform(500, 2500)
    x = np.linspace(0, 1, n)
    shape = rng.integers(3)  # rising, falling, wobbling
    curve = {
        0: 1 + 0.4 * x,
        1: 1.3 - 0.4 * x,
        2: 1 + 0.1 * np.sin(2 * np.pi * rng.uniform(2, 6) * x),
    }[shape]
    rough = 1 + 0.5 * np.sign(np.sin(2 * np.pi * rng.uniform(30, 90) * np.arange(n) / sr))
    squeak = tone(n, sr, f0 * curve, (1.0, 0.5, 0.3, 0.2), rng) * rough
    return unit_rms(fade(squeak * np.sin(np.pi * x) ** 0.5, sr, 0.01, 0.01))


def object_rustling(n, sr, rng):
    density = rng.uniform(10, 60)
    lo = rng.uniform(800, 3000)

    def crumple():
        return burst(int(0.02 * sr), sr, rng, lo, lo * 4, rng.uniform(0.002, 0.008)) * rng.uniform(
            0.2, 1
        )

    out = _scatter(n, sr, rng, density, crumple, 0.9)
    return unit_rms(fade(out * (0.1 + smooth_random(n, sr, rng, 3.0) ** 2), sr, 0.02, 0.02))


def breathing(n, sr, rng):
    x = np.linspace(0, 1, n)
    pattern = rng.integers(3)  # inhale, exhale, both
    env = {
        0: np.sin(np.pi * x) ** 2 * (0.5 + 0.5 * x),
        1: np.sin(np.pi * x) ** 2 * (1 - 0.5 * x),
        2: np.abs(np.sin(2 * np.pi * x)),
    }[pattern]
    air = filtered_noise(
        n, sr, rng, "bandpass", (rng.uniform(200, 500), rng.uniform(1200, 3000)), order=3
    )
    return unit_rms(air * env)


def cupboard(n, sr, rng):
    pattern = rng.integers(3)  # creak, thud, creak and thud
    out = np.zeros(n)
    if pattern in (0, 2):
        f0 = rng.uniform(150, 700) * (1 + 0.2 * smooth_random(n, sr, rng, 4))
        creak = tone(n, sr, f0, (1, 0.7, 0.5, 0.4, 0.3), rng)
        creak *= 1 + np.sign(np.sin(2 * np.pi * rng.uniform(20, 60) * np.arange(n) / sr))
        out += unit_rms(creak) * np.sin(np.pi * np.linspace(0, 1, n))
    if pattern in (1, 2):
        thud = modal_hit(n, sr, rng, rng.uniform(80, 300, 3), rng.uniform(0.03, 0.1, 3))
        start = 0 if pattern == 1 else int(n * 0.7)
        add_at(out, unit_rms(thud) * 2, start)
    return unit_rms(out)


def _clinks(n, sr, rng, f_range, decay_range, count_range):
    k = int(rng.integers(*count_range))
    out = np.zeros(n)
    for _ in range(k):
        hit = modal_hit(n, sr, rng, rng.uniform(*f_range, 4), rng.uniform(*decay_range, 4))
        add_at(out, hit * rng.uniform(0.4, 1.0), int(rng.uniform(0, 0.7) * n))
    return unit_rms(out)


def cutlery(n, sr, rng):
    return _clinks(n, sr, rng, (2000, 8000), (0.08, 0.35), (1, 5))


def dishes(n, sr, rng):
    return _clinks(n, sr, rng, (900, 4000), (0.03, 0.15), (1, 6))


def glass_jingling(n, sr, rng):
    return _clinks(n, sr, rng, (3000, 9500), (0.2, 0.6), (2, 7))


def drawer(n, sr, rng):
    pattern = rng.integers(3)  # open (slide, stop), close (slide, bang), slide only
    slide_end = int(n * rng.uniform(0.6, 0.9))
    lo = rng.uniform(200, 800)
    slide = filtered_noise(slide_end, sr, rng, "bandpass", (lo, lo * 5))
    slide *= 1 + 0.6 * np.sin(
        2 * np.pi * rng.uniform(15, 40) * np.arange(slide_end) / sr
    )  # rollers
    out = np.zeros(n)
    out[:slide_end] = unit_rms(fade(slide, sr, 0.03, 0.01))
    if pattern != 2:
        stop = modal_hit(
            n - slide_end, sr, rng, rng.uniform(100, 500, 3), rng.uniform(0.02, 0.08, 3)
        )
        out[slide_end:] += unit_rms(stop) * (3.0 if pattern == 1 else 1.5)
    return unit_rms(out)


# ----------------------------------------------------------------------------- scenes
def background(scene: str, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Scene background (room tone, ventilation, distant traffic), unit RMS."""

    def rumble(lo: float, hi: float, exponent: float = 1.0) -> np.ndarray:
        """Pink noise low-passed at a random cutoff in ``[lo, hi)`` Hz, unit RMS."""
        cutoff = _sos("lowpass", rng.uniform(lo, hi), sr)
        return unit_rms(signal.sosfilt(cutoff, pink_noise(n, rng, exponent)))

    if scene == "office":
        x = rumble(300, 900)
        x += tone(n, sr, rng.choice([50.0, 60.0]), (1, 0.5, 0.3), rng) * rng.uniform(0.05, 0.2)
    elif scene == "home":
        x = rumble(200, 700, 1.5)
        x += tone(n, sr, rng.uniform(90, 130), (1, 0.4), rng) * rng.uniform(0.0, 0.15)
    elif scene == "residential_area":
        x = rumble(150, 400) * (1 + 0.3 * smooth_random(n, sr, rng, 0.1))
    elif scene == "city_center":
        x = rumble(300, 800) * (1 + 0.4 * smooth_random(n, sr, rng, 0.2))
        x += 0.3 * unit_rms(filtered_noise(n, sr, rng, "bandpass", (1000, 6000)))
    else:
        raise ConfigError(f"unknown scene {scene!r}")
    return unit_rms(x)


#: Sound model of each class (TUT label -> model): the function named after the label,
#: ``(object) banging`` -> :func:`object_banging`.
MODELS: dict[str, Model] = {
    facts.label: globals()[re.sub(r"\W+", "_", facts.label).strip("_")] for facts in CLASS_FACTS
}

#: Event-to-background ratio range in dB (RMS over the event) per class kind.
TEXTURE_EBR_DB = (-3.0, 9.0)
TRANSIENT_EBR_DB = (0.0, 15.0)
TEXTURES = frozenset(
    {
        "fan",
        "car",
        "large vehicle",
        "wind blowing",
        "water tap running",
        "washing dishes",
        "bird singing",
        "people talking",
        "people walking",
        "children",
        "brakes squeaking",
    }
)

#: Amplitude of the unit-RMS scene background in a mix; an event at ratio r dB has RMS
#: ``BACKGROUND_LEVEL * 10 ** (r / 20)``.
BACKGROUND_LEVEL = 0.05


def ebr_range_db(label: str) -> tuple[float, float]:
    """The range (dB) from which the event-to-background ratio of an event of ``label`` is drawn.

    Raises
    ------
    ConfigError
        For a class the generator has no sound model of.

    Examples
    --------
    >>> ebr_range_db("fan"), ebr_range_db("mouse clicking")
    ((-3.0, 9.0), (0.0, 15.0))
    """
    if label not in MODELS:
        raise ConfigError(f"unknown class {label!r}; the synthetic classes are {', '.join(MODELS)}")
    return TEXTURE_EBR_DB if label in TEXTURES else TRANSIENT_EBR_DB


def event_gain(ebr_db: float) -> float:
    """The amplitude of a unit-RMS event at ``ebr_db`` above the mix's background.

    >>> round(event_gain(0.0), 6) == BACKGROUND_LEVEL
    True
    """
    return BACKGROUND_LEVEL * 10 ** (ebr_db / 20)
