"""Jobs (training, long inference) in worker processes: a queue per server, status in JSON records.

See :mod:`hamacho_core.jobs.manager` for the interface (submit, get, cancel, jobs) and
:mod:`hamacho_core.jobs.worker` for the process that runs one job; :mod:`hamacho_core.jobs.inference` for an
inference job's arguments and the function its worker runs.
"""

from hamacho_core.jobs.manager import JobManager, QueueSlot, default_workers
from hamacho_core.jobs.records import ACTIVE, FINISHED, INFERENCE, STAGE_WEIGHTS, TRAIN, Job, load_job, load_jobs

__all__ = ["ACTIVE", "FINISHED", "INFERENCE", "STAGE_WEIGHTS", "TRAIN", "Job", "JobManager", "QueueSlot",
           "default_workers", "load_job", "load_jobs"]
