"""Synthetic datasets drawn from a seed (nothing downloaded): the demo's metal parts and line-scan strips.

``parts``: turned washers with scratches, spots, cracks and missing pieces (the app's demo, ``hamacho demo DIR``).
``strips``: long knurled strips with small defects (tiling tests and the line-scan benchmark).
"""

from hamacho_core.synthetic.parts import DEFECT_TYPES, DemoSample, make_demo_dataset, render_sample, write_sample
from hamacho_core.synthetic.strips import STRIP_DEFECTS, make_strip_dataset, render_strip

__all__ = ["DEFECT_TYPES", "STRIP_DEFECTS", "DemoSample", "make_demo_dataset", "make_strip_dataset", "render_sample",
           "render_strip", "write_sample"]
