"""The procedural, duration-imbalanced default data set (see :func:`generate`)."""

from sedlib.data.synthetic.generate import PRESETS, default_root, generate

__all__ = ["PRESETS", "default_root", "generate"]
