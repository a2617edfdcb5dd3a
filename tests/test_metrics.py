"""sedlib.metrics against sed_eval, the reference implementation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import LABELS, random_event_lists, sed_eval_segment_metrics

from sedlib.events import frames_to_events
from sedlib.metrics import segment_based_metrics


def _close(a: float, b: float) -> bool:
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("time_resolution", [1.0, 2.0])
@pytest.mark.parametrize("use_durations", [True, False])
def test_identical_to_sed_eval(seed, time_resolution, use_durations):
    ref, est, durations = random_event_lists(seed)
    if not use_durations:
        durations = None
        # without durations, files come from the event lists only
    ours = segment_based_metrics(
        ref, est, LABELS, time_resolution=time_resolution, file_durations=durations
    )
    theirs = sed_eval_segment_metrics(ref, est, LABELS, time_resolution, durations)

    overall = theirs.results_overall_metrics()
    assert _close(ours.micro_f, overall["f_measure"]["f_measure"])
    assert _close(ours.micro_precision, overall["f_measure"]["precision"])
    assert _close(ours.micro_recall, overall["f_measure"]["recall"])
    assert _close(ours.micro_er, overall["error_rate"]["error_rate"])
    assert _close(ours.substitution_rate, overall["error_rate"]["substitution_rate"])
    assert _close(ours.deletion_rate, overall["error_rate"]["deletion_rate"])
    assert _close(ours.insertion_rate, overall["error_rate"]["insertion_rate"])

    class_wise = theirs.results_class_wise_metrics()
    for label in LABELS:
        row, counts = ours.per_class.loc[label], theirs.class_wise[label]
        assert (
            row.n_ref == counts["Nref"]
            and row.n_sys == counts["Nsys"]
            and row.n_tp == counts["Ntp"]
        )
        assert row.n_fp == counts["Nfp"] and row.n_fn == counts["Nfn"]
        assert _close(row.f, class_wise[label]["f_measure"]["f_measure"])
        assert _close(row.precision, class_wise[label]["f_measure"]["precision"])
        assert _close(row.recall, class_wise[label]["f_measure"]["recall"])
        if counts["Nref"] > 0:
            assert _close(row.er, class_wise[label]["error_rate"]["error_rate"])
        else:  # sed_eval divides by eps here; sedlib reports undefined
            assert math.isnan(row.er)

    # Macro F over all labels with undefined counted as 0 (the paper's Table 4 convention).
    sed_eval_f = [class_wise[lbl]["f_measure"]["f_measure"] for lbl in LABELS]
    assert _close(ours.macro_f, float(np.mean(np.nan_to_num(sed_eval_f, nan=0.0))))
    defined_er = [
        class_wise[lbl]["error_rate"]["error_rate"]
        for lbl in LABELS
        if theirs.class_wise[lbl]["Nref"] > 0
    ]
    assert _close(ours.macro_er, float(np.mean(defined_er)))
    # The never-estimated and never-present classes exist, so the averages really differ.
    assert math.isnan(ours.per_class.loc[LABELS[-1]].f) and math.isnan(
        ours.per_class.loc[LABELS[-2]].f
    )
    assert ours.macro_f < theirs.results_class_wise_average_metrics()["f_measure"]["f_measure"]


def test_durations_count_silence_after_last_event():
    ref = pd.DataFrame(
        [("a", 0.0, 1.5, "dog")], columns=["filename", "onset", "offset", "event_label"]
    )
    est = pd.DataFrame([("a", 0.0, 1.5, "dog"), ("a", 7.2, 8.0, "dog")], columns=ref.columns)
    short = segment_based_metrics(ref, est.iloc[:1], ["dog"])
    full = segment_based_metrics(ref, est, ["dog"], file_durations={"a": 10.0})
    assert short.n_segments == 2 and full.n_segments == 10
    assert full.per_class.loc["dog", "n_fp"] == 1  # 7.2-8.0 s lies in segment 7 only
    assert full.micro_precision == pytest.approx(2 / 3)
    assert short.micro_precision == 1.0


def test_files_without_events_are_evaluated_with_durations():
    ref = pd.DataFrame(
        [("a", 0.0, 1.0, "dog")], columns=["filename", "onset", "offset", "event_label"]
    )
    est = pd.DataFrame([("a", 0.0, 1.0, "dog"), ("b", 0.0, 3.0, "dog")], columns=ref.columns)
    m = segment_based_metrics(ref, est, ["dog"], file_durations={"a": 1.0, "b": 5.0, "c": 5.0})
    assert m.n_files == 3 and m.n_segments == 11
    assert m.per_class.loc["dog", "n_fp"] == 3


def test_macro_f_counts_undefined_as_zero():
    ref = pd.DataFrame(
        [("a", 0.0, 2.0, "dog")], columns=["filename", "onset", "offset", "event_label"]
    )
    m = segment_based_metrics(ref, ref, ["dog", "cat", "bird", "fan"], file_durations={"a": 4.0})
    assert m.per_class.loc["dog", "f"] == 1.0
    assert m.per_class[["f"]].isna().sum().item() == 3
    assert m.macro_f == 0.25
    assert m.micro_f == 1.0 and m.micro_er == 0.0
    d = m.to_dict()
    assert d["per_class"]["cat"]["f"] is None and d["macro_f"] == 0.25


def _events(rows):
    return pd.DataFrame(rows, columns=["filename", "onset", "offset", "event_label"])


@pytest.mark.parametrize(
    "ref,kwargs,match",
    [
        (_events([("a", 0.0, 1.0, "owl")]), {}, "unknown event label.*'owl'"),
        (_events([("a", 2.0, 1.0, "dog")]), {}, "onset after offset.*onset=2.0"),
        (_events([("a", -0.5, 1.0, "dog")]), {}, "invalid time.*-0.5"),
        (_events([("a", float("nan"), 1.0, "dog")]), {}, "invalid time.*nan"),
        (
            _events([("a", 0.0, 1.0, "dog")]),
            {"file_durations": {"b": 3.0}},
            r"missing from file_durations: \['a'\]",
        ),
        (
            _events([("a", 0.0, 1.0, "dog")]),
            {"file_durations": {"a": float("inf")}},
            r"file_durations\['a'\] = inf is not a valid duration",
        ),
        (_events([("a", 0.0, 1.0, "dog")]), {"time_resolution": 0}, "time_resolution"),
        (
            pd.DataFrame({"filename": ["a"], "onset": [0.0]}),
            {},
            r"lacks column\(s\) \['offset', 'event_label'\]",
        ),
    ],
)
def test_bad_events_are_named(ref, kwargs, match):
    with pytest.raises(ValueError, match=match):
        segment_based_metrics(ref, _events([]), ["dog"], **kwargs)


@pytest.mark.parametrize("r", [1.0, 0.5])
def test_events_past_the_file_end_are_cut_as_sed_eval_cuts_them(r, caplog):
    """The TUT evaluation metadata has events ending at 10.000023 s in 10 s files."""
    labels = ["dog", "cat"]
    ref = _events(
        [
            ("a", 9.2, 10.000023, "dog"),  # the real case: 23 µs past the end, cut silently
            ("a", 1.0, 2.0, "cat"),
            ("b", 3.0, 14.0, "cat"),  # 4 s past the end: cut, with a warning
            ("b", 12.0, 13.0, "dog"),  # wholly after the end: no segment
        ]
    )
    est = _events([("a", 9.0, 10.0, "dog"), ("b", 4.0, 10.0, "cat"), ("b", 0.0, 1.0, "dog")])
    durations = {"a": 10.0, "b": 10.0}
    with caplog.at_level("WARNING", logger="sedlib.metrics"):
        ours = segment_based_metrics(ref, est, labels, time_resolution=r, file_durations=durations)
    expected = sed_eval_segment_metrics(ref, est, labels, r, durations)
    overall = expected.overall_f_measure()
    assert ours.micro_f == pytest.approx(overall["f_measure"])
    assert ours.micro_er == pytest.approx(expected.overall_error_rate()["error_rate"])
    assert ours.n_segments == int(20 / r)
    warnings = [rec.getMessage() for rec in caplog.records]
    assert len(warnings) == 1 and "2 event(s) end after their file" in warnings[0]
    assert "overshoot 4.000 s" in warnings[0] and "'b'" in warnings[0]


def test_memory_grows_with_events_not_with_audio_length():
    """A 30,000-year file with two events costs what any other file costs."""
    import time

    ref = _events([("long", 1e9, 1e9 + 2.5, "dog"), ("short", 0.0, 3.0, "dog")])
    est = _events([("long", 1e9 + 1.0, 1e9 + 5.0, "dog")])
    start = time.perf_counter()
    m = segment_based_metrics(ref, est, ["dog"], file_durations={"long": 1e12, "short": 10.0})
    assert time.perf_counter() - start < 1.0
    assert m.n_segments == 10**12 + 10
    # segments 1e9..1e9+2 (reference) and 1e9+1..1e9+4 (system); "short" has 3 reference segments
    row = m.per_class.loc["dog"]
    assert (row["n_ref"], row["n_sys"], row["n_tp"]) == (6, 4, 2)


def test_prepared_event_lists_score_like_frames():
    from sedlib.events import EventList

    ref, est, durations = random_event_lists(3)
    labels = LABELS
    prepared = EventList.from_frame(ref, labels, "reference")
    a = segment_based_metrics(prepared, est, labels, file_durations=durations)
    b = segment_based_metrics(ref, est, labels, file_durations=durations)
    assert a.micro_f == b.micro_f and a.per_class.equals(b.per_class)
    with pytest.raises(ValueError, match="prepared for other labels"):
        segment_based_metrics(prepared, est, labels[:-1], file_durations=durations)


def test_frames_to_events_runs_and_hop():
    probs = np.zeros((10, 2))
    probs[0:3, 0] = 0.9  # touches the start
    probs[5, 0] = 0.5  # exactly at threshold counts as active
    probs[7:10, 1] = 0.6  # touches the end
    probs[8, 1] = 0.49  # splits the run
    ev = frames_to_events(probs, ["a", "b"], threshold=0.5, hop=0.02, filename="f.wav")
    assert list(ev.itertuples(index=False, name=None)) == [
        ("f.wav", 0.0, pytest.approx(0.06), "a"),
        ("f.wav", pytest.approx(0.10), pytest.approx(0.12), "a"),
        ("f.wav", pytest.approx(0.14), pytest.approx(0.16), "b"),
        ("f.wav", pytest.approx(0.18), pytest.approx(0.20), "b"),
    ]


def test_frames_to_events_per_class_threshold_and_roundtrip():
    rng = np.random.default_rng(0)
    probs = rng.random((300, 4))
    thresholds = [0.2, 0.5, 0.7, 0.95]
    ev = frames_to_events(probs, list("abcd"), threshold=thresholds, hop=0.02, filename="x")
    rebuilt = np.zeros_like(probs, dtype=bool)
    for row in ev.itertuples():
        k = "abcd".index(row.event_label)
        rebuilt[round(row.onset / 0.02) : round(row.offset / 0.02), k] = True
    np.testing.assert_array_equal(rebuilt, probs >= np.array(thresholds))
    # metrics of an event list against itself are perfect
    m = segment_based_metrics(ev, ev, list("abcd"), file_durations={"x": 6.0})
    assert m.micro_f == 1.0 and m.macro_f == 1.0


@pytest.mark.parametrize(
    "probs,kwargs,match",
    [
        (np.full((3, 2), np.nan), {}, "non-finite value at frame 0, class 'a'"),
        (np.array([[0.1, 1.2]]), {}, r"class 'b' has 1.2"),
        (np.zeros((3, 3)), {}, r"\(frames, 2 classes\)"),
        (np.zeros((3, 2)), {"threshold": [0.5, 0.5, 0.5]}, "one value per class"),
        (np.zeros((3, 2)), {"threshold": 1.5}, r"threshold must lie in \[0, 1\]"),
    ],
)
def test_frames_to_events_bad_input(probs, kwargs, match):
    with pytest.raises(ValueError, match=match):
        frames_to_events(probs, ["a", "b"], **kwargs)
