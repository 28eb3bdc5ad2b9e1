"""The sidecar's HTTP API (loopback): what the console, the agent and the CLI use.

Each route turns a request into one ``Sidecar`` call and its result into JSON; errors map to
status codes: 404 unknown skill or version, 409 a change the current state refuses, 400 bad
input, 413 a body over the cap, 504 a submitted version still being processed. Every error
body is ``{"error": {"code", "message", "fix"?}}`` (``loopwright/http_errors.py``,
docs/errors.md).

    GET  /metrics                            Prometheus metrics (sidecar/metrics.py)
    GET  /v1/status
    GET  /v1/skills                          GET  /v1/skills/{id}
    GET  /v1/skills/{id}/versions/{n}        GET  /v1/skills/{id}/diff?from=&to=
    POST /v1/skills/{id}/versions {source, author, reason}
    POST /v1/skills/{id}/approve|reject|rollback|pause|resume
    POST /v1/skills/{id}/test {fn_id, event, mode}
    POST /v1/validate {source, filename}
    POST /v1/rescan                          (read every file again, wait until processed)
    GET  /v1/shadows                         GET  /v1/shadows/{proposal_id}  (with its effects)
    POST /v1/shadows {skill_id, proposal_id, source, by}   (422 + report: invalid candidate)
    DELETE /v1/shadows/{proposal_id}?reason=
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import fastapi
import pydantic
from fastapi.responses import PlainTextResponse

from loopwright.http_errors import error_response, map_error
from loopwright.http_errors import install as install_error_shape

from .lifecycle import NotFound, Outcome, Refused
from .metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from .registry import TransitionError
from .service import Pending, Sidecar
from .shadowing import InvalidCandidate

#: Versions are SQLite integers; a larger number can name no version (and must not 500).
VersionNumber = Annotated[int, pydantic.Field(ge=0, le=2**31 - 1)]
Name = Annotated[str, pydantic.Field(max_length=200)]


class VersionIn(pydantic.BaseModel):
    source: str
    author: Literal["agent", "human", "review"] = "agent"
    reason: Annotated[str, pydantic.Field(max_length=2000)] = ""


class Decision(pydantic.BaseModel):
    version: VersionNumber | None = None
    by: Name = "human"
    reason: Annotated[str, pydantic.Field(max_length=2000)] | None = None


class RollbackIn(pydantic.BaseModel):
    version: VersionNumber
    by: Name = "human"


class Actor(pydantic.BaseModel):
    by: Name = "human"


class TestIn(pydantic.BaseModel):
    fn_id: Name
    event: dict[str, Any] | None = None
    mode: Literal["dry", "real"] = "dry"
    timeout: float = pydantic.Field(default=30.0, gt=0, le=300)


class ValidateIn(pydantic.BaseModel):
    source: str
    filename: Name


class ShadowIn(pydantic.BaseModel):
    skill_id: Name
    proposal_id: Name
    source: str
    by: Name = "review"


def create_api(sidecar: Sidecar) -> fastapi.FastAPI:
    api = fastapi.FastAPI(
        title="Loopwright sidecar", docs_url="/v1/docs", openapi_url="/v1/openapi.json"
    )
    install_error_shape(api)
    map_error(api, NotFound, 404)
    map_error(api, Refused, 409, "refused")
    map_error(api, TransitionError, 409, "refused")
    map_error(api, Pending, 504, "pending")
    map_error(api, ValueError, 400)

    async def invalid_candidate(_: fastapi.Request, exc: Exception) -> fastapi.Response:
        assert isinstance(exc, InvalidCandidate)
        fix = "fix the findings in `report` and propose the candidate again"
        return error_response(422, str(exc), code="invalid-candidate", fix=fix, report=exc.report)

    api.add_exception_handler(InvalidCandidate, invalid_candidate)

    @api.get("/metrics", include_in_schema=False)
    def metrics() -> fastapi.Response:
        return fastapi.Response(sidecar.metrics.render(), media_type=METRICS_CONTENT_TYPE)

    @api.get("/v1/status")
    def status() -> dict[str, Any]:
        return sidecar.status()

    @api.get("/v1/skills")
    def list_skills() -> dict[str, Any]:
        return {"data": sidecar.list_skills(), "isolation": sidecar.isolation()}

    @api.get("/v1/skills/{skill_id}")
    def show(skill_id: str) -> dict[str, Any]:
        return sidecar.show(skill_id)

    @api.get("/v1/skills/{skill_id}/versions/{number}")
    def version(
        skill_id: str, number: Annotated[int, fastapi.Path(ge=0, le=2**31 - 1)]
    ) -> dict[str, Any]:
        return sidecar.version(skill_id, number)

    @api.get("/v1/skills/{skill_id}/diff", response_class=PlainTextResponse)
    def diff(
        skill_id: str,
        start: int | None = fastapi.Query(None, alias="from", ge=0, le=2**31 - 1),
        end: int | None = fastapi.Query(None, alias="to", ge=0, le=2**31 - 1),
    ) -> str:
        return sidecar.diff(skill_id, start, end)

    @api.post("/v1/skills/{skill_id}/versions")
    async def submit(skill_id: str, body: VersionIn) -> dict[str, Any]:
        return _outcome(await sidecar.submit(skill_id, body.source, body.author, body.reason))

    @api.post("/v1/skills/{skill_id}/approve")
    async def approve(skill_id: str, body: Decision | None = None) -> dict[str, Any]:
        body = body or Decision()
        return _outcome(await sidecar.approve(skill_id, body.version, body.by))

    @api.post("/v1/skills/{skill_id}/reject")
    async def reject(skill_id: str, body: Decision | None = None) -> dict[str, Any]:
        body = body or Decision()
        return _outcome(await sidecar.reject(skill_id, body.version, body.by, body.reason))

    @api.post("/v1/skills/{skill_id}/rollback")
    async def rollback(skill_id: str, body: RollbackIn) -> dict[str, Any]:
        return _outcome(await sidecar.rollback(skill_id, body.version, body.by))

    @api.post("/v1/skills/{skill_id}/pause")
    async def pause(skill_id: str, body: Actor | None = None) -> dict[str, Any]:
        return _outcome(await sidecar.pause(skill_id, (body or Actor()).by))

    @api.post("/v1/skills/{skill_id}/resume")
    async def resume(skill_id: str, body: Actor | None = None) -> dict[str, Any]:
        return _outcome(await sidecar.resume(skill_id, (body or Actor()).by))

    @api.post("/v1/skills/{skill_id}/test")
    async def test(skill_id: str, body: TestIn) -> dict[str, Any]:
        return await sidecar.test(skill_id, body.fn_id, body.event, body.mode, body.timeout)

    @api.post("/v1/rescan")
    async def rescan() -> dict[str, Any]:
        sidecar.rescan()
        await sidecar.intake.idle()
        return {"ok": True, "skills": sidecar.list_skills()}

    @api.post("/v1/validate")
    async def validate(body: ValidateIn) -> dict[str, Any]:
        return await sidecar.validate(body.source, body.filename)

    @api.get("/v1/shadows")
    def shadows() -> dict[str, Any]:
        return {"data": sidecar.shadows.listed()}

    @api.get("/v1/shadows/{proposal_id}")
    def shadow(proposal_id: str) -> dict[str, Any]:
        return sidecar.shadows.show(proposal_id)

    @api.post("/v1/shadows")
    async def start_shadow(body: ShadowIn) -> dict[str, Any]:
        return await sidecar.shadows.start(body.skill_id, body.proposal_id, body.source, body.by)

    @api.delete("/v1/shadows/{proposal_id}")
    async def stop_shadow(
        proposal_id: str, reason: Annotated[str, fastapi.Query(max_length=500)] = "stopped"
    ) -> dict[str, Any]:
        return await sidecar.shadows.stop(proposal_id, reason)

    return api


def _outcome(outcome: Outcome) -> dict[str, Any]:
    return outcome.to_json()
