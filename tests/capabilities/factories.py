"""Small builders shared by the capability tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, TypeVar

from skills_core.capabilities import CapabilitySettings, Grant


class SupportsClose(Protocol):
    def close(self) -> None: ...


_C = TypeVar("_C", bound=SupportsClose)


class Closing(Protocol):
    """Registers a service to be closed when the test ends; returns it."""

    def __call__(self, service: _C, /) -> _C: ...


def make_settings(tmp_path: Path, **fields: Any) -> CapabilitySettings:
    return CapabilitySettings(db_path=tmp_path / "capabilities.db", **fields)


def grant(**capabilities: Any) -> Grant:
    """A grant for skill ``test-skill`` from a manifest-shaped ``capabilities`` dict."""
    return Grant.from_manifest("test-skill", capabilities)
