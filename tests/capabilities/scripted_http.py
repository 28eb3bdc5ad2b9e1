"""A loopback HTTP server answering from a script: outages, timeouts and odd answers on demand."""

from __future__ import annotations

import asyncio
import collections
import dataclasses

from aiohttp import web

from skills_core.capabilities.loopback import LoopbackServer


@dataclasses.dataclass(frozen=True)
class Canned:
    status: int = 200
    body: str | bytes = ""
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    content_type: str = "text/plain"
    delay_s: float = 0.0


class ScriptedHttp(LoopbackServer):
    """Every request takes the next ``Canned`` for its path (or ``default``)."""

    def __init__(self, default: Canned | None = None) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._answer)
        super().__init__(app)
        self.default = default or Canned()
        self.scripts: dict[str, collections.deque[Canned]] = collections.defaultdict(
            collections.deque
        )
        self.paths: list[str] = []

    def script(self, path: str, *answers: Canned) -> None:
        self.scripts[path].extend(answers)

    async def _answer(self, request: web.Request) -> web.Response:
        self.paths.append(request.path)
        queue = self.scripts.get(request.path)
        canned = queue.popleft() if queue else self.default
        if canned.delay_s:
            await asyncio.sleep(canned.delay_s)
        body = canned.body.encode() if isinstance(canned.body, str) else canned.body
        return web.Response(
            status=canned.status,
            body=body,
            headers={"Content-Type": canned.content_type, **canned.headers},
        )
