"""``python -m hamacho_core.demo DIR``: the demo dataset (kept for the Makefile, the Dockerfile and old scripts).

The generator lives in :mod:`hamacho_core.synthetic`; ``hamacho demo DIR`` is the same command.
"""

from __future__ import annotations

import sys

from hamacho_core.synthetic.parts import DEFECT_TYPES, DemoSample, make_demo_dataset, render_sample, write_sample

__all__ = ["DEFECT_TYPES", "DemoSample", "main", "make_demo_dataset", "render_sample", "write_sample"]


def main(argv: list[str] | None = None) -> None:
    """Command line: ``python -m hamacho_core.demo DIR [--seed N] ...`` = ``hamacho demo DIR ...`` (exits)."""
    from hamacho_core.cli import main as cli

    cli.main(["demo", *(sys.argv[1:] if argv is None else argv)], prog_name="python -m hamacho_core.demo")


if __name__ == "__main__":
    main()
