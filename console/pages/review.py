"""Review: weekly reports, per-skill scorecards with ICIR, proposals with backtests, accept /
reject. The review loop (``review/``) is imported lazily: before it is installed or has run,
the page says what will appear and when; the outcome signals people gave are shown either way.
"""

from __future__ import annotations

import importlib
from typing import Any

import fastapi
from starlette.responses import Response

from ..context import console_of, page
from ..feedback import VERDICTS, all_feedback

router = fastapi.APIRouter()


def _review_reports() -> Any | None:
    """The review loop's report reader, when installed and it offers one."""
    for name in ("review.reports", "review"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if hasattr(module, "list_reports"):
            return module
    return None


@router.get("/review")
async def review_page(request: fastapi.Request) -> Response:
    console = console_of(request)
    reader = _review_reports()
    reports: list[dict[str, Any]] = []
    problem = None
    if reader is not None:
        try:
            reports = list(reader.list_reports())
        except Exception as err:  # the review's own store may not exist yet
            problem = f"the review loop could not list its reports: {err}"
    return page(
        request,
        "review.html",
        installed=reader is not None,
        reports=reports,
        problem=problem,
        signals=list(reversed(all_feedback(console.settings.var_dir))),
        verdicts=VERDICTS,
    )
