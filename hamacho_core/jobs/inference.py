"""An inference as a job: the arguments a worker process needs, and the function it runs.

The app's Inference page submits long inferences (a folder of hundreds of pictures, a server folder, the Ray
cluster) to the :class:`~hamacho_core.jobs.JobManager` as jobs of kind ``"inference"``; the worker process calls
:func:`run_inference_job`. The page runs the same function in its own process for a handful of pictures.

Its folder is ``<project>/inference/<name>/`` (uploaded pictures in ``input/``). The results are written into
``output.partial/`` and renamed to ``output/`` only when complete, so a cancelled, failed or killed job never
leaves a half-written ``output/`` (:func:`discard_partial` drops the rest).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

from hamacho_core.atomic import atomic_write_text
from hamacho_core.errors import ConfigError, DataError
from hamacho_core.progress import ProgressCallback

__all__ = ["OUTPUT", "PARTIAL", "PROBLEMS_FILE", "InferenceJobConfig", "InferenceJobResult", "discard_partial",
           "run_inference_job"]

OUTPUT, PARTIAL = "output", "output.partial"
PROBLEMS_FILE = "problems.json"  # the pictures left out, [{"path", "reason"}], beside output/


@dataclass
class InferenceJobConfig:
    """What one inference job runs.

    ``run``: the trained run folder (its config.yaml); ``source``: an image file or a folder (searched recursively);
    ``folder``: the inference folder (the job's key), results in ``folder/output``; ``address``: a Ray cluster
    (``HOST:PORT``) to score on with :func:`hamacho_core.scale.score` instead of in the worker itself.
    """

    run: str
    source: str
    folder: str
    write_csv: bool = False
    engine: str = "torch"  # "torch" | "onnx" | "openvino" (ignored on a cluster)
    address: str | None = None
    record: bool = False  # record the results in the workspace's results store (hamacho_core.store)

    def validate(self) -> None:
        if not (Path(self.run) / "config.yaml").is_file():
            raise ConfigError(f"no trained run in {self.run}: pick a run that finished training")
        if (Path(self.folder) / OUTPUT).exists():
            raise ConfigError(f"{self.folder} already holds results: start the inference in a new folder")


@dataclass
class InferenceJobResult:
    """What an inference job wrote: ``n_pictures`` rows in ``output``, ``n_defect`` above the run's threshold."""

    output: Path
    n_pictures: int
    n_defect: int
    problems: list[dict[str, str]] = field(default_factory=list)  # {"path", "reason"} of the pictures left out
    warnings: list[str] = field(default_factory=list)

    @property
    def metrics(self) -> dict[str, int]:
        """The counts a job record keeps."""
        return {"n_pictures": self.n_pictures, "n_defect": self.n_defect, "n_problems": len(self.problems)}


def discard_partial(folder: str | Path) -> None:
    """Remove the half-written results of a stopped inference (``output.partial``); the inputs stay."""
    shutil.rmtree(Path(folder) / PARTIAL, ignore_errors=True)


def run_inference_job(config: InferenceJobConfig, progress: ProgressCallback | None = None) -> InferenceJobResult:
    """Run one inference and publish its results as ``folder/output`` (renamed whole from ``output.partial``).

    Raises:
        DataError: no readable picture in ``source``. ConfigError / ModelFileError: no usable run.
        ClusterUnreachableError: ``address`` does not answer. Cancelled: ``progress`` asked to stop.
    """
    config.validate()
    folder = Path(config.folder)
    partial, output = folder / PARTIAL, folder / OUTPUT
    discard_partial(folder)
    try:
        result = _score(config, partial, progress) if config.address else _infer(config, partial, progress)
        os.replace(partial, output)  # one rename: readers see no results or all of them
    except BaseException:
        discard_partial(folder)
        raise
    result.output = output
    if config.record:
        result.warnings += _record(config, output)
    atomic_write_text(folder / PROBLEMS_FILE, json.dumps(result.problems, ensure_ascii=False))
    return result


def _record(config: InferenceJobConfig, output: Path) -> list[str]:
    """Record the results in the run's workspace store; a store that cannot be written is a warning, not a failure."""
    from hamacho_core.errors import HamachoError
    from hamacho_core.store import ResultStore
    from hamacho_core.store.record import record_table, workspace_of

    workspace = workspace_of(config.run)
    if workspace is None:
        return [f"results not recorded: the run {config.run} is not inside the app's workspace"]
    try:
        store = ResultStore.for_workspace(workspace)
        try:
            record_table(store, config.run, output, "app")
        finally:
            store.close()
    except HamachoError as error:
        return [f"the results were scored but not recorded: {error}"]
    return []


def _infer(config: InferenceJobConfig, partial: Path, progress: ProgressCallback | None) -> InferenceJobResult:
    from hamacho_core.pipeline import infer

    result = infer(config.run, config.source, save_path=partial, write_csv=config.write_csv, keep_maps=False,
                   progress=progress, engine=config.engine)
    if not result.rows:  # the CLI carries on with an empty table; as a job it is an error to show
        raise DataError(result.warnings[0] if result.warnings else f"no readable image in {config.source}")
    return InferenceJobResult(partial, len(result.rows), sum(int(row["pred"]) for row in result.rows),
                              [asdict(p) for p in result.problems], list(result.warnings))


def _score(config: InferenceJobConfig, partial: Path, progress: ProgressCallback | None) -> InferenceJobResult:
    import pandas as pd

    from hamacho_core.scale import ScoreConfig, score

    found = score(ScoreConfig(Path(config.run) / "config.yaml", config.source, partial, engine="ray",
                              address=config.address), progress)
    frame = pd.read_csv(partial / "pred_outputs.csv", encoding="utf-8-sig", usecols=["pred"])
    return InferenceJobResult(partial, found.n_pictures, int(frame["pred"].fillna(0).sum()),
                              [{"path": "", "reason": f"{found.n_problems} picture(s) could not be used"}]
                              if found.n_problems else [], list(found.warnings))
