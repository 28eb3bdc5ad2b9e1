"""The live shadow's evidence: the candidate's runs paired with the active version's.

The sidecar runs the candidate beside the active version on the same triggers
(``sidecar/shadowing.py``); both are recorded by the same ledger middleware, the candidate
under ``<skill>:shadow:<proposal>`` (``loopwright/ledger/shadow.py``). A shadow run and an
active run pair when they answered the same trigger: the same event id, or the same cron
schedule in the same minute. Each decision of the active run is compared with the shadow
run's decision for the same subject (none: the candidate stayed silent, ``normal``), through
``gate.shadow_compare``. A shadow run that failed where its active partner completed is the
candidate's error. A shadow run whose partner has not finished waits for the next review.

Times come from the runs themselves (the ledger's clock), never from the review's ``now``:
a review run with an injected ``--now`` still reads the shadow's real runs.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from typing import Any

from loopwright.ledger import TERMINAL, DecisionRecord, LedgerReader, RunRecord, shadow_subject

from .backtest import NORMAL
from .gate import ShadowResult, shadow_compare

#: How far around the shadow's runs the active version's partners are looked for.
PAIR_SLACK_S = 300.0
#: Shadow runs read per review (a shadow needs a handful; the rest waits for the next one).
MAX_RUNS = 1_000
#: What the sidecar appends to a shadowed function's id (``registry.shadows.shadow_fn_id``).
SHADOW_FN_SUFFIX = re.compile(r"-shadow-[a-z0-9]{1,8}$")
Truths = Callable[[list[DecisionRecord], float, float], list[Any]]


@dataclasses.dataclass(frozen=True)
class LiveShadow:
    result: ShadowResult
    paired: int
    waiting: int

    def to_json(self) -> dict[str, Any]:
        return {"mode": "live", **self.result.to_json(), "paired": self.paired,
                "waiting": self.waiting}  # fmt: skip


def trigger_key(run: RunRecord, *, shadow: bool = False) -> str | None:
    """Which function answered what: its event, or its cron schedule's minute (None for
    invocations). A shadow function's id is its active function's plus ``-shadow-<tail>``."""
    function = SHADOW_FN_SUFFIX.sub("", run.function_id) if shadow else run.function_id
    if run.trigger == "cron":
        return f"{function} cron:{run.cron}:{int(run.started_at // 60)}"
    if run.trigger == "event" and run.event_id:
        return f"{function} event:{run.event_id}"
    return None


def live_shadow(
    ledger: LedgerReader, skill_id: str, proposal_id: str, truths_for: Truths
) -> LiveShadow:
    shadow_runs = [
        r
        for r in ledger.runs(skill=shadow_subject(skill_id, proposal_id), limit=MAX_RUNS)
        if r.status in TERMINAL
    ]
    if not shadow_runs:
        return LiveShadow(shadow_compare([], [], [], []), 0, 0)
    since = min(r.started_at for r in shadow_runs) - PAIR_SLACK_S
    until = max(r.started_at for r in shadow_runs) + PAIR_SLACK_S
    partners = {
        key: r
        for r in ledger.runs(skill=skill_id, since=since, until=until, limit=MAX_RUNS)
        if r.status in TERMINAL and (key := trigger_key(r)) is not None
    }
    pairs, errors, waiting = [], [], 0
    for run in shadow_runs:
        key = trigger_key(run, shadow=True)
        active = partners.get(key) if key else None
        if active is None:
            waiting += 1
        elif run.status != "completed" and active.status == "completed":
            errors.append(f"shadow run {run.run_id} failed: {run.error_message or run.status}")
        else:
            pairs.append((active, run))
    active_decisions, labels = _paired_labels(ledger, pairs)
    truths: list[Any] = []
    if active_decisions:
        first, last = min(d.at for d in active_decisions), max(d.at for d in active_decisions)
        truths = truths_for(active_decisions, first, last + 1)
    spent = sum(r.cost_usd for r in shadow_runs)
    result = shadow_compare(active_decisions, labels, truths, errors, llm_usd=spent)
    return LiveShadow(result, len(pairs), waiting)


def _paired_labels(
    ledger: LedgerReader, pairs: Sequence[tuple[RunRecord, RunRecord]]
) -> tuple[list[DecisionRecord], list[str]]:
    """The active runs' decisions, and the candidate's label for each (same run pair, same
    subject, in order)."""
    ids = [r.run_id for pair in pairs for r in pair]
    by_run: dict[str, list[DecisionRecord]] = {}
    for d in ledger.decisions_of_runs(ids):
        by_run.setdefault(d.run_id, []).append(d)
    decisions, labels = [], []
    for active, shadow in pairs:
        theirs: dict[str | None, list[str]] = {}
        for d in by_run.get(shadow.run_id, []):
            theirs.setdefault(d.subject, []).append(d.label or NORMAL)
        for d in by_run.get(active.run_id, []):
            decisions.append(d)
            said = theirs.get(d.subject)
            labels.append(said.pop(0) if said else NORMAL)
    return decisions, labels
