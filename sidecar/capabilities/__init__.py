"""Capability backends for skill runs, behind one seam (``CapabilityProvider``)."""

from .inbox import Inbox
from .provider import (
    CapabilityProvider,
    FakeCapabilityProvider,
    InboxNotify,
    LocalCapabilityProvider,
)

__all__ = [
    "CapabilityProvider",
    "FakeCapabilityProvider",
    "Inbox",
    "InboxNotify",
    "LocalCapabilityProvider",
]
