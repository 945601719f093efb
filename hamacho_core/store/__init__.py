"""The results store: recorded predictions (SQLAlchemy + Alembic; SQLite in the workspace or PostgreSQL), and the
line monitor computed from them.

Public surface::

    from hamacho_core.store import ResultStore, NewResult, ResultFilter
    store = ResultStore.for_workspace(workspace)          # HAMACHO_DATABASE_URL, HAMACHO_KEEP_PICTURES
    store.add([NewResult(...)]); store.list(ResultFilter(run_id=...)); store.export(..., "parquet")

    from hamacho_core.store.monitor import monitor        # per run and day/shift: rates, intervals, drift

The engine layer: nothing here imports the API, the jobs, the CLI or the UI.
"""

from hamacho_core.store.store import (
    DATABASE_VARIABLE,
    KEEP_VARIABLE,
    RECORD_VARIABLE,
    VERDICTS,
    NewResult,
    ResultFilter,
    ResultNotFound,
    ResultStore,
    StoredResult,
    StoreError,
    default_url,
    env_flag,
    picture_sha256,
    with_time_zone,
)

__all__ = ["DATABASE_VARIABLE", "KEEP_VARIABLE", "RECORD_VARIABLE", "VERDICTS", "NewResult", "ResultFilter",
           "ResultNotFound", "ResultStore", "StoreError", "StoredResult", "default_url", "env_flag", "picture_sha256",
           "with_time_zone"]
