"""A sidecar API double on loopback: the documented routes over the real validator.

It keeps versions in memory, validates with ``sidecar.validation.validate_source`` and
dry-runs with ``dry_run`` — the same checks the real sidecar makes — and records every
request. A valid version is ``active`` (no approval policy here); an invalid one is
``quarantined``, as in the real sidecar. A write with an ``Idempotency-Key`` it has seen gets the first answer again.
Real-mode test runs answer like dry runs, flagged ``mode: real``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
from typing import Any

from aiohttp import web


@dataclasses.dataclass
class Version:
    version: int
    source: str
    state: str
    report: dict[str, Any]


class SidecarDouble:
    def __init__(self) -> None:
        loopback = importlib.import_module("skills_core.capabilities.loopback")
        app = web.Application()
        app.router.add_get("/v1/skills", self._list)
        app.router.add_get("/v1/skills/{id}", self._skill)
        app.router.add_get("/v1/skills/{id}/versions/{n}", self._version)
        app.router.add_post("/v1/skills/{id}/versions", self._write)
        app.router.add_post("/v1/skills/{id}/test", self._test)
        self.server = loopback.LoopbackServer(app)
        self.skills: dict[str, list[Version]] = {}
        self.requests: list[tuple[str, str, dict[str, Any]]] = []
        #: Answers by ``Idempotency-Key``: a write sent again gets the first answer.
        self.idempotent: dict[str, dict[str, Any]] = {}

    @property
    def url(self) -> str:
        return str(self.server.url)

    def __enter__(self) -> SidecarDouble:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()

    async def _list(self, request: web.Request) -> web.Response:
        self.requests.append(("GET", request.path, {}))
        skills = [
            {"id": sid, "version": v[-1].version, "state": v[-1].state}
            for sid, v in sorted(self.skills.items())
        ]
        return web.json_response({"skills": skills})

    async def _skill(self, request: web.Request) -> web.Response:
        versions = self.skills.get(request.match_info["id"])
        if not versions:
            return web.json_response({"error": "no such skill"}, status=404)
        return web.json_response(self._describe(request.match_info["id"], versions[-1]))

    async def _version(self, request: web.Request) -> web.Response:
        versions = self.skills.get(request.match_info["id"]) or []
        n = int(request.match_info["n"])
        if not 1 <= n <= len(versions):
            return web.json_response({"error": "no such version"}, status=404)
        return web.json_response(self._describe(request.match_info["id"], versions[n - 1]))

    @staticmethod
    def _describe(skill_id: str, v: Version) -> dict[str, Any]:
        return {"id": skill_id, "version": v.version, "state": v.state, "source": v.source}

    async def _write(self, request: web.Request) -> web.Response:
        body = await request.json()
        skill_id = request.match_info["id"]
        self.requests.append(("POST", request.path, body))
        key = request.headers.get("Idempotency-Key")
        if key and key in self.idempotent:
            return web.json_response(self.idempotent[key])
        validation = importlib.import_module("sidecar.validation")
        filename = skill_id.replace("-", "_") + ".py"
        report = await asyncio.get_running_loop().run_in_executor(
            None, validation.validate_source, body["source"], filename
        )
        versions = self.skills.setdefault(skill_id, [])
        state = "active" if report.ok else "quarantined"
        version = Version(len(versions) + 1, body["source"], state, report.to_dict())
        versions.append(version)
        answer = {"version": version.version, "state": state, "report": version.report}
        if key:
            self.idempotent[key] = answer
        return web.json_response(answer)

    async def _test(self, request: web.Request) -> web.Response:
        body = await request.json()
        skill_id = request.match_info["id"]
        self.requests.append(("POST", request.path, body))
        versions = self.skills.get(skill_id)
        if not versions:
            return web.json_response({"error": f"no skill {skill_id!r}"}, status=404)
        validation = importlib.import_module("sidecar.validation")
        filename = skill_id.replace("-", "_") + ".py"
        result = await asyncio.get_running_loop().run_in_executor(
            None,
            validation.dry_run,
            versions[-1].source,
            filename,
            body.get("fn_id") or skill_id,
            body.get("event"),
        )
        answer = result.model_dump(mode="json")
        answer["mode"] = body.get("mode", "dry")
        return web.json_response(answer)
