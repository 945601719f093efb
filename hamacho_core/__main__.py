"""``python -m hamacho_core`` runs the ``hamacho`` command line."""

from hamacho_core.cli import main

main(prog_name="hamacho")
