"""Inbox: what skills posted to the local channel, threaded (what `loopwright inbox` reads)."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import fastapi
from starlette.responses import Response

from skills_core.capabilities.notify.inbox import InboxMessage, read_inbox

from ..context import console_of, page

router = fastapi.APIRouter()
LIMIT = 500


@dataclasses.dataclass
class Thread:
    key: str | None
    messages: list[InboxMessage]

    @property
    def first(self) -> InboxMessage:
        return self.messages[0]

    @property
    def last(self) -> InboxMessage:
        return self.messages[-1]


def _read(db: Path) -> list[InboxMessage] | None:
    return read_inbox(db, limit=100_000) if db.exists() else None


async def threads(db: Path, limit: int = LIMIT) -> list[Thread] | None:
    """Threads newest first (None: nothing was ever posted, the inbox does not exist yet)."""
    messages = await asyncio.to_thread(_read, db)
    if messages is None:
        return None
    by_key: dict[str | int, Thread] = {}
    for msg in messages[-limit:]:
        key: str | int = msg.thread_key if msg.thread_key else msg.id
        by_key.setdefault(key, Thread(msg.thread_key, [])).messages.append(msg)
    return sorted(by_key.values(), key=lambda t: t.last.id, reverse=True)


@router.get("/inbox")
async def inbox_page(request: fastapi.Request) -> Response:
    console = console_of(request)
    found = await threads(console.settings.capabilities_db)
    return page(request, "inbox.html", threads=found, db=console.settings.capabilities_db)
