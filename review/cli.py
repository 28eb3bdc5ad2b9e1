"""`loopwright feedback` and `loopwright review ...`: labels, scores, runs, reports, proposals.

Errors (unknown message, label, skill, proposal, report) print one line naming what is wrong
and exit 1.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from .errors import ReviewError, UnknownSkill

T = TypeVar("T")
review_app = typer.Typer(
    help="The weekly review: scores, proposals, reports.", no_args_is_help=True
)

CapsOption = Annotated[
    Path | None,
    typer.Option(
        "--caps-db",
        help="Capabilities database with the inbox (default $LOOPWRIGHT_CAPABILITIES_DB "
        "or var/capabilities.db).",
    ),
]
StoreOption = Annotated[
    str | None,
    typer.Option("--store", help="Platform store URL (default $LOOPWRIGHT_STORE_URL)."),
]
SidecarOption = Annotated[
    str | None,
    typer.Option("--sidecar", help="Sidecar URL (default $LOOPWRIGHT_SIDECAR_URL)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="JSON output.")]


def _fail(message: str) -> typer.Exit:
    typer.echo(f"loopwright: {message}", err=True)
    return typer.Exit(1)


def _guard(fn: Callable[[], T]) -> T:
    try:
        return fn()
    except ReviewError as err:
        raise _fail(str(err)) from None


def _store(url: str | None) -> Any:
    from loopwright.store import open_store

    store = open_store(url)
    store.ensure()
    return store


def _caps_path(path: Path | None) -> Path | str:
    from skills_core.capabilities.settings import capabilities_db

    return path or capabilities_db()


def _sidecar_url(url: str | None) -> str:
    return url or os.environ.get("LOOPWRIGHT_SIDECAR_URL", "http://127.0.0.1:8290")


def parse_time(text: str | None) -> float:
    """ISO 8601 (naive = UTC) or epoch seconds; None: now."""
    if text is None:
        return time.time()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        at = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ReviewError(
            f"--now {text!r} is not a time: use ISO 8601 (2026-11-30T06:00Z) or epoch seconds"
        ) from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=datetime.UTC)
    return at.timestamp()


def parse_window(text: str) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([dh])", text.strip())
    if not match or float(match[1]) <= 0:
        raise ReviewError(f"--window {text!r} is not a duration: use e.g. 7d or 36h")
    return float(match[1]) * (86_400 if match[2] == "d" else 3600)


def feedback_command(
    message_id: Annotated[str, typer.Argument(help="As `loopwright inbox` shows it (inbox:N).")],
    label: Annotated[str, typer.Argument(help="useful | false-alarm | missed")],
    note: Annotated[str | None, typer.Option(help="Why (kept with the label).")] = None,
    by: Annotated[str, typer.Option(help="Who labels.")] = os.environ.get("USER", "human"),
    caps_db: CapsOption = None,
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Label what a skill posted: useful, false-alarm or missed."""
    from loopwright.ledger import LedgerReader

    from .feedback import check_label, record_feedback
    from .messages import CapabilityMessages

    _guard(lambda: check_label(label))
    platform_store = _store(store)
    item = _guard(
        lambda: record_feedback(
            platform_store,
            CapabilityMessages(_caps_path(caps_db)),
            LedgerReader(platform_store),
            message_id,
            label,
            note=note,
            by=by,
            source="cli",
        )
    )
    if as_json:
        typer.echo(json.dumps(item.to_json()))
        return
    about = f"run {item.run_id}" if item.run_id else "no run recorded"
    typer.echo(
        f"{item.message_id} ({item.skill_id}, {about}, {len(item.decisions)} decision(s)): "
        f"{item.label}"
    )


@review_app.command("scores")
def scores_command(
    skill: Annotated[str | None, typer.Option(help="Only this skill.")] = None,
    now: Annotated[str | None, typer.Option(help="End of the window (default: now).")] = None,
    window: Annotated[str, typer.Option(help="Window length, e.g. 7d.")] = "7d",
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Scorecards per skill and version over the window."""
    from loopwright.ledger import LedgerReader

    from .runner import Review
    from .scorecards import scorecards

    until = _guard(lambda: parse_time(now))
    span = _guard(lambda: parse_window(window))
    platform_store = _store(store)
    ledger = LedgerReader(platform_store)
    if skill is not None and skill not in ledger.skills_seen():
        raise _fail(str(UnknownSkill(skill, ledger.skills_seen())))
    review = Review(platform_store, ledger)
    stats = review.label_stats(until - span, until)
    cards = scorecards(ledger, until - span, until, skill=skill, labels=stats)
    if as_json:
        typer.echo(json.dumps([c.to_json() for c in cards], indent=1))
        return
    from .report import render

    data = {
        "id": "scores",
        "window": {"since": until - span, "until": until, "days": span / 86_400},
        "scorecards": [c.to_json() for c in cards],
        "picks": [],
        "proposals": [],
        "actions": [],
        "notes": [],
    }
    table = render(data).split("## Picked")[0]
    typer.echo(table.replace("# Weekly review scores", "# Scores").rstrip())


@review_app.command("run")
def run_command(
    now: Annotated[str | None, typer.Option(help="End of the window (default: now).")] = None,
    window: Annotated[str, typer.Option(help="Window length, e.g. 7d.")] = "7d",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Score and propose, change nothing.")
    ] = False,
    store: StoreOption = None,
    sidecar: SidecarOption = None,
    caps_db: CapsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run a review now (the weekly function does the same every Monday)."""
    from .surfaces import build_review

    until = _guard(lambda: parse_time(now))
    span = _guard(lambda: parse_window(window))
    review = build_review(_store(store), _sidecar_url(sidecar), _caps_path(caps_db))
    typer.echo(f"reviewing {span / 86_400:g} day(s) up to {_iso(until)} ...", err=True)
    data = _guard(lambda: review.run(until, span, dry_run=dry_run))
    typer.echo(json.dumps(data, indent=1, default=str) if as_json else data["markdown"])


@review_app.command("show")
def show_command(
    report_id: Annotated[str | None, typer.Argument(help="Default: the latest.")] = None,
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """A past review's report (markdown)."""
    from .runner import report

    data = _guard(lambda: report(_store(store), report_id))
    typer.echo(json.dumps(data, indent=1, default=str) if as_json else data["markdown"])


@review_app.command("proposals")
def proposals_command(
    skill: Annotated[str | None, typer.Option(help="Only this skill.")] = None,
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Every proposal and its state."""
    from . import proposals

    items = proposals.listed(_store(store), skill_id=skill)
    if as_json:
        typer.echo(json.dumps([p.to_json() for p in items], indent=1, default=str))
        return
    if not items:
        typer.echo("no proposals yet (`loopwright review run` makes them)")
    for p in items:
        version = f" → v{p.candidate_version}" if p.candidate_version else ""
        typer.echo(
            f"{p.id}  {p.skill_id} v{p.base_version}{version}  {p.path:8} {p.state:18} {p.reason}"
        )


@review_app.command("accept")
def accept_command(
    proposal: Annotated[str, typer.Argument(help="Proposal id (or a unique prefix).")],
    by: Annotated[str, typer.Option(help="Who accepts.")] = os.environ.get("USER", "human"),
    store: StoreOption = None,
    sidecar: SidecarOption = None,
    caps_db: CapsOption = None,
) -> None:
    """Accept a proposal: approve the waiting version, or submit it now (the sidecar's
    validation and approval policy still apply)."""
    from .surfaces import build_review

    review = build_review(_store(store), _sidecar_url(sidecar), _caps_path(caps_db))
    outcome = _guard(lambda: review.accept(proposal, by, time.time()))
    typer.echo(outcome)


@review_app.command("reject")
def reject_command(
    proposal: Annotated[str, typer.Argument(help="Proposal id (or a unique prefix).")],
    reason: Annotated[str | None, typer.Option(help="Why (kept in the audit log).")] = None,
    by: Annotated[str, typer.Option(help="Who rejects.")] = os.environ.get("USER", "human"),
    store: StoreOption = None,
    sidecar: SidecarOption = None,
    caps_db: CapsOption = None,
) -> None:
    """Decline a proposal: it is never promoted (its shadow is stopped; with the sidecar away,
    by the next review)."""
    from .surfaces import build_review

    review = build_review(_store(store), _sidecar_url(sidecar), _caps_path(caps_db))
    typer.echo(_guard(lambda: review.decline(proposal, by, reason, time.time())))


def _iso(at: float) -> str:
    return datetime.datetime.fromtimestamp(at, datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")


@review_app.command("demo-history")
def demo_history_command(
    weeks: Annotated[int, typer.Option(min=1, max=12, help="Weeks of history to write.")] = 4,
    now: Annotated[str | None, typer.Option(help="Where the history ends (default: now).")] = None,
    version: Annotated[
        int | None,
        typer.Option(
            help="Health-check version the runs belong to (default: ask the sidecar for the "
            "active one; with this, the checkout's core health check decides)."
        ),
    ] = None,
    store: StoreOption = None,
    sidecar: SidecarOption = None,
    caps_db: CapsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Write weeks of SIMULATED health-check history (runs, alerts, labels) for a demo's review.

    Every run id starts with demo-history- and belongs to the app loopwright-demo-history;
    writing twice changes nothing. Then `loopwright review run --dry-run` has something to say.
    """
    from skills_core.capabilities.store import CapabilityStore

    from . import demo_history as demo
    from .platform import SidecarPlatform
    from .tuning import Classifier

    until = _guard(lambda: parse_time(now))
    if version is None:
        active = _guard(lambda: SidecarPlatform(_sidecar_url(sidecar)).active_source(demo.SKILL))
        version, source = active.version, active.source
    else:
        source = (Path(__file__).parents[1] / "skills_core/skills/health_check.py").read_text()
    platform_store = _store(store)
    caps = CapabilityStore(_caps_path(caps_db))
    try:
        history = demo.History(
            platform_store, caps, Classifier(source, "health_check.py"), version=version
        )
        start = demo.aligned_start(until, weeks)
        typer.echo(
            f"writing {weeks} week(s) of SIMULATED {demo.SKILL} v{version} history "
            f"({_iso(start)} to {_iso(until)}) ...",
            err=True,
        )
        counts = demo.seed(history, start, weeks)
    finally:
        caps.close()
    if as_json:
        typer.echo(json.dumps({**counts, "skill": demo.SKILL, "version": version}))
        return
    typer.echo(
        f"{counts['runs']} simulated runs of {demo.SKILL} v{version}: "
        f"{counts['false_alarms']} alerts labelled false-alarm, "
        f"{counts['incidents']} labelled useful (true incidents).\n"
        "Next: loopwright review run --dry-run"
    )
