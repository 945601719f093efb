"""``hamacho`` command line: ``train`` and ``inference`` (the old tool's options and defaults), ``demo``,
``score`` (Ray), ``serve`` (the REST API) and ``threshold`` (decision tools).

Start-up: this module imports only click and light modules (:mod:`hamacho_core.choices` for the option lists);
each command imports the engine (torch, OpenCV, scikit-learn, pandas) when it runs, so ``hamacho --help``, a
subcommand's ``--help`` and a bad option answer in a fraction of a second and a run pays only for what it uses.
``tests/unit/test_startup.py`` checks that importing this module pulls in none of the heavy libraries: a new
subcommand must import its engine inside the command function too.
"""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from hamacho_core.choices import (
    ACCELERATORS,
    DATA_FORMATS,
    DETECTOR_NAMES,
    EXPORT_FORMATS,
    HOLDOUT_RANGE,
    INFERENCE_ENGINES,
    MAX_SIDE,
    MIN_SIDE,
    RESIZE_MODES,
    SCORE_ENGINES,
    SPLIT_RANGE,
    SUPERVISED_MODES,
    TASK_TYPES,
    TILING_MODES,
    bank_size_limit,
)
from hamacho_core.errors import ConfigError, HamachoError
from hamacho_core.progress import ProgressCallback
from hamacho_core.runtime import tune_allocator

if TYPE_CHECKING:
    from hamacho_core.data import Problem
    from hamacho_core.planning import TrainPlan

_ON_LINUX = platform.system().lower() == "linux"


class TqdmProgress:
    """A progress callback drawing one tqdm bar per stage."""

    def __init__(self, unit: str = "it") -> None:
        self._bar: Any = None
        self._stage = ""
        self._unit = unit

    def __call__(self, done: int, total: int, stage: str) -> None:
        from tqdm import tqdm

        if stage != self._stage or self._bar is None or total != self._bar.total:
            self.close()
            self._stage = stage
            self._bar = tqdm(total=total, desc=stage, leave=True, dynamic_ncols=True, file=sys.stderr,
                             mininterval=0.5, unit=self._unit)
        self._bar.update(done - self._bar.n)  # tqdm throttles the redraws

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _run(action: Callable[[ProgressCallback], Any], unit: str = "it") -> Any:
    progress = TqdmProgress(unit)
    try:
        return action(progress)
    except HamachoError as error:
        progress.close()
        raise click.ClickException(str(error)) from None
    except KeyboardInterrupt:
        progress.close()
        raise click.ClickException("interrupted") from None
    except Exception as error:
        progress.close()
        if os.environ.get("HAMACHO_DEBUG"):
            raise
        message = f"unexpected {type(error).__name__}: {error} (set HAMACHO_DEBUG=1 for details)"
        raise click.ClickException(message) from None
    finally:
        progress.close()


def _print_problems(problems: list[Problem]) -> None:
    if not problems:
        return
    click.echo(f"{len(problems)} file problem(s):", err=True)
    for problem in problems[:50]:
        click.echo(f"  {problem.path}: {problem.reason}", err=True)
    if len(problems) > 50:
        click.echo(f"  ... and {len(problems) - 50} more (see metrics/metrics.json)", err=True)


def _expert_config(path: str | None) -> dict[str, Any]:
    if not path:
        return {}
    from dataclasses import fields

    import yaml

    from hamacho_core.config import TrainConfig

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise click.ClickException(f"cannot read --config-path {path}: {error}") from None
    known = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise click.ClickException(f"unknown keys in {path}: {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    return data


def _check_train_paths(values: dict[str, Any]) -> None:
    """Fail on a missing dataset folder before the engine (torch) is imported: the answer comes at once."""
    if values.get("data_format", "folder") == "filelist" or not values.get("category"):
        return
    folder = Path(values.get("dataset_root", "data")) / values["category"]
    if not folder.is_dir():
        raise click.ClickException(f"dataset folder not found: {folder} (check --dataset-root and --category)")


def _check_inference_paths(image_path: str, config_path: str) -> None:
    """Fail on a missing run or image path before the engine is imported (the same messages as the engine's)."""
    given = Path(config_path)
    run_dir = given.parent if given.name == "config.yaml" or given.suffix in (".yaml", ".yml") else given
    if not (run_dir / "config.yaml").is_file():
        raise click.ClickException(f"no trained run at {config_path}: {run_dir / 'config.yaml'} not found")
    if not Path(image_path).exists():
        raise click.ClickException(f"--image-path not found: {image_path} (give an image file or a folder of images)")


class NumWorkers(click.ParamType):
    """--num-workers: Linux only (the old tool answered "No such option" elsewhere)."""

    name = "integer"

    def convert(self, value: Any, param: Any, ctx: Any) -> int:
        number = int(value)
        if number and not _ON_LINUX:
            raise click.NoSuchOption("--num-workers", "No such option: --num-workers")
        if number < 0:
            self.fail("must be 0 or more", param, ctx)
        return number


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="hamacho", message="%(version)s")
def main() -> None:
    """Hamacho: visual anomaly detection (PatchCore, PaDiM) for inspection images."""
    tune_allocator()


@main.command("train")
@click.option("--model", type=click.Choice(DETECTOR_NAMES, case_sensitive=False), default="patchcore",
              show_default=True)
@click.option("--dataset-root", default="data", show_default=True, help="Folder holding the category folder.")
@click.option("--category", default="", help="Dataset folder name below --dataset-root (required unless filelist).")
@click.option("--result-path", default="./results", show_default=True)
@click.option("--data-format", type=click.Choice(DATA_FORMATS), default="folder", show_default=True)
@click.option("--task-type", type=click.Choice(TASK_TYPES), default="segmentation",
              show_default=True)
@click.option("--with-mask-label", is_flag=True, help="Masks are used whenever present; warns if none is found.")
@click.option("--accelerator", type=click.Choice(ACCELERATORS), default="auto", show_default=True)
@click.option("--image-size", type=click.IntRange(MIN_SIDE, MAX_SIDE), default=None,
              help="Square side (old behaviour), or the long side with --resize keep-aspect. Default: automatic.")
@click.option("--resize", type=click.Choice(RESIZE_MODES), default=None,
              help="Default: square when --image-size is given, else keep-aspect.")
@click.option("--tiling", type=click.Choice(TILING_MODES), default=None,
              help="Cut images far larger than the model input into overlapping tiles. auto (default): with "
                   "keep-aspect, when the native long side is over 4x the model's; on: whenever larger than a tile.")
@click.option("--max-tiles", type=click.IntRange(1, 256), default=None,
              help="Most tiles per image when tiling (default 16): bounds the time per image.")
@click.option("--batch-size", type=click.IntRange(1, 1024), default=8, show_default=True)
@click.option("--split", type=click.FloatRange(*SPLIT_RANGE), default=0.2, show_default=True,
              help="Share of good images held out for testing.")
@click.option("--holdout-split", type=click.FloatRange(0.0, HOLDOUT_RANGE[1]), default=0.0, show_default=True,
              help=f"Share of the labelled test pictures (good and defect, stratified by type, seeded) sealed away: "
                   f"never used for the bank, head, threshold or normalization, scored at the end (0 = none; else "
                   f"{HOLDOUT_RANGE[0]}-{HOLDOUT_RANGE[1]}).")
@click.option("--num-workers", type=NumWorkers(), default=0, show_default=True, hidden=not _ON_LINUX,
              help="Extra image-decoding workers (Linux only; capped at CPU count - 2).")
@click.option("--good-file-list", default=None, help="Comma-separated good images (filelist format).")
@click.option("--bad-file-list", default=None, help="Comma-separated defect images (filelist format).")
@click.option("--mask-file-list", default=None, help="Comma-separated masks (filelist format).")
@click.option("--config-path", default=None, help="Expert YAML with any training setting (overridden by options).")
@click.option("--seed", type=int, default=420, show_default=True)
@click.option("--no-bad-mode", is_flag=True, help="Good images only: sigma6 threshold.")
@click.option("--backbone", default=None, help="timm backbone (default tf_efficientnet_lite0, works offline).")
@click.option("--backbone-weights", default=None, help="Local weights file for --backbone.")
@click.option("--coreset-ratio", type=click.FloatRange(0.0001, 1.0), default=None, help="PatchCore (default 0.1).")
@click.option("--max-bank-size", type=click.IntRange(0), default=None,
              help="PatchCore memory-bank budget in entries (default 131072; 0 = no cap).")
@click.option("--no-csv", is_flag=True, help="Skip the per-pixel CSV files.")
@click.option("--supervised", type=click.Choice(SUPERVISED_MODES), default=None,
              help="Also learn from the defect pictures (a head on the frozen features; every figure then "
                   "cross-fitted). auto (default): on from --supervised-min-defects defect pictures.")
@click.option("--supervised-min-defects", type=click.IntRange(2), default=None,
              help="Defect pictures from which --supervised auto turns the head on (default 10).")
@click.option("--learning-curve", is_flag=True, default=None,
              help="With the head: also cross-fit heads on 5, 10, 20, 50 defect pictures (would more defect pictures "
                   "help?). Costs about 4x the head's time.")
@click.pass_context
def train_command(ctx: click.Context, **options: Any) -> None:
    """Train a detector and write the report tree."""
    expert = _expert_config(options.pop("config_path"))
    given = {k: v for k, v in options.items()
             if ctx.get_parameter_source(k) != click.core.ParameterSource.DEFAULT and v is not None}
    values = {**{k: v for k, v in options.items() if v is not None}, **expert, **given}
    if values.pop("no_csv", False):
        values["write_csv"] = False
    if "max_bank_size" in values:
        values["max_bank_size"] = bank_size_limit(values["max_bank_size"])
    _check_train_paths(values)
    from dataclasses import fields

    from hamacho_core.pipeline import TrainConfig, train

    try:
        config = TrainConfig(**{k: v for k, v in values.items() if k in {f.name for f in fields(TrainConfig)}})
    except TypeError as error:
        raise click.ClickException(str(ConfigError(str(error)))) from None
    def show_plan(plan: TrainPlan) -> None:
        click.echo(plan.describe())

    result = _run(lambda progress: train(config, progress, show_plan))
    _print_problems(result.problems)
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    image, pixel, estimate = result.metrics.image, result.metrics.pixel, result.metrics.image_cross_fitted
    click.echo(f"input shape {result.input_shape[0]} x {result.input_shape[1]}: {result.input_shape_reason}")
    _print_headline(result.run_dir)
    auroc = "n/a" if image.auroc is None else f"{image.auroc:.4f}"
    line = (f"fitted on the same pictures (optimistic): image AUROC {auroc}  F1 {image.f1:.4f}  precision "
            f"{image.precision:.4f}  recall {image.recall:.4f}")
    if estimate is not None:
        line += f"  (cross-fitted F1 {estimate.f1:.4f})"
    click.echo(line)
    if pixel is not None:
        click.echo(f"pixel AUROC {pixel.auroc:.4f}  AUPRO {pixel.aupro:.4f}  F1 {pixel.f1:.4f}")
    _print_supervised(result.metrics.supervised or {})
    click.echo(f"fit {result.seconds['fit']:.1f} s, predict {result.seconds['predict']:.1f} s, "
               f"outputs {result.seconds['outputs']:.1f} s"
               + (f", supervised head {result.seconds['supervised']:.1f} s" if "supervised" in result.seconds else ""))
    click.echo(f"run saved to {result.run_dir} (config: {result.run_dir / 'config.yaml'})")


def _print_headline(run_dir: Path) -> None:
    """The honest figures at the saved threshold with 95 % intervals, and where they come from."""
    from hamacho_core.decisions import Decisions
    from hamacho_core.threshold_table import reason_sentence, span

    decisions = Decisions.for_run(run_dir)
    figures = decisions.at(float(decisions.evaluation.normalization.normalized_image_threshold))
    if figures.n_defect == 0:
        return
    parts = [f"recall {span(figures.recall, 3)}", f"precision {span(figures.precision, 3)}",
             f"false-alarm rate {span(figures.false_alarm_rate, 3)}", f"F1 {span(figures.f1, 3)}"]
    if figures.auroc is not None:
        parts.append(f"AUROC {span(figures.auroc, 3)}")
    click.echo(f"{figures.provenance} (95 %): {'  '.join(parts)}")
    click.echo(f"  {reason_sentence(decisions.reasons(figures)[0])}")


def _print_supervised(supervised: dict[str, Any]) -> None:
    """One line on the supervised head; with it, the plain detector's figures and the learning curve."""
    if not supervised.get("enabled"):
        click.echo(f"supervised head: off ({supervised.get('reason', 'not run')})")
        return
    plain = supervised.get("plain") or {}
    click.echo(f"supervised head: on ({supervised['reason']}); the figures above are cross-fitted over "
               f"{supervised['n_folds']} folds (plain detector: image AUROC {plain.get('image_auroc', 0):.4f}"
               + (f", pixel AUROC {plain['pixel_auroc']:.4f}" if "pixel_auroc" in plain else "") + ")")
    points = [f"{p['n_defect_pictures']}{' (all)' if p['is_all'] else ''}: "
              f"{'n/a' if p['image_auroc'] is None else format(p['image_auroc'], '.3f')}"
              for p in supervised.get("learning_curve", [])]
    click.echo(f"learning curve (defect pictures per head: cross-fitted image AUROC) {', '.join(points)}")


@main.command("inference")
@click.option("--image-path", required=True, help="An image file or a folder of images.")
@click.option("--config-path", required=True, help="The trained run's config.yaml.")
@click.option("--save-path", default=None, help="Output folder (created if missing). Default: <run>/inference_results")
@click.option("--batch-size", type=click.IntRange(1, 1024), default=1, show_default=True)
@click.option("--accelerator", type=click.Choice(ACCELERATORS), default="auto", show_default=True)
@click.option("--image-norm", type=float, default=None, help="Normalized image threshold (default: the run's, 0.5).")
@click.option("--pixel-norm", type=float, default=None, help="Normalized pixel threshold (default: the run's, 0.5).")
@click.option("--no-csv", is_flag=True, help="Skip the per-pixel CSV files.")
@click.option("--engine", type=click.Choice(INFERENCE_ENGINES), default="torch", show_default=True,
              help="onnx/openvino: the run's export (made in <run>/exported/ on first use, or --model-dir); CPU.")
@click.option("--model-dir", default=None, help="Folder written by hamacho export (with --engine onnx|openvino).")
def inference_command(image_path: str, config_path: str, save_path: str | None, batch_size: int, accelerator: str,
                      image_norm: float | None, pixel_norm: float | None, no_csv: bool, engine: str,
                      model_dir: str | None) -> None:
    """Run a trained run on new images."""
    _check_inference_paths(image_path, config_path)
    from hamacho_core.pipeline import infer

    result = _run(lambda progress: infer(config_path, image_path, save_path, image_norm, pixel_norm, batch_size,
                                         accelerator, not no_csv, progress, engine=engine, model_dir=model_dir))
    _print_problems(result.problems)
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    n_defect = sum(row["pred"] for row in result.rows)
    click.echo(f"{len(result.rows)} image(s): {n_defect} defect, {len(result.rows) - n_defect} good")
    click.echo(f"results in {result.save_dir} (metrics/pred_outputs.csv)")


@main.command("export")
@click.option("--config-path", required=True, help="The trained run's config.yaml.")
@click.option("--format", "export_format", type=click.Choice(EXPORT_FORMATS), default="onnx",
              show_default=True, help="onnx: model.onnx; openvino: model.xml + model.bin (OpenVINO IR).")
@click.option("--output", required=True, help="Folder to write (created if missing).")
def export_command(config_path: str, export_format: str, output: str) -> None:
    """Export a trained run to one ONNX or OpenVINO model with hamacho-model.json and a README.

    The model is checked against PyTorch on the run's own test pictures on this machine and refused when a
    normalized score moves by more than 1e-4 or a verdict changes."""
    from hamacho_core.export.exporter import export_run, read_manifest

    result = _run(lambda progress: export_run(config_path, output, export_format, progress))
    click.echo(f"exported {result.model_path} in {result.seconds:.1f} s (see {result.manifest_path} and README.md)")
    check = read_manifest(result.output_dir)["check"]
    click.echo(f"checked against PyTorch on {check['n_pictures']} {check['pictures']}: normalized scores within "
               f"{check['max_normalized_score']:.1g} (allowed {check['score_tolerance']:g}), "
               f"{check['verdicts_changed']} verdicts changed")


@main.command("demo")
@click.argument("root", type=click.Path(file_okay=False, path_type=Path))
@click.option("--seed", type=int, default=0, show_default=True, help="The same seed always gives the same files.")
@click.option("--n-good", type=click.IntRange(1), default=60, show_default=True, help="Good pictures.")
@click.option("--n-bad-per-type", type=click.IntRange(0), default=6, show_default=True,
              help="Defective pictures of each kind (scratch, spot, crack, missing_piece).")
@click.option("--size", type=click.IntRange(64), default=256, show_default=True, help="Picture side in pixels.")
def demo_command(root: Path, seed: int, n_good: int, n_bad_per_type: int, size: int) -> None:
    """Write the synthetic demo dataset (folder layout: good/, bad/<type>/, mask/<type>/) to ROOT."""
    from hamacho_core.synthetic.parts import DEFECT_TYPES, make_demo_dataset

    written = _run(lambda progress: make_demo_dataset(root, n_good, n_bad_per_type, size, seed, progress))
    n_bad = n_bad_per_type * len(DEFECT_TYPES)
    click.echo(f"Demo dataset written to {written} ({n_good} good, {n_bad} bad with masks).")


@main.command("score")
@click.option("--config-path", required=True, help="The trained run's config.yaml.")
@click.option("--input", "source", required=True,
              help="A folder (recursive), a glob pattern (quoted) or a text file listing paths, one per line; "
                   "paths every worker can read.")
@click.option("--output", required=True, help="Output folder; re-running with the same folder resumes.")
@click.option("--engine", type=click.Choice(SCORE_ENGINES), default=None,
              help="local: a Ray runtime started for this run (default without --address); ray: join a cluster.")
@click.option("--address", default=None, help="Ray cluster: auto, HOST:PORT or ray://HOST:PORT (implies --engine ray).")
@click.option("--workers", type=click.IntRange(1, 4096), default=None,
              help="Actors, each holding the model (default: local one per CPU, at most 4; cluster one per "
                   "node, or one per GPU).")
@click.option("--cpus-per-worker", type=click.FloatRange(0.1, 1024), default=None,
              help="CPUs (torch threads) per actor (default: local all CPUs / workers; cluster a whole node).")
@click.option("--batch-size", type=click.IntRange(1, 1024), default=8, show_default=True,
              help="Pictures per batch (one model call, one result part).")
@click.option("--maps", is_flag=True, help="Also write the picture tree of `hamacho inference` (by the workers).")
@click.option("--no-csv", is_flag=True, help="With --maps: skip the per-pixel CSV files.")
@click.option("--accelerator", type=click.Choice(ACCELERATORS), default="auto", show_default=True)
@click.option("--image-norm", type=float, default=None, help="Normalized image threshold (default: the run's).")
@click.option("--pixel-norm", type=float, default=None, help="Normalized pixel threshold (default: the run's).")
@click.option("--record", is_flag=True, help="Also record the results in the results store (HAMACHO_DATABASE_URL, "
              "else SQLite in the run's workspace or $HAMACHO_HOME), for GET /v1/results and the Monitor page.")
def score_command(config_path: str, source: str, output: str, engine: str | None, address: str | None,
                  workers: int | None, cpus_per_worker: float | None, batch_size: int, maps: bool, no_csv: bool,
                  accelerator: str, image_norm: float | None, pixel_norm: float | None, record: bool) -> None:
    """Score many pictures on Ray (this machine or a cluster); results in OUT/pred_outputs.parquet and .csv."""
    from hamacho_core.scale import ScoreConfig, score  # Ray itself is imported only when the run starts

    config = ScoreConfig(config_path, source, output, engine or ("ray" if address else "local"), address, workers,
                         cpus_per_worker, batch_size, maps, not no_csv, image_norm, pixel_norm, accelerator)
    result = _run(lambda progress: score(config, progress), unit="picture")
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"{result.n_pictures} picture(s): {result.n_scored} scored now, {result.n_resumed} already scored "
               f"(resumed), {result.n_problems} with a problem")
    if result.n_scored:
        click.echo(f"{result.pictures_per_second:.1f} pictures/s on {result.n_workers} worker(s), "
                   f"{len(result.node_ids)} node(s)")
    click.echo(f"results in {result.output_dir} (pred_outputs.parquet, pred_outputs.csv)")
    if record:
        _record_scores(config_path, result.output_dir)


def _record_scores(config_path: str, output: Path) -> None:
    from hamacho_core.store import ResultStore
    from hamacho_core.store.record import record_table, workspace_of
    from hamacho_core.workspace import default_workspace

    run_dir = Path(config_path).expanduser().resolve()
    run_dir = run_dir.parent if run_dir.suffix in (".yaml", ".yml") else run_dir
    store = ResultStore.for_workspace(workspace_of(run_dir) or default_workspace())
    try:
        count = record_table(store, run_dir, output, "cli")
    finally:
        store.close()
    click.echo(f"{count} result(s) recorded in {store.shown_url}")


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Any other than loopback needs HAMACHO_API_KEY.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option("--workspace", default=None, help="The app's workspace folder. Default: $HAMACHO_HOME or ./workspace.")
@click.option("--accelerator", type=click.Choice(ACCELERATORS), default="auto", show_default=True)
@click.option("--torch-threads", type=click.IntRange(1, 256), default=None,
              help="CPU threads for torch (default: torch's choice). 1 on a machine shared with other busy "
                   "processes: see docs/benchmarks.md.")
@click.option("--runs", "run_paths", multiple=True, type=click.Path(exists=True, file_okay=False),
              help="Also serve this run folder or results root (`hamacho train --result-path ROOT`); repeatable. "
                   "Ids: <category>:<model>, like the workspace's <project>:<run>.")
@click.option("--check", is_flag=True,
              help="Check the key for this address and the limits, then exit (0: they let `serve` start).")
def serve_command(host: str, port: int, workspace: str | None, accelerator: str, torch_threads: int | None,
                  run_paths: tuple[str, ...], check: bool) -> None:
    """Serve the REST API (OpenAPI docs at /docs); key from HAMACHO_API_KEY."""
    import uvicorn  # imported here: `hamacho --help` stays fast

    if torch_threads:
        import torch

        torch.set_num_threads(torch_threads)

    from hamacho_core.api import ApiLimits, ApiSettings, check_bind_address, create_app

    try:
        settings = ApiSettings.from_env(workspace)
        check_bind_address(host, settings.api_key)
        limits = ApiLimits.from_env()
        if check:
            click.echo(f"ready to serve {settings.workspace} on {host} (key "
                       f"{'set' if settings.api_key else 'not set: loopback only'}, requests up to "
                       f"{limits.max_upload_bytes:,} bytes)")
            return
        app = create_app(settings.workspace, settings.api_key, limits, cache_size=settings.cache_size,
                         accelerator=accelerator, run_paths=run_paths)
    except HamachoError as error:
        raise click.ClickException(str(error)) from None
    served = " + ".join([str(settings.workspace), *run_paths])
    click.echo(f"serving {served} on http://{host}:{port} (docs: /docs; key "
               f"{'required' if settings.api_key else 'not set: loopback only'})", err=True)
    uvicorn.run(app, host=host, port=port, log_level="info", timeout_graceful_shutdown=10)


@main.command("threshold")
@click.option("--config-path", required=True, help="The trained run's config.yaml.")
@click.option("--cost-miss", type=click.FloatRange(0), default=None, help="Cost of one missed defect.")
@click.option("--cost-false-alarm", type=click.FloatRange(0), default=None,
              help="Cost of one false alarm (re-inspection).")
@click.option("--defect-rate", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=None,
              help="Share of defective parts on the line (0.003 = 3 per 1,000 = 3,000 ppm).")
@click.option("--min-recall", type=click.FloatRange(0, 1), default=None, help="Highest threshold with recall >= R.")
@click.option("--max-false-alarm-rate", type=click.FloatRange(0, 1), default=None,
              help="Lowest threshold with false-alarm rate <= F.")
@click.option("--width", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.1, show_default=True,
              help="Interval width for 'how many defect pictures would be needed'.")
@click.option("--save", is_flag=True, help="Save the suggested threshold (and the costs) to the run.")
def threshold_command(config_path: str, cost_miss: float | None, cost_false_alarm: float | None,
                      defect_rate: float | None, min_recall: float | None, max_false_alarm_rate: float | None,
                      width: float, save: bool) -> None:
    """Intervals, per-type results and a suggested threshold from costs or a constraint (no model call)."""
    from hamacho_core.decisions import Costs
    from hamacho_core.threshold_table import advise, format_advice, save_advice

    given = [v is not None for v in (cost_miss, cost_false_alarm, defect_rate)]
    if any(given) and not all(given):
        raise click.UsageError("costs need all three: --cost-miss, --cost-false-alarm and --defect-rate")

    def action(_: ProgressCallback) -> None:
        costs = Costs(cost_miss, cost_false_alarm, defect_rate) if all(given) else None
        advice = advise(config_path, costs, min_recall, max_false_alarm_rate, width)
        click.echo(format_advice(advice, advice.decisions.evaluation.normalization.normalized_pixel_threshold))
        if save:
            click.echo(f"saved image threshold {save_advice(advice):g} to {advice.run_dir / 'config.yaml'}")

    _run(action)


@main.command("doctor")
@click.option("--data-format", type=click.Choice([f for f in DATA_FORMATS if f != "filelist"]), default="folder",
              show_default=True)
@click.option("--dataset-root", default="data", show_default=True, help="Folder holding the category folder.")
@click.option("--category", required=True, help="Dataset folder name below --dataset-root.")
@click.option("--no-features", is_flag=True, help="Only hashes, masks and statistics (no backbone: seconds).")
@click.option("--json", "json_path", default=None, help="Also write the findings to this JSON file.")
def doctor_command(data_format: str, dataset_root: str, category: str, no_features: bool,
                   json_path: str | None) -> None:
    """Problems in a dataset before training: duplicates (across good/defect, train/test), good pictures unlike
    the others, defects that score like good, empty or odd masks, odd sizes / brightness / blur."""
    import json

    from hamacho_core.doctor import DoctorConfig, examine

    def action(progress: ProgressCallback) -> None:
        report = examine(Path(dataset_root) / category, data_format, DoctorConfig(features=not no_features),
                         progress)
        getattr(progress, "close", lambda: None)()  # the bar ends before the findings are printed
        click.echo(f"{report.n_pictures} pictures examined in {report.seconds:.1f} s: "
                   f"{len(report.findings)} finding(s)")
        for finding in report.findings:
            click.echo(f"  [{finding.action}] {finding.describe()}")
        if json_path:
            Path(json_path).write_text(json.dumps(report.to_dict(), ensure_ascii=False, indent=1), encoding="utf-8")
            click.echo(f"findings written to {json_path}")

    _run(action)


if __name__ == "__main__":
    main()
