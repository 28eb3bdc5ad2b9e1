"""One engine client for the whole platform (sidecar, agent, CLI); see ``client.py``."""

from .client import TERMINAL, EngineClient, SyncResult
from .errors import EngineError, EngineNotFound, EngineRefused, EngineUnreachable, NotOffered
from .target import EngineKind, EngineTarget, TargetError

__all__ = [
    "TERMINAL",
    "EngineClient",
    "EngineError",
    "EngineKind",
    "EngineNotFound",
    "EngineRefused",
    "EngineTarget",
    "EngineUnreachable",
    "NotOffered",
    "SyncResult",
    "TargetError",
]
