"""``python -m hamacho_core.demo DIR``: the demo dataset, as ``hamacho demo DIR`` (a command-line entry point, kept
for the Dockerfile and scripts that call it; the generator lives in :mod:`hamacho_core.synthetic`)."""

from __future__ import annotations

import sys

__all__ = ["main"]


def main(argv: list[str] | None = None) -> None:
    """Command line: ``python -m hamacho_core.demo DIR [--seed N] ...`` = ``hamacho demo DIR ...`` (exits)."""
    from hamacho_core.cli import main as cli

    cli.main(["demo", *(sys.argv[1:] if argv is None else argv)], prog_name="python -m hamacho_core.demo")


if __name__ == "__main__":
    main()
