"""TUT metadata: parsing, bad lines, label rolls and class statistics against independent references."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sedlib.data import (
    TUT_LABELS,
    Dataset,
    MetadataError,
    available_split_names,
    class_stats,
    label_roll,
    read_meta,
    split_file,
    write_meta,
)

HEADER = "path\tscene_label\tevent_start_time\tevent_end_time\tevent_label\n"


def write(tmp_path, body: str, header: bool = True):
    path = tmp_path / "meta.txt"
    path.write_text((HEADER if header else "") + body)
    return path


def test_read_meta_columns_and_types(tmp_path):
    meta = read_meta(write(tmp_path, "a.wav\thome\t0.5\t1.25\tdishes\nb.wav\toffice\t0\t30\tfan\n"))
    assert list(meta.columns) == ["filename", "scene_label", "onset", "offset", "event_label"]
    assert meta.onset.dtype == np.float64 and meta.offset.tolist() == [1.25, 30.0]
    assert meta.attrs["source"].endswith("meta.txt")


def test_read_meta_without_header(tmp_path):
    assert len(read_meta(write(tmp_path, "a.wav\thome\t0.5\t1.25\tdishes\n", header=False))) == 1


@pytest.mark.parametrize(
    "line,match",
    [
        ("a.wav\thome\t0.5\tdishes\n", r"meta.txt:3: expected 5 tab-separated fields"),
        (
            "a.wav\thome\tsoon\t1.0\tdishes\n",
            r"meta.txt:3: event times must be numbers, got 'soon'",
        ),
        ("a.wav\thome\t2.0\t1.0\tdishes\n", r"meta.txt:3: onset 2.0 is after offset 1.0"),
        ("a.wav\thome\t-1.0\t1.0\tdishes\n", r"meta.txt:3: event times must be finite and >= 0"),
        ("a.wav\thome\tnan\t1.0\tdishes\n", r"meta.txt:3: event times must be finite"),
        ("a.wav\thome\t0.0\t1.0\tspaceship\n", r"meta.txt:3: unknown event label 'spaceship'"),
    ],
)
def test_bad_lines_name_file_and_line(tmp_path, line, match):
    path = write(tmp_path, "ok.wav\thome\t0.1\t0.2\tdishes\n" + line)
    with pytest.raises(MetadataError, match=match):
        read_meta(path, labels=TUT_LABELS)


def test_write_read_roundtrip_is_atomic(tmp_path):
    meta = pd.DataFrame(
        [("x/a.wav", "home", 0.123456, 1.5, "dishes"), ("x/b.wav", "office", 0.0, 30.0, "fan")],
        columns=["filename", "scene_label", "onset", "offset", "event_label"],
    )
    path = write_meta(meta, tmp_path / "sub" / "meta.txt")
    assert path.read_text().startswith(HEADER)
    back = read_meta(path)
    pd.testing.assert_frame_equal(back, meta, check_exact=False, atol=1e-6)
    assert [p.name for p in path.parent.iterdir()] == ["meta.txt"]  # no temporary left behind


def test_label_roll_uses_frame_centres_and_merges_overlaps():
    events = pd.DataFrame(
        {
            "onset": [0.0, 0.05, 0.07, 0.5, 0.3],
            "offset": [0.03, 0.09, 0.2, 0.5, 0.31],
            "event_label": ["a", "b", "b", "a", "a"],
        }
    )
    roll = label_roll(events, ["a", "b"], n_frames=12, hop=0.02)
    # Independent reference: frame n active when its centre lies in [onset, offset)
    expected = np.zeros((12, 2), dtype=np.uint8)
    for ev in events.itertuples():
        k = ["a", "b"].index(ev.event_label)
        for n in range(12):
            if ev.onset <= (n + 0.5) * 0.02 < ev.offset:
                expected[n, k] = 1
    np.testing.assert_array_equal(roll, expected)
    assert np.flatnonzero(roll[:, 0]).tolist() == [
        0
    ]  # 0-30 ms holds the centre at 10 ms, not 30 ms
    assert np.flatnonzero(roll[:, 1]).tolist() == list(range(2, 10))  # 50-90 and 70-200 ms merge
    with pytest.raises(ValueError, match="unknown event label"):
        label_roll(events.assign(event_label="c"), ["a", "b"], 12)


def test_class_stats_against_direct_computation(tut_meta):
    meta = read_meta(tut_meta / "meta" / "meta_development.txt", labels=TUT_LABELS)
    stats = class_stats(meta)
    assert len(meta) == 4675 and stats["n_events"].sum() == 4675
    for label in ["fan", "mouse clicking", "car"]:
        rows = meta[meta.event_label == label]
        durations = (rows.offset - rows.onset).to_numpy()
        assert stats.loc[label, "n_events"] == len(rows)
        assert stats.loc[label, "mean_duration"] == pytest.approx(durations.mean())
        assert stats.loc[label, "total_duration"] == pytest.approx(durations.sum())
        # frames: union of the class's events per file, counted at 20 ms frame centres
        frames = 0
        for _, per_file in rows.groupby("filename"):
            centres = (np.arange(int(per_file.offset.max() / 0.02) + 2) + 0.5) * 0.02
            active = np.zeros(len(centres), dtype=bool)
            for ev in per_file.itertuples():
                active |= (centres >= ev.onset) & (centres < ev.offset)
            frames += int(active.sum())
        assert stats.loc[label, "n_frames"] == frames
    # The paper's Table 1 / Fig. 2 facts: "fan" about 30 s and ~117k frames; "mouse clicking" 0.14 s
    assert stats.loc["fan", "mean_duration"] == pytest.approx(29.99, abs=0.01)
    assert abs(stats.loc["fan", "n_frames"] - 116_837) < 500
    assert stats.loc["mouse clicking", "mean_duration"] == pytest.approx(0.14, abs=0.005)


def test_split_names_and_the_real_layout(tut_meta):
    assert split_file("development") == "meta/meta_development.txt"
    assert split_file("fold4-development") == "crossvaridation/meta_fold04_development.txt"
    with pytest.raises(ValueError, match="unknown split 'fold5-development'"):
        split_file("fold5-development")
    ds = Dataset("tut", tut_meta, tut_meta)
    assert ds.splits() == available_split_names()
    dev_files = set(ds.files("development"))
    for k in range(1, 5):  # each fold re-partitions the development files
        train, test = set(ds.files(f"fold{k}-development")), set(ds.files(f"fold{k}-evaluation"))
        assert not train & test and train | test == dev_files
    assert len(ds.missing_audio("evaluation")) == 136
    with pytest.raises(
        FileNotFoundError, match=r"136 audio file\(s\) of split 'evaluation'.*missing"
    ):
        ds.check_audio("evaluation")
