"""The ``hamacho`` command line (hamacho_core.cli): options, messages, exit status."""

import csv
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from hamacho_core.cli import main


@pytest.mark.parametrize("args,message", [
    (["train", "--dataset-root", "/nonexistent", "--category", "x"], "dataset folder not found"),
    (["train", "--dataset-root", ".", "--category", "x", "--split", "1.5"], "split"),
    (["inference", "--image-path", ".", "--config-path", "/nonexistent/config.yaml"], "no trained run"),
    (["train", "--dataset-root", ".", "--category", "x", "--tiling", "sometimes"], "--tiling"),
])
def test_errors_exit_non_zero_with_one_line(args: list[str], message: str) -> None:
    outcome = CliRunner().invoke(main, args)
    assert outcome.exit_code != 0
    assert message in outcome.output
    assert "Traceback" not in outcome.output


def test_module_entry_point_shows_help() -> None:
    result = subprocess.run([sys.executable, "-m", "hamacho_core", "train", "--help"], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0 and "--no-bad-mode" in result.stdout and "--resize" in result.stdout


def test_empty_folder_inference_warns_and_writes_an_empty_table(trained: tuple[Path, str], tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    outcome = CliRunner().invoke(main, ["inference", "--image-path", str(empty), "--config-path",
                                        str(trained[0] / "config.yaml"), "--save-path", str(tmp_path / "out")])
    assert outcome.exit_code == 0, outcome.output
    assert "no readable image" in outcome.output
    header = (tmp_path / "out/metrics/pred_outputs.csv").read_text(encoding="utf-8-sig").splitlines()
    assert header == ["filepath,output_name,raw_score,norm_score,pred,verdict,image_norm,pixel_norm"]


def test_expert_config_yaml_sets_options_and_rejects_unknown_keys(demo_root: Path, tmp_path: Path) -> None:
    expert = tmp_path / "expert.yaml"
    expert.write_text("coreset_ratio: 0.05\nimage_size: 96\nwrite_csv: false\n", encoding="utf-8")
    args = ["train", "--dataset-root", str(demo_root.parent), "--category", demo_root.name, "--result-path",
            str(tmp_path / "r"), "--accelerator", "cpu", "--config-path", str(expert)]
    outcome = CliRunner().invoke(main, args)
    assert outcome.exit_code == 0, outcome.output
    run_dir = tmp_path / "r" / demo_root.name / "patchcore"
    assert "input shape 96 x 96" in outcome.output
    assert not (run_dir / "test_predictions" / "csv").exists()
    expert.write_text("bogus: 1\n", encoding="utf-8")
    outcome = CliRunner().invoke(main, args)
    assert outcome.exit_code != 0 and "unknown keys" in outcome.output


def test_inference_from_saved_run_creates_save_path(trained: tuple[Path, str], demo_root: Path, tmp_path: Path) -> None:
    images = tmp_path / "新しい画像"
    images.mkdir()
    for source in sorted((demo_root / "bad" / "spot").glob("*.png")) + sorted((demo_root / "good").glob("*.png"))[:2]:
        (images / f"部品_{source.name}").write_bytes(source.read_bytes())
    (images / "readme.txt").write_text("not an image")
    save = tmp_path / "out" / "deeper"
    outcome = CliRunner().invoke(main, ["inference", "--image-path", str(images), "--config-path",
                                        str(trained[0] / "config.yaml"), "--save-path", str(save)])
    assert outcome.exit_code == 0, outcome.output
    rows = list(csv.DictReader((save / "metrics/pred_outputs.csv").read_text(encoding="utf-8-sig").splitlines()))
    assert len(rows) == 4 and all(Path(r["filepath"]).name.startswith("部品_") for r in rows)
    assert len(list((save / "images/combined").glob("*.png"))) == 4
    assert "readme.txt" in outcome.output  # the skipped file is reported


def test_train_prints_the_plan_before_fitting(trained: tuple[Path, str]) -> None:
    output = trained[1]
    assert "plan: " in output and "input 128 x 128" in output
    assert output.index("plan: ") < output.index("image AUROC")


def test_demo_subcommand_and_python_m_write_the_same_files(tmp_path: Path) -> None:
    args = ["--n-good", "2", "--n-bad-per-type", "1", "--size", "64", "--seed", "3"]
    outcome = CliRunner().invoke(main, ["demo", str(tmp_path / "a"), *args])
    assert outcome.exit_code == 0, outcome.output
    assert "2 good, 4 bad with masks" in outcome.output
    result = subprocess.run([sys.executable, "-m", "hamacho_core", "demo", str(tmp_path / "b"), *args],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.png"))
    assert len(files) == 2 + 4 + 4
    assert all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files)


def test_demo_rejects_a_too_small_size(tmp_path: Path) -> None:
    outcome = CliRunner().invoke(main, ["demo", str(tmp_path / "x"), "--size", "10"])
    assert outcome.exit_code != 0 and "--size" in outcome.output
