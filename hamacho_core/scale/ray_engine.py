"""Batch scoring on Ray: Ray Data feeds picture paths to a pool of actors, each holding the loaded run.

Flow: SOURCE -> paths not yet scored (resume) -> ``ray.data.from_items`` -> ``map_batches(PictureScorer)`` (actor
pool; the model is loaded once per actor, ``num_gpus`` per actor when the cluster has GPUs) -> every actor writes
each finished batch as ``OUT/parts/part-<id>.parquet`` (temporary file + rename: a part is whole or absent) ->
the driver counts finished rows for the progress callback -> ``OUT/pred_outputs.parquet`` and ``.csv`` are
assembled from the parts, one row per picture (deduplicated by path, sorted by path).

Fault tolerance is Ray's: a killed actor is restarted (``max_restarts``) and its batch retried
(``max_task_retries``); a batch that was written and then retried gives a second part that the assembly drops.
Re-running with the same OUT skips every picture that already has a row in a part.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hamacho_core.choices import SCORE_ENGINES
from hamacho_core.errors import ConfigError, DataError, HamachoError
from hamacho_core.persistence import _run_dir, read_config
from hamacho_core.progress import ProgressCallback, notify
from hamacho_core.scale.sources import resolve_source
from hamacho_core.scoring import PRED_COLUMNS, problem_row, with_thresholds
from hamacho_core.thresholds import Normalization

__all__ = ["OUTPUT_COLUMNS", "ClusterUnreachableError", "ScoreConfig", "ScoreResult", "read_parts", "score"]

OUTPUT_COLUMNS = [*PRED_COLUMNS, "defect_regions", "problem"]
PARTS_DIR = "parts"
STATE_NAME = "score.json"
MAX_LOCAL_WORKERS = 4
LOCAL_OBJECT_STORE_BYTES = 256 * 1024**2  # paths and small rows only travel through it
ACTOR_START_TIMEOUT_S = 600  # starting the actors (model loaded) may take this long before the run gives up


class ClusterUnreachableError(HamachoError):
    """The Ray cluster at --address cannot be reached."""


@dataclass
class ScoreConfig:
    """Settings of one ``hamacho score`` run (the CLI options)."""

    config_path: str | Path  # the run's config.yaml (or its folder)
    source: str | Path  # folder, glob pattern, or text file listing paths
    output: str | Path  # OUT folder: parts/, pred_outputs.parquet/.csv, the picture tree with maps
    engine: str = "local"  # "local": a Ray runtime started for the run; "ray": join the cluster at `address`
    address: str | None = None  # "auto", "HOST:PORT" or "ray://HOST:PORT" (engine "ray")
    workers: int | None = None  # actors; default local one per CPU (max 4), cluster one per node (per GPU with GPUs)
    cpus_per_worker: float | None = None  # default local: all CPUs / workers; cluster: the smallest node's CPUs
    batch_size: int = 8  # pictures per batch: one detector call and one part file
    maps: bool = False  # also write the picture tree of `hamacho inference`
    write_csv: bool = True  # with maps: the per-pixel CSV files
    image_norm: float | None = None
    pixel_norm: float | None = None
    accelerator: str = "auto"

    def validate(self) -> None:
        if self.engine not in SCORE_ENGINES:
            raise ConfigError(f"engine must be one of {', '.join(SCORE_ENGINES)}, not {self.engine!r}")
        if self.engine == "local" and self.address:
            raise ConfigError("--address is for --engine ray (the local engine starts its own Ray runtime)")
        if self.workers is not None and self.workers < 1:
            raise ConfigError("--workers must be 1 or more")
        if self.batch_size < 1:
            raise ConfigError("--batch-size must be 1 or more")


@dataclass
class ScoreResult:
    """What a scoring run did."""

    output_dir: Path
    n_pictures: int  # rows in the output (one per picture of SOURCE)
    n_scored: int  # pictures scored by this run
    n_resumed: int  # pictures found already scored in OUT and skipped
    n_problems: int  # rows with a problem
    seconds: float  # wall time of the scoring stage (Ray start included)
    n_workers: int = 0
    node_ids: list[str] = field(default_factory=list)  # nodes that scored a batch of this run
    warnings: list[str] = field(default_factory=list)

    @property
    def pictures_per_second(self) -> float:
        return self.n_scored / self.seconds if self.seconds > 0 else 0.0


# ----------------------------------------------------------------------------------------------- the actor
class PictureScorer:
    """Ray Data actor: loads the run once, then scores batches of paths and writes each batch as a part."""

    settings: dict[str, Any] = {}  # set on a subclass by ``scorer_class`` (no constructor arguments to keep)

    def __init__(self) -> None:
        import ray
        import torch

        from hamacho_core.persistence import load_run

        settings = self.settings
        torch.set_num_threads(max(1, settings["n_threads"]))
        self.run_ = load_run(settings["config_path"], settings["accelerator"])
        self.run_.detector.config.batch_size = settings["batch_size"]
        self.run_.normalization = with_thresholds(self.run_.normalization, settings["image_norm"],
                                                  settings["pixel_norm"], strict=False)[0]
        self.output_ = Path(settings["output"])
        self.maps_, self.write_csv_ = settings["maps"], settings["write_csv"]
        self.node_id_ = ray.get_runtime_context().get_node_id()

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Score ``batch`` ({"filepath": (B,), "output_name": (B,)}); returns the rows' path, node and problem."""
        from hamacho_core.scoring import score_pictures

        paths, names = [str(p) for p in batch["filepath"]], [str(n) for n in batch["output_name"]]
        rows = score_pictures(self.run_, paths, names, self.output_ if self.maps_ else None, self.write_csv_)
        frame = _frame([r.as_row() for r in rows])
        batch_id = uuid.uuid4().hex
        frame["node_id"], frame["worker_pid"], frame["batch_id"] = self.node_id_, os.getpid(), batch_id
        write_part(self.output_ / PARTS_DIR / f"part-{batch_id}.parquet", frame)
        return {"filepath": np.array(paths), "node_id": np.array([self.node_id_] * len(paths)),
                "problem": frame["problem"].to_numpy(dtype=str)}


def scorer_class(settings: dict[str, Any]) -> type[PictureScorer]:
    """A PictureScorer subclass carrying ``settings`` (shipped with the class: Ray warns that actors restarted
    with constructor arguments in the object store may fail to restart if those arguments are lost)."""
    return type("PictureScorer", (PictureScorer,), {"settings": dict(settings)})


# ----------------------------------------------------------------------------------------------- parts
def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=OUTPUT_COLUMNS)
    frame["pred"] = frame["pred"].astype("Int64")
    for column in ("raw_score", "norm_score", "image_norm", "pixel_norm"):
        frame[column] = frame[column].astype("float64")
    return frame


def write_part(path: Path, frame: pd.DataFrame) -> None:
    """Write a part atomically (temporary name, then rename): readers see it whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    frame.to_parquet(temporary, index=False)
    os.replace(temporary, path)


def read_parts(output: str | Path) -> pd.DataFrame:
    """Every row written to ``OUT/parts`` so far (duplicates included), with node_id/worker_pid/batch_id."""
    parts = sorted((Path(output) / PARTS_DIR).glob("part-*.parquet"), key=lambda p: (p.stat().st_mtime, p.name))
    frames = [pd.read_parquet(p) for p in parts]
    if not frames:
        return _frame([]).assign(node_id=pd.Series(dtype=str), worker_pid=pd.Series(dtype="int64"),
                                 batch_id=pd.Series(dtype=str))
    return pd.concat(frames, ignore_index=True)


def _write_outputs(output: Path, parts: pd.DataFrame, wanted: list[str]) -> pd.DataFrame:
    """One row per picture of SOURCE (first part wins), sorted by path, as Parquet and CSV (atomic renames)."""
    table = parts.drop_duplicates("filepath", keep="first")
    table = table[table["filepath"].isin(set(wanted))].sort_values("filepath", kind="stable")
    table = table[OUTPUT_COLUMNS].reset_index(drop=True)
    for name, write in (("pred_outputs.parquet", lambda p: table.to_parquet(p, index=False)),
                        ("pred_outputs.csv", lambda p: table.to_csv(p, index=False, encoding="utf-8-sig"))):
        temporary = output / f".{name}.tmp"
        write(temporary)
        os.replace(temporary, output / name)
    return table


def _check_state(output: Path, state: dict[str, Any]) -> None:
    """OUT may only be resumed with the same run and thresholds; records them on first use."""
    path = output / STATE_NAME
    if path.exists():
        previous = json.loads(path.read_text(encoding="utf-8"))
        if previous != state:
            raise ConfigError(f"{output} holds results of another run or thresholds ({previous}); use a new "
                              "--output, or delete that folder to score again")
        return
    from hamacho_core.atomic import dump_json

    dump_json(path, state)


# ----------------------------------------------------------------------------------------------- Ray runtime
def _check_reachable(address: str, timeout: float = 3.0) -> None:
    """Fail fast with a clear message when HOST:PORT does not answer (ray.init would retry for a minute)."""
    if address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout):
            return
    except (OSError, ValueError) as error:
        raise ClusterUnreachableError(
            f"cannot reach the Ray cluster at {address} ({error}): start it with `ray start --head` "
            "(see docs/scaling.md), check --address (HOST:PORT, ray://HOST:PORT or auto) and the firewall") from None


def _quiet_ray() -> None:
    """No Ray banners or progress bars on the terminal: the CLI draws its own bar."""
    if not os.environ.get("HAMACHO_DEBUG"):  # Ray's C++ core logs its warnings on the driver's stderr
        os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")
    for name in ("ray", "ray.data", "ray._private", "ray.data._internal"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="ray")


def local_workers() -> int:
    """Default actors of the local engine: one per CPU, at most MAX_LOCAL_WORKERS (each holds a model, ~1 GB).

    One actor holding all CPUs scored at half the rate on 2 cores (docs/benchmarks.md, 5,000 pictures): Ray Data's
    reads and the batch writes then wait on its batches. One actor per core kept the cores busy.
    """
    return max(1, min(os.cpu_count() or 1, MAX_LOCAL_WORKERS))


def _start_ray(config: ScoreConfig) -> tuple[Any, bool]:
    """Start (local) or join (ray) a Ray runtime; returns the ray module and whether we own the runtime."""
    _quiet_ray()
    import ray

    if ray.is_initialized():
        return ray, False
    if config.engine == "local":
        workers = config.workers or local_workers()
        cpus = max(1, int(round(workers * (config.cpus_per_worker or max(1, (os.cpu_count() or 1) // workers)))))
        ray.init(address="local", num_cpus=cpus, include_dashboard=False, log_to_driver=False,
                 logging_level=logging.ERROR, object_store_memory=LOCAL_OBJECT_STORE_BYTES,
                 configure_logging=True)
        return ray, True
    address = config.address or "auto"
    _check_reachable(address)
    try:
        ray.init(address=address, log_to_driver=False, logging_level=logging.ERROR, configure_logging=True)
    except ImportError as error:  # ray:// is Ray Client, an extra (ray[client])
        raise ClusterUnreachableError(f"{address}: {error} (install ray[client], or give the head's HOST:PORT)"
                                      ) from None
    except (ConnectionError, RuntimeError, TimeoutError) as error:
        raise ClusterUnreachableError(f"cannot join the Ray cluster at {address}: {error} (check --address; "
                                      "see docs/scaling.md)") from None
    return ray, True


def _plan_workers(ray: Any, config: ScoreConfig) -> tuple[int, float, float]:
    """(actors, CPUs per actor, GPUs per actor) from the options and the cluster's resources."""
    resources = ray.cluster_resources()
    gpus = int(resources.get("GPU", 0))
    nodes = [n for n in ray.nodes() if n.get("Alive")]
    node_cpus = [n["Resources"].get("CPU", 0) for n in nodes if n["Resources"].get("CPU", 0) > 0] or [1]
    if config.engine == "local":
        workers = config.workers or local_workers()
        cpus = config.cpus_per_worker or max(1.0, resources.get("CPU", 1) // workers)
    else:
        workers = config.workers or (gpus if gpus else len(node_cpus))
        cpus = config.cpus_per_worker or (1.0 if gpus else float(min(node_cpus)))
    gpus_each = 1.0 if gpus >= workers and gpus else (gpus / workers if gpus else 0.0)
    available = resources.get("CPU", 0)
    if workers * cpus > available + 1e-9:
        raise ConfigError(f"{workers} worker(s) x {cpus:g} CPU(s) is more than the cluster's {available:g} CPUs: "
                          "lower --workers or --cpus-per-worker")
    return workers, float(cpus), gpus_each


def _run_pipeline(ray: Any, config: ScoreConfig, todo: list[dict[str, str]], output: Path,
                  progress: ProgressCallback | None) -> tuple[int, set[str]]:
    """Score ``todo`` on the actor pool; returns (pictures scored, node ids seen)."""
    import ray.data

    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.enable_operator_progress_bars = False
    context.print_on_execution_start = False
    context.enable_auto_log_stats = False
    context.wait_for_min_actors_s = ACTOR_START_TIMEOUT_S  # every actor loads the model before the first batch
    workers, cpus, gpus = _plan_workers(ray, config)
    dataset = ray.data.from_items(todo, override_num_blocks=max(1, min(len(todo), workers * 4)))
    scored = dataset.map_batches(
        scorer_class({
            "config_path": str(Path(config.config_path).resolve()), "output": str(output.resolve()),
            "accelerator": config.accelerator, "image_norm": config.image_norm, "pixel_norm": config.pixel_norm,
            "batch_size": config.batch_size, "maps": config.maps, "write_csv": config.write_csv,
            "n_threads": int(cpus)}),
        batch_size=config.batch_size, batch_format="numpy", concurrency=workers, num_cpus=cpus,
        num_gpus=gpus or None)  # Ray Data's actor pool defaults: max_restarts=-1, max_task_retries=-1
    done, nodes = 0, set()
    notify(progress, 0, len(todo), "scoring")
    try:
        for batch in _batches(scored):
            done += len(batch["filepath"])
            nodes.update(str(n) for n in batch["node_id"])
            notify(progress, min(done, len(todo)), len(todo), "scoring")
    except ray.exceptions.GetTimeoutError:
        raise HamachoError(f"the {workers} Ray worker(s) did not start within {ACTOR_START_TIMEOUT_S} s: check that "
                           "the cluster has the CPUs/GPUs asked for and that every node can import hamacho") from None
    return done, nodes


def _batches(dataset: Any) -> Iterator[dict[str, np.ndarray]]:
    yield from dataset.iter_batches(batch_size=None, batch_format="numpy")


# ----------------------------------------------------------------------------------------------- entry point
def score(config: ScoreConfig, progress: ProgressCallback | None = None) -> ScoreResult:
    """Score every picture of ``config.source`` with the run, on a local Ray runtime or a cluster.

    Raises:
        DataError: SOURCE not found. ModelFileError: run missing or damaged. ConfigError: bad option, or OUT holds
        another run's results. ClusterUnreachableError: --address does not answer.
    """
    config.validate()
    run_config = read_config(config.config_path)  # fails early on a missing/damaged run, before Ray starts
    normalization, warnings_ = with_thresholds(Normalization.from_dict(run_config["normalization"]), config.image_norm,
                                               config.pixel_norm, strict=False)
    source = resolve_source(config.source)
    output = Path(config.output)
    output.mkdir(parents=True, exist_ok=True)
    _check_state(output, {"run": str(_run_dir(config.config_path).resolve()),
                          "image_norm": normalization.normalized_image_threshold,
                          "pixel_norm": normalization.normalized_pixel_threshold})
    if source.problems:
        rows = [problem_row(p.path, Path(p.path).name, p.reason, normalization).as_row() for p in source.problems]
        write_part(output / PARTS_DIR / "part-source.parquet",
                   _frame(rows).assign(node_id="driver", worker_pid=os.getpid(), batch_id="source"))
    done_paths = set(read_parts(output)["filepath"])
    todo = [{"filepath": p, "output_name": n} for p, n in zip(source.paths, source.names, strict=True)
            if p not in done_paths]
    wanted = source.paths + [p.path for p in source.problems]
    if not wanted:
        raise DataError(f"no picture in {config.source}")
    started, n_scored, nodes, workers = time.perf_counter(), 0, set(), 0
    if todo:
        ray, owned = _start_ray(config)
        try:
            workers = _plan_workers(ray, config)[0]
            n_scored, nodes = _run_pipeline(ray, config, todo, output, progress)
        finally:
            if owned:
                ray.shutdown()
    seconds = time.perf_counter() - started
    notify(progress, 1, 1, "writing outputs")
    table = _write_outputs(output, read_parts(output), wanted)
    return ScoreResult(output, len(table), n_scored, len(source.paths) - len(todo),
                       int((table["problem"] != "").sum()), seconds, workers, sorted(nodes), warnings_)
