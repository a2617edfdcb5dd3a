"""The paper's transcribed numbers are self-consistent: Table 2 averages to Table 4."""

from __future__ import annotations

import pytest

from sedlib.data import TUT_LABELS
from sedlib.study import paper


def test_tables_cover_the_25_classes_and_4_methods():
    assert list(paper.table1().index) == list(TUT_LABELS)
    t2 = paper.table2()
    assert (
        set(t2.index.get_level_values("method"))
        == set(paper.methods())
        == set(paper.table4().index)
    )
    for method in paper.methods():
        assert list(t2.loc[method].index) == list(TUT_LABELS)


@pytest.mark.parametrize(
    "method", ["bce", "inverse_frequency", "duration_robust-g1", "duration_robust-g4"]
)
def test_table2_rows_average_to_table4_macro_f(method):
    """Macro F is the mean over all 25 classes, classes with no detection counting as 0."""
    per_class = paper.table2().loc[method, "f_percent"]
    assert per_class.mean() == pytest.approx(
        paper.table4().loc[method, "macro_f_percent"], abs=0.005
    )


def test_reported_improvements():
    t4 = paper.table4()
    gain = t4.loc["duration_robust-g4"] - t4.loc["bce"]
    assert gain["macro_f_percent"] == pytest.approx(3.15) and gain[
        "micro_f_percent"
    ] == pytest.approx(4.37)
    assert paper.table1()["fan"] == 29.99 and paper.text_facts()["fan_frames"] == 116_837


def test_only_numbers_the_paper_prints_are_its_facts():
    """192 min is the paper's (its Section 4.1); the 74 min of evaluation audio is the metadata's, not the paper's."""
    facts = paper.text_facts()
    assert facts["development_minutes"] == 192
    assert "evaluation_minutes" not in facts
