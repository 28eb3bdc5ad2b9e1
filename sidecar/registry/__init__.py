"""The skill registry: immutable versions, their lifecycle, and an audit log (on the platform store)."""

from .models import AUTHORS, AuditEntry, Author, Skill, Version
from .states import ACTIVATABLE, VALID, TransitionError, VersionState
from .store import Registry, UnknownVersion

__all__ = [
    "ACTIVATABLE",
    "AUTHORS",
    "VALID",
    "AuditEntry",
    "Author",
    "Registry",
    "Skill",
    "TransitionError",
    "UnknownVersion",
    "Version",
    "VersionState",
]
