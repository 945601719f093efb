"""Fixtures of the unit layer: one tiny run trained through the CLI, shared by the pipeline and CLI tests."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from hamacho_core.cli import main


@pytest.fixture(scope="session")
def trained(demo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    results = tmp_path_factory.mktemp("results")
    outcome = CliRunner().invoke(main, [
        "train", "--dataset-root", str(demo_root.parent), "--category", demo_root.name, "--result-path",
        str(results), "--image-size", "128", "--batch-size", "4", "--accelerator", "cpu", "--with-mask-label"])
    assert outcome.exit_code == 0, outcome.output
    return results / demo_root.name / "patchcore", outcome.output
