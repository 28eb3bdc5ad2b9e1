"""What the review page shows, read through review/'s public functions (the ones
`loopwright review show / scores / proposals / accept / reject` use): the reports, each
skill's scorecard and its ICIR over the weeks, the proposals with their backtests."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from pathlib import Path
from typing import Any

from .sparkline import Point, sparkline

#: Reports drawn in the ICIR-over-weeks chart (a quarter of weekly reviews).
WEEKS = 12
ACTIONABLE = ("shadowing", "awaiting-approval")


@dataclasses.dataclass(frozen=True)
class SkillTrend:
    card: dict[str, Any]  # the latest report's scorecard of the skill
    chart: Any  # Markup: ICIR per report, oldest first
    points: list[Point]


@dataclasses.dataclass(frozen=True)
class ReviewView:
    reports: list[dict[str, Any]]  # newest first: id, state, window_start/end, created_at
    shown: dict[str, Any] | None  # the report on screen (the latest done one by default)
    trends: list[SkillTrend]
    proposals: list[Any]  # review.proposals.Proposal, newest first
    schedule: str


def _week(at: float) -> str:
    return dt.datetime.fromtimestamp(at, dt.UTC).strftime("%Y-%m-%d")


def _main_card(cards: list[dict[str, Any]], skill_id: str) -> dict[str, Any] | None:
    """The skill's card with the most runs (a skill may have several versions in a window)."""
    mine = [c for c in cards if c.get("skill_id") == skill_id]
    return max(mine, key=lambda c: c.get("runs") or 0) if mine else None


def read_review(store: Any, report_id: str | None = None) -> ReviewView:
    from review import proposals
    from review.runner import report, reports
    from review.weekly import schedule

    listed = reports(store, limit=WEEKS)
    done = [r for r in listed if r.get("state") == "done"]
    datas = [report(store, r["id"]) for r in reversed(done)]  # oldest first
    shown = report(store, report_id) if report_id else (datas[-1] if datas else None)
    trends = []
    cards: list[dict[str, Any]] = (shown or {}).get("scorecards") or []
    for card in cards:
        if _main_card(cards, card["skill_id"]) is not card:
            continue
        points = []
        for data in datas:
            past = _main_card(data.get("scorecards") or [], card["skill_id"])
            icir = past.get("icir") if past is not None else None
            points.append(Point(_week(data["window"]["until"]), icir))
        chart = sparkline(points, f"ICIR of {card['skill_id']} per weekly report")
        trends.append(SkillTrend(card=card, chart=chart, points=points))
    items = sorted(proposals.listed(store), key=lambda p: p.created_at, reverse=True)
    try:
        when = schedule()
    except ValueError as err:
        when = str(err)
    return ReviewView(listed, shown, trends, items, when)


def accept(store: Any, sidecar_url: str, caps_path: Path, proposal_id: str, by: str) -> str:
    """As `loopwright review accept`: approve the waiting version or submit the shadowing one
    (the sidecar's validation and approval policy still apply)."""
    from review.surfaces import build_review

    return str(build_review(store, sidecar_url, caps_path).accept(proposal_id, by, time.time()))


def reject(store: Any, proposal_id: str, by: str, reason: str | None) -> str:
    """As `loopwright review reject`: the proposal is never promoted."""
    from loopwright.ledger import LedgerReader
    from review.runner import Review

    review = Review(store, LedgerReader(store))
    return str(review.decline(proposal_id, by, reason, time.time()))
