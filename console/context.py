"""What every page needs: the parts, the run source, sessions, templates; built once per app."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import fastapi
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from skills_core.capabilities.incidents import IncidentStore

from .auth import Session, Sessions
from .live import RunsFeed
from .parts import AgentApi, EngineApi, SidecarApi
from .render import FILTERS
from .runs_source import RunSource
from .settings import ConsoleSettings

HERE = Path(__file__).parent


@dataclasses.dataclass
class Console:
    settings: ConsoleSettings
    sessions: Sessions
    sidecar: SidecarApi
    agent: AgentApi
    engine: EngineApi
    runs: RunSource
    #: The platform store (run ledger, incidents, the review's reports and proposals).
    store: Any
    #: The platform's incident store (skills_core/capabilities/incidents), as the CLI reads it.
    incidents: IncidentStore
    feed: RunsFeed
    templates: Jinja2Templates

    async def aclose(self) -> None:
        await self.feed.aclose()
        for part in (self.sidecar, self.agent, self.engine):
            await part.aclose()
        close = getattr(self.runs, "close", None)
        if close is not None:
            close()


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.filters.update(FILTERS)
    templates.env.autoescape = True
    return templates


def console_of(request: fastapi.Request) -> Console:
    console: Console = request.app.state.console
    return console


def session_of(request: fastapi.Request) -> Session:
    session: Session = request.state.session
    return session


def page(request: fastapi.Request, template: str, status_code: int = 200, **data: Any) -> Response:
    console = console_of(request)
    session: Session | None = getattr(request.state, "session", None)
    flash = session.flash[:] if session else []
    if session:
        session.flash.clear()
    context = {"session": session, "flash": flash, "path": request.url.path, **data}
    return console.templates.TemplateResponse(request, template, context, status_code=status_code)
