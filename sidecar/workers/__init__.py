"""Worker processes that run skill code, and the sidecar-side driver of one SDK call.

See ``protocol.py`` for the conversation, ``child.py`` for the worker, ``session.py`` for the
sidecar's half and ``pool.py`` for the warm pool.
"""

from .budget import BudgetExceeded, RunBudgets, RunLimits
from .pool import PoolClosed, PoolExhausted, Release, WorkerPool
from .process import WorkerLimits, WorkerProcess
from .session import Job, Session

__all__ = [
    "BudgetExceeded",
    "Job",
    "PoolClosed",
    "PoolExhausted",
    "Release",
    "RunBudgets",
    "RunLimits",
    "Session",
    "WorkerLimits",
    "WorkerPool",
    "WorkerProcess",
]
