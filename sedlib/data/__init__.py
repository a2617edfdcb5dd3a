"""Data sets in one on-disk layout: metadata, audio, statistics, and the feature cache."""

from sedlib.data.layout import TUT_LABELS, Dataset, available_split_names, split_file
from sedlib.data.meta import MetadataError, class_stats, label_roll, read_meta, write_meta

__all__ = [
    "TUT_LABELS",
    "Dataset",
    "MetadataError",
    "available_split_names",
    "class_stats",
    "label_roll",
    "read_meta",
    "split_file",
    "write_meta",
]
