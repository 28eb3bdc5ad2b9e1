"""Helpers the pages share: gather parts without letting one part's outage blank a page."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Coroutine
from typing import Any, TypeVar

import fastapi
from fastapi.responses import RedirectResponse

from ..context import session_of
from ..parts import PartDown, Refused

T = TypeVar("T")


class Outages:
    """Which parts are down, for the page's banner; the rest of the page renders."""

    def __init__(self) -> None:
        self.messages: dict[str, str] = {}

    async def get(self, call: Awaitable[T], default: T) -> T:
        try:
            return await call
        except PartDown as err:
            self.messages[err.part] = str(err)
            return default

    async def if_up(self, up: Awaitable[bool], call: Coroutine[Any, Any, T], default: T) -> T:
        """``call`` made alongside the part's up-check (not after it, so a page waits for the
        slowest part, not for the sum); a part found down reads as ``default`` and its call is
        dropped, as if it had not been made (the page already shows the part as down)."""
        task = asyncio.ensure_future(call)
        if not await up:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            return default
        return await self.get(task, default)


def who(request: fastapi.Request) -> str:
    return f"{session_of(request).user} (console)"


def back(request: fastapi.Request, url: str, ok: str | None = None) -> RedirectResponse:
    if ok:
        session_of(request).flash.append(("ok", ok))
    return RedirectResponse(url, status_code=303)


async def attempt(
    request: fastapi.Request, call: Awaitable[Any], url: str, ok: str
) -> RedirectResponse:
    """Run a change; refused or a part down becomes an error message on the page it came from."""
    try:
        await call
    except (Refused, PartDown) as err:
        session_of(request).flash.append(("error", str(err)))
        return RedirectResponse(url, status_code=303)
    return back(request, url, ok)
