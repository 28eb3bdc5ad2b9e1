"""What can go wrong talking to an engine, as one small tree.

EngineError                 any failure; the message says what and what to do
├── EngineUnreachable       nothing answered at the configured URL
├── EngineRefused           the engine answered 4xx/5xx (``status``, its own message)
│   └── EngineNotFound      404: no such run, event or function
└── NotOffered              the configured engine (real Inngest) has no such feature
"""

from __future__ import annotations


class EngineError(Exception):
    """The engine could not do what was asked; the message says why and how to fix it."""


class EngineUnreachable(EngineError):
    pass


class EngineRefused(EngineError):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class EngineNotFound(EngineRefused):
    pass


class NotOffered(EngineError):
    """A feature the embedded engine has and real Inngest's documented REST API does not."""

    def __init__(self, feature: str, instead: str) -> None:
        super().__init__(
            f"{feature} is not offered by real Inngest's documented REST API (this platform is "
            f"configured for Inngest at that URL); {instead}"
        )
        self.feature = feature
