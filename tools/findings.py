"""Print the findings of chapters 04-06 from the result sets, with the book's own tables.

``python tools/findings.py [--results DIR]`` writes Markdown: the paper
grid's gaps to BCE on every rung (chapter 04 and the glance), the pattern on
each rung and the attribution's verdicts (chapter 05), and the γ sweep's
means per rung (chapter 06). The rows are the tables the chapters show
(:mod:`sedlib.report.attribution`, :func:`sedlib.report.tables.method_table`),
under the book's one statistics rule. An issue's closing note compares this
output before and after a change of results (run it in a checkout of each).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sedlib import book  # noqa: E402


def markdown(frame: pd.DataFrame) -> str:
    """A data frame as a Markdown table (its index left out)."""
    rows = [[str(v) for v in row] for row in frame.itertuples(index=False)]
    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * frame.shape[1]]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=None, help="default: the data root's")
    root = parser.parse_args().results
    ladder, sweeps = book.load_ladder("paper", root), book.load_ladder("gamma", root)
    print("## Chapter 04 and the glance: gaps to BCE\n")
    print(markdown(book.attribution.gaps_table(book.ladder_gaps(ladder))))
    print("\n## Chapter 05: the paper's pattern on each rung\n")
    print(markdown(book.attribution.pattern_table(book.patterns(ladder))))
    print("\n## Chapter 05: what each arm does to a gap\n")
    print(markdown(book.attribution.verdict_table(book.cause_findings(root))))
    print("\n## Chapter 06: the γ sweep, mean over seeds\n")
    for result, table in book.sweep_sources(sweeps, ladder):
        methods = sorted(table["method"].unique())
        print(f"*{book.rung_label(result)}*\n")
        means = book.tables.method_table(table, methods, {"macro_f": "macro F"})
        print(markdown(means.rename_axis("method").reset_index()) + "\n")


if __name__ == "__main__":
    main()
