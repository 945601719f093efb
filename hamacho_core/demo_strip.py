"""Old import path of :mod:`hamacho_core.synthetic.strips` (line-scan strips), kept for existing scripts."""

from hamacho_core.synthetic.strips import STRIP_DEFECTS, make_strip_dataset, render_strip

__all__ = ["STRIP_DEFECTS", "make_strip_dataset", "render_strip"]
