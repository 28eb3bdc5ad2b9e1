"""The web console: chat with the agent, review generated skills, watch runs and loops live.

Server-rendered (FastAPI + Jinja2), htmx for partial updates, Server-Sent Events for live
parts. It reads only through the APIs the CLI uses (sidecar and agent HTTP APIs, the engine's
history and event API, the inbox reader) — never a second path to the data.
"""

from __future__ import annotations

from .app import create_app
from .settings import ConsoleSettings

__all__ = ["ConsoleSettings", "create_app"]
