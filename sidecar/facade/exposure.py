"""Which attributes of a platform object skill code may read.

Skill code only ever holds plain data (dicts, lists, numbers, strings) or objects derived from
``Exposed``. The guarded getattr installed by the loader asks ``exposes(name)`` before every
attribute read on an ``Exposed`` object, so a platform object's surface is exactly its
``public`` names: private slots (the step backend, the capability backends, the recorder) are
unreachable even if RestrictedPython's underscore rule were bypassed.
"""

from __future__ import annotations

from typing import ClassVar

from .errors import GuardedAccessError, SkillViolation


class Exposed:
    """Base of every platform object handed to skill code."""

    __slots__ = ()
    public: ClassVar[frozenset[str]] = frozenset()

    def exposes(self, name: str) -> bool:
        return name in type(self).public

    def denial(self, name: str) -> SkillViolation:
        """The violation raised when skill code reads a name this object does not expose."""
        return GuardedAccessError(f"{type(self).__name__} has no attribute {name!r} for skills")

    def __repr__(self) -> str:
        # A fixed repr: never leak addresses or internals into logs the agent reads.
        return f"<{type(self).__name__}>"
