"""Review: the weekly reports, per-skill scorecards with ICIR and a chart over the weeks,
proposals with their backtest results to accept or reject, and the outcome signals people
gave. Read and changed through review/'s public functions, as the `loopwright review` CLI
does; before the first weekly run the page says what will appear, and when."""

from __future__ import annotations

import asyncio
from typing import Annotated

import fastapi
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from ..context import console_of, page, session_of
from ..feedback import VERDICTS, all_feedback
from ..parts import NotFound
from ..review_reads import ACTIONABLE, accept, read_review, reject
from ._common import back, who

router = fastapi.APIRouter()


def _review_installed() -> bool:
    try:
        import review.runner  # noqa: F401
    except ImportError:
        return False
    return True


@router.get("/review")
async def review_page(request: fastapi.Request, report: str | None = None) -> Response:
    console = console_of(request)
    installed = _review_installed()
    view = None
    if installed:
        from review import ReviewError

        try:
            view = await asyncio.to_thread(read_review, console.store, report)
        except ReviewError as err:  # an unknown report id
            raise NotFound(str(err)) from None
    signals = await asyncio.to_thread(all_feedback, console.settings.var_dir)
    return page(
        request,
        "review.html",
        installed=installed,
        view=view,
        actionable=ACTIONABLE,
        signals=list(reversed(signals)),
        verdicts=VERDICTS,
    )


Reason = Annotated[str, fastapi.Form()]


@router.post("/review/proposals/{proposal_id}/accept")
async def accept_proposal(request: fastapi.Request, proposal_id: str) -> Response:
    from review import ReviewError

    console = console_of(request)
    settings = console.settings
    try:
        outcome = await asyncio.to_thread(
            accept, console.store, settings.sidecar_url, settings.capabilities_db,
            proposal_id, who(request),
        )  # fmt: skip
    except ReviewError as err:
        session_of(request).flash.append(("error", f"Not accepted: {err}"))
        return RedirectResponse("/review", status_code=303)
    return back(request, "/review", outcome)


@router.post("/review/proposals/{proposal_id}/reject")
async def reject_proposal(
    request: fastapi.Request, proposal_id: str, reason: Reason = ""
) -> Response:
    from review import ReviewError

    console = console_of(request)
    try:
        outcome = await asyncio.to_thread(
            reject, console.store, proposal_id, who(request), reason.strip() or None
        )
    except ReviewError as err:
        session_of(request).flash.append(("error", f"Not rejected: {err}"))
        return RedirectResponse("/review", status_code=303)
    return back(request, "/review", outcome)
