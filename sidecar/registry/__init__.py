"""The skill registry: immutable versions, their lifecycle, and an audit log (on the platform store)."""

from .models import AUTHORS, AuditEntry, Author, Skill, Version
from .shadows import Shadow, ShadowFunction, ShadowStore, shadow_fn_id
from .states import ACTIVATABLE, VALID, TransitionError, VersionState
from .store import Registry, UnknownVersion

__all__ = [
    "ACTIVATABLE",
    "AUTHORS",
    "VALID",
    "AuditEntry",
    "Author",
    "Registry",
    "Shadow",
    "ShadowFunction",
    "ShadowStore",
    "Skill",
    "TransitionError",
    "UnknownVersion",
    "Version",
    "VersionState",
    "shadow_fn_id",
]
