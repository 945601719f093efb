"""Batch scoring beyond one process: ``hamacho score`` on a local Ray runtime or a Ray cluster.

Ray is imported only when a run starts (``hamacho --help`` and the app's other pages never load it).
"""

from hamacho_core.scale.ray_engine import OUTPUT_COLUMNS, ClusterUnreachableError, ScoreConfig, ScoreResult, score
from hamacho_core.scale.sources import Source, resolve_source

__all__ = ["OUTPUT_COLUMNS", "ClusterUnreachableError", "ScoreConfig", "ScoreResult", "Source", "resolve_source",
           "score"]
