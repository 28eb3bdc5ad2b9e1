"""HTTP routes for the console: feedback, scores, reports, proposals (mounted by the sidecar).

POST /v1/feedback {message_id, label, note?, by?}   -> the stored label (404 unknown message,
                                                       400 unknown label)
GET  /v1/review/scores?skill=&window_days=
GET  /v1/review/reports                 GET /v1/review/reports/{id}  (id "latest" works)
GET  /v1/review/proposals?skill=
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import fastapi
import pydantic

from . import proposals
from .errors import ReviewError, UnknownLabel
from .runner import Review, report, reports
from .scorecards import scorecards


class FeedbackIn(pydantic.BaseModel):
    message_id: str
    label: str
    note: str | None = None
    by: str = "human"


def feedback_router(build: Callable[[], Review], messages: Callable[[], Any]) -> fastapi.APIRouter:
    """``build`` gives a Review on the platform store; ``messages`` a MessageSource."""
    router = fastapi.APIRouter()

    def guarded(fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except UnknownLabel as err:
            raise fastapi.HTTPException(400, str(err)) from None
        except ReviewError as err:
            raise fastapi.HTTPException(404, str(err)) from None

    @router.post("/v1/feedback")
    def post_feedback(body: FeedbackIn) -> dict[str, Any]:
        from .feedback import record_feedback

        review = build()
        item = guarded(
            lambda: record_feedback(
                review.store,
                messages(),
                review.ledger,
                body.message_id,
                body.label,
                note=body.note,
                by=body.by,
                source="http",
            )
        )
        return dict(item.to_json())

    @router.get("/v1/review/scores")
    def get_scores(skill: str | None = None, window_days: float = 7.0) -> dict[str, Any]:
        review = build()
        until = time.time()
        since = until - window_days * 86_400
        stats = review.label_stats(since, until)
        cards = scorecards(review.ledger, since, until, skill=skill, labels=stats)
        return {"data": [c.to_json() for c in cards]}

    @router.get("/v1/review/reports")
    def get_reports() -> dict[str, Any]:
        return {"data": reports(build().store)}

    @router.get("/v1/review/reports/{report_id}")
    def get_report(report_id: str) -> dict[str, Any]:
        store = build().store
        return dict(guarded(lambda: report(store, None if report_id == "latest" else report_id)))

    @router.get("/v1/review/proposals")
    def get_proposals(skill: str | None = None) -> dict[str, Any]:
        items = proposals.listed(build().store, skill_id=skill)
        return {"data": [p.to_json() for p in items]}

    return router
