"""Outcome labels on what skills posted: useful, false-alarm, missed.

A label is stored with the message's run id and the decision records of that run, so the
backtest knows which decisions (subject and time) a person judged. One label per message and
person; a new label replaces the old one (people change their minds).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import sqlalchemy as sa

from loopwright.ledger import LedgerReader
from loopwright.store import Store, upsert

from . import tables
from .errors import UnknownLabel
from .messages import MessageSource

LABELS = ("useful", "false-alarm", "missed")
SOURCES = ("cli", "http", "slack")
#: How far after a run started its decision records may be stamped.
RUN_SPAN_S = 3600.0


@dataclasses.dataclass(frozen=True)
class Feedback:
    message_id: str
    by: str
    label: str
    note: str | None
    source: str
    skill_id: str
    run_id: str | None
    skill_version: int | None
    decisions: list[dict[str, Any]]
    message_at: float
    at: float

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def check_label(label: str) -> str:
    if label not in LABELS:
        raise UnknownLabel(label, LABELS)
    return label


def run_decisions(
    ledger: LedgerReader, skill_id: str, run_id: str | None, at: float
) -> list[dict[str, Any]]:
    """The decision records of ``run_id`` (a run may decide once per subject)."""
    if not run_id:
        return []
    try:  # decisions are stamped from the run's start, which the message may trail
        run = ledger.run(run_id)
        at, skill_id = run.started_at, run.skill_id or skill_id
    except LookupError:  # not in the ledger (pruned, or recorded before the ledger)
        pass
    found = ledger.decisions(skill_id, at - RUN_SPAN_S, at + RUN_SPAN_S)
    return [
        {
            "run_id": d.run_id,
            "index": d.index,
            "version": d.skill_version,
            "subject": d.subject,
            "at": d.at,
            "label": d.label,
        }
        for d in found
        if d.run_id == run_id
    ]


def _version(
    ledger: LedgerReader, run_id: str | None, decisions: list[dict[str, Any]]
) -> int | None:
    if decisions:
        return decisions[0].get("version")
    if not run_id:
        return None
    try:
        version: int | None = ledger.run(run_id).skill_version
    except LookupError:  # the run is not in the ledger (pruned, or before the ledger)
        return None
    return version


def record_feedback(
    store: Store,
    messages: MessageSource,
    ledger: LedgerReader,
    message_id: str,
    label: str,
    *,
    note: str | None = None,
    by: str = "human",
    source: str = "cli",
    now: float | None = None,
) -> Feedback:
    check_label(label)
    message = messages.find(message_id)
    decisions = run_decisions(ledger, message.skill_id, message.run_id, message.at)
    item = Feedback(
        message_id=message.message_id,
        by=by,
        label=label,
        note=note,
        source=source,
        skill_id=message.skill_id,
        run_id=message.run_id,
        skill_version=_version(ledger, message.run_id, decisions),
        decisions=decisions,
        message_at=message.at,
        at=time.time() if now is None else now,
    )
    save(store, item)
    return item


def save(store: Store, item: Feedback) -> None:
    """Store a label (one per message and person: a new one replaces the old)."""
    values = item.to_json()
    store.write(
        lambda conn: upsert(
            conn,
            tables.feedback,
            values,
            ["message_id", "by"],
            replace=["label", "note", "source", "decisions", "at"],
        )
    )


def labels(store: Store, since: float, until: float, skill_id: str | None = None) -> list[Feedback]:
    """Labels on messages posted in [since, until)."""
    t = tables.feedback
    query = sa.select(t).where((t.c.message_at >= since) & (t.c.message_at < until))
    if skill_id is not None:
        query = query.where(t.c.skill_id == skill_id)
    rows = store.read(lambda conn: conn.execute(query.order_by(t.c.message_at)).mappings().all())
    return [Feedback(**dict(row)) for row in rows]
