"""Tables the chapters show, built from records and result sets (no numbers typed in by hand)."""

from __future__ import annotations

from dataclasses import fields

import pandas as pd

from sedlib.study.summary import format_mean_ci, method_name, short_name, with_method
from sedlib.training.config import TrainConfig
from sedlib.training.record import RunRecord


def _defaults() -> dict:
    return {f.name: (f.default_factory() if callable(f.default_factory) else f.default) for f in fields(TrainConfig)}


def training_choices() -> pd.DataFrame:
    """What the paper fixes, what it leaves open, and what this study chose (from ``TrainConfig``).

    The "this study" column is read from :class:`~sedlib.training.TrainConfig`'s
    defaults, so the table cannot disagree with what a run does.
    """
    d = _defaults()
    rows = [
        ("features", "64 log-mel bands, 40 ms window, 20 ms hop", "the same", "fixed by the paper"),
        ("training clips", "10 s", "10 s (500 frames)", "fixed by the paper"),
        ("model", "CRNN of Table 3", "the same; batch norm, ReLU, dropout 0.3", "what Table 3 omits follows the DCASE 2018 task 4 baseline it names"),
        ("threshold, segments", "0.5, 1 s segments", f"{d['threshold']}, {d['time_resolution']:g} s", "fixed by the paper"),
        ("protocol", "not stated; 192 min of development data", f"`{d['protocol']}`: 4-fold cross-validation on the development set, scored over the pooled test folds", "the paper's Table 1 and its 192 min are the development metadata, which ships with these 4 folds"),
        ("optimizer, learning rate", "not given", f"Adam, {d['lr']:g}", "the DCASE 2018 task 4 baseline"),
        ("batch size", "not given", f"{d['batch_size']} clips", "about 40 updates per epoch at the paper's size; the committed CPU runs used it too"),
        ("epochs, early stopping", "not given", f"at most {d['epochs']}, stop after {d['patience']} epochs without a better validation score", "enough to converge at the paper's size"),
        ("model selection", "not given", "the epoch with the best validation macro F (ties: lower validation loss)", "macro F is the paper's headline metric; never chosen on test files"),
        ("validation files", "not given", f"{d['val_fraction']:.0%} of each scene's training files, fixed seed", "the same files for every loss and seed"),
        ("output bias", "not given", "log-odds of each class's frame frequency (Lin et al., 2017)", "without it the first hundreds of updates only learn that most frames are inactive"),
        ("loss reduction", "written as sums over frames and classes", "mean over the valid frames and all classes", "only rescales the gradient; Adam is invariant to that scale"),
        ("E2's N_m", "\"frames of event m\": per clip or per training set", f"`{d['class_frames']}`: frames of the class in the training set", "under it the paper's Table 2 shows \"fan\" falling to 0; per clip is an option"),
        ("precision", "not given", "float32 on CPU; bfloat16 autocast on CUDA" if d["amp"] else "float32", "the GPU's fast path; CPU results stay float32"),
        ("seeds", "10 per loss", "10 per method in the grids; fewer on CPU rungs, stated with each result", "the paper's count where a GPU allows it"),
    ]
    return pd.DataFrame(rows, columns=["setting", "the paper", "this study", "why"]).set_index("setting")


def run_summary(record: RunRecord) -> pd.DataFrame:
    """F-score and error rate of one run at 0.5 and at thresholds tuned on validation."""
    ev, tuned = record.evaluation, record.tuned.get("evaluation", {})
    rows = {
        "F-score, threshold 0.5": (ev["macro_f"], ev["micro_f"]),
        "error rate, threshold 0.5": (ev["macro_er"], ev["micro_er"]),
        "F-score, thresholds tuned on validation": (tuned.get("macro_f"), tuned.get("micro_f")),
        "error rate, thresholds tuned on validation": (tuned.get("macro_er"), tuned.get("micro_er")),
    }
    return pd.DataFrame(rows, index=["macro", "micro"]).T.astype(float)


def per_class_table(record: RunRecord, durations: pd.Series) -> pd.DataFrame:
    """Per-class metrics of a run at its threshold beside each class's mean event duration."""
    table = record.per_class.assign(mean_duration_s=durations)
    columns = ["mean_duration_s", "f", "precision", "recall", "er", "n_ref", "n_sys"]
    table = table.sort_values("mean_duration_s")[columns]
    return table.astype({"f": float, "precision": float, "recall": float, "er": float})


def method_table(table: pd.DataFrame, methods, columns: dict[str, str]) -> pd.DataFrame:
    """Mean ± 95% CI over seeds (percent) of some columns, one row per method present."""
    table = with_method(table)
    rows = {}
    for method in methods:
        runs = table[table["method"] == method]
        if runs.empty:
            continue
        rows[short_name(method)] = {label: format_mean_ci(runs[col]) for col, label in columns.items()}
        rows[short_name(method)]["seeds"] = int(runs["seed"].nunique())
    return pd.DataFrame(rows).T


def method_legend(methods) -> str:
    """``**BCE** = binary cross-entropy (E1); ...`` for the methods shown."""
    return "; ".join(f"**{short_name(m)}** = {method_name(m)}" for m in methods) + "."
