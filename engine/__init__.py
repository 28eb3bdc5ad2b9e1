"""Loopwright's embedded engine: a single-node server that speaks Inngest's protocol.

Nothing outside this package may import from it except the CLI: the rest of
Loopwright talks to it through the `inngest` SDK and HTTP, so real Inngest can
replace it by configuration alone. See docs/engine.md.
"""

from .config import EngineConfig

__all__ = ["EngineConfig"]
