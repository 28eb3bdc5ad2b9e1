"""One review: score every skill, watch promotions, advance shadows, propose, report.

Each phase is a named step whose result is plain JSON, so the weekly durable function can
memoize them (a crash resumes after the last finished step); every write is idempotent
besides (report and proposal ids are derived from their content), so even a phase that ran
twice makes no duplicate.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from loopwright.ledger import LedgerReader
from loopwright.store import Store, insert_ignore

from . import audit, feedback, proposals, tables
from .backtest import score
from .errors import ReviewError, SidecarRefused, UnknownReport
from .gate import (
    SHADOW_RUNS,
    WEEK,
    ShadowResult,
    WatchFigures,
    backtest_verdict,
    promotions_left,
    shadow_compare,
    shadow_verdict,
    watch_verdict,
)
from .labels import label_stats
from .live_shadow import live_shadow
from .outcomes import (
    MATCH_WINDOW_S,
    IncidentSource,
    NoIncidents,
    events_from_feedback,
    events_from_incidents,
    match,
)
from .platform import SkillPlatform, runs_shadows, shadow_platform
from .report import render
from .rewrite import Rewriter, propose_rewrite
from .scorecards import LabelStats, Scorecard, day_of, scorecards
from .selection import Pick, select
from .tuning import Classifier, NotTunable, rewrite_constants, search

log = logging.getLogger("loopwright.review")
DAY = 86_400.0
NO_LIVE_SHADOW = (
    "the shadow could not start: no sidecar runs it (only the replay of recorded features)"
)
#: Runs stamped this far after ``now`` mean the clocks disagree; the report says so.
SKEW_TOLERANCE_S = 300.0
Step = Callable[[str, Callable[[], Any]], Any]


def direct(name: str, fn: Callable[[], Any]) -> Any:
    return fn()


@dataclasses.dataclass
class Review:
    store: Store
    ledger: LedgerReader
    platform: SkillPlatform | None = None
    incidents: IncidentSource = dataclasses.field(default_factory=NoIncidents)
    rewriter: Rewriter | None = None
    #: Posts the finished report (markdown) once per report id; None: not posted.
    publish: Callable[[str, str], None] | None = None
    shadow_runs: int = SHADOW_RUNS

    # --- the whole review ----------------------------------------------------------------

    def run(
        self, now: float, window_s: float = 7 * DAY, dry_run: bool = False, step: Step = direct
    ) -> dict[str, Any]:
        since = now - window_s
        report_id = report_key(now, window_s)
        if not dry_run:
            done = self._finished(report_id)
            if done is not None:
                return done
            step("open-report", lambda: self._open(report_id, since, now))
        notes: list[str] = step("check-window", lambda: self._check_window(since, now))
        cards, stats = self._cards(since, now)
        card_json = [c.to_json() for c in cards]
        actions: list[dict[str, Any]] = []
        if not dry_run:
            actions += step("watch", lambda: self._watch(now, report_id))
            actions += step("shadow", lambda: self._advance_shadows(now, report_id))
        picks, pick_notes = select(cards, opted_out=self._opted_out(cards))
        notes += pick_notes
        made: dict[str, Any] = step(
            "propose", lambda: self._propose_all(picks, since, now, report_id, dry_run)
        )
        proposed: list[dict[str, Any]] = made["proposals"]
        notes += made["notes"]
        if any(p.get("state") == "shadowing" for p in proposed):
            if not runs_shadows(self.platform):
                notes.append(NO_LIVE_SHADOW)
            elif dry_run:
                notes.append("dry run: the shadows of these proposals were not started")
        if self.rewriter is None:
            notes.append("no LLM configured: only path 1 (tuning constants) ran")
        if not self.incidents_available:
            notes.append("incident outcomes not available: no probable false alarms were derived")
        data = {
            "id": report_id,
            "window": {"since": since, "until": now, "days": round(window_s / DAY, 3)},
            "dry_run": dry_run,
            "scorecards": card_json,
            "picks": [p.to_json() for p in picks],
            "proposals": proposed,
            "actions": actions,
            "notes": notes,
            "labels": {f"{k[0]}@v{k[1]}": dataclasses.asdict(v) for k, v in stats.items()},
        }
        data["markdown"] = render(data)
        if not dry_run:
            step("finish", lambda: self._finish(report_id, data, now))
        return data

    @property
    def incidents_available(self) -> bool:
        return bool(getattr(self.incidents, "available", True))

    # --- reports -------------------------------------------------------------------------

    def _finished(self, report_id: str) -> dict[str, Any] | None:
        t = tables.reports
        row = self.store.read(
            lambda c: c.execute(
                sa.select(t.c.data).where((t.c.id == report_id) & (t.c.state == "done"))
            ).first()
        )
        return None if row is None else dict(row[0])

    def _open(self, report_id: str, since: float, until: float) -> None:
        values = {
            "id": report_id,
            "window_start": since,
            "window_end": until,
            "state": "running",
            "dry_run": False,
            "created_at": time.time(),
        }
        self.store.write(lambda c: insert_ignore(c, tables.reports, values))

    def _finish(self, report_id: str, data: dict[str, Any], now: float) -> None:
        t = tables.reports
        self.store.write(
            lambda c: c.execute(
                sa.update(t)
                .where(t.c.id == report_id)
                .values(state="done", markdown=data["markdown"], data=data, finished_at=time.time())
            )
        )
        audit.record(
            self.store,
            now,
            "report",
            {"proposals": len(data["proposals"]), "actions": len(data["actions"])},
            report_id=report_id,
        )
        if self.publish is not None:
            self.publish(report_id, data["markdown"])

    def _check_window(self, since: float, until: float) -> list[str]:
        notes = []
        if not self.ledger.rollups(since_day=day_of(since), until_day=day_of(until - 1)):
            notes.append(
                f"no runs recorded between {_iso(since)} and {_iso(until)}: nothing to score "
                "(is the ledger on, and is --now right?)"
            )
        newest = self.ledger.runs(limit=1)
        if newest and newest[0].started_at > until + SKEW_TOLERANCE_S:
            ahead = newest[0].started_at - until
            notes.append(
                f"clock skew or a past --now: the ledger has runs {ahead:.0f} s after the end "
                f"of the window ({_iso(until)}); they are not in this review"
            )
        return notes

    # --- scores --------------------------------------------------------------------------

    def truths_for(self, decisions: list[Any], since: float, until: float) -> list[Any]:
        pad = MATCH_WINDOW_S
        events = events_from_feedback(feedback.labels(self.store, since - pad, until + pad))
        events += events_from_incidents(self.incidents.outcomes(since - pad, until + pad))
        return match(decisions, events)

    def label_stats(self, since: float, until: float) -> dict[tuple[str, int | None], LabelStats]:
        out: dict[tuple[str, int | None], LabelStats] = {}
        for skill_id in self.ledger.skills_seen():
            decisions = self.ledger.decisions(skill_id, since, until)
            if not decisions:
                continue
            truths = self.truths_for(decisions, since, until)
            if not any(truths):
                continue
            by_version: dict[int | None, list[int]] = {}
            for i, d in enumerate(decisions):
                by_version.setdefault(d.skill_version, []).append(i)
            for version, idx in by_version.items():
                out[(skill_id, version)] = label_stats(
                    [decisions[i] for i in idx], [truths[i] for i in idx]
                )
        return out

    def _cards(
        self, since: float, until: float
    ) -> tuple[list[Scorecard], dict[tuple[str, int | None], LabelStats]]:
        stats = self.label_stats(since, until)
        previous = self.label_stats(since - (until - since), since)
        return scorecards(self.ledger, since, until, labels=stats, previous_labels=previous), stats

    def _opted_out(self, cards: list[Scorecard]) -> frozenset[str]:
        out = set()
        if self.platform is None:
            return frozenset()
        for skill_id in {c.skill_id for c in cards}:
            try:
                if self.platform.active_source(skill_id).opted_out:
                    out.add(skill_id)
            except ReviewError:
                continue
        return frozenset(out)

    # --- watch after promotion ------------------------------------------------------------

    def _watch(self, now: float, report_id: str) -> list[dict[str, Any]]:
        actions = []
        for p in proposals.listed(self.store, states=("promoted",)):
            assert p.promoted_at is not None and p.candidate_version is not None
            new = self._figures(p.skill_id, p.candidate_version, p.promoted_at, now)
            old = self._figures(p.skill_id, p.base_version, p.promoted_at - WEEK, p.promoted_at)
            verdict = watch_verdict(new, old)
            watch = {
                "at": now,
                "new": dataclasses.asdict(new),
                "old": dataclasses.asdict(old),
                "verdict": None if verdict is None else dataclasses.asdict(verdict),
            }
            if verdict is None or (verdict.ok and now - p.promoted_at < WEEK):
                proposals.update(self.store, p.id, now, watch=watch)
                continue
            if verdict.ok:
                proposals.update(self.store, p.id, now, state="kept", watch=watch)
                actions.append(self._act(now, "kept", p, verdict.reason, report_id))
                continue
            if self.platform is None or p.base_version is None:
                actions.append(self._act(now, "rollback-needed", p, verdict.reason, report_id))
                continue
            self.platform.rollback(p.skill_id, p.base_version, verdict.reason)
            proposals.update(self.store, p.id, now, state="rolled-back", watch=watch)
            actions.append(
                self._act(
                    now,
                    "rolled-back",
                    p,
                    f"v{p.candidate_version} → v{p.base_version}: {verdict.reason}",
                    report_id,
                )
            )
        return actions

    def _figures(
        self, skill_id: str, version: int | None, since: float, until: float
    ) -> WatchFigures:
        rollups = [
            r
            for r in self.ledger.rollups(
                skill=skill_id, since_day=day_of(since), until_day=day_of(until - 1)
            )
            if r.skill_version == version
        ]
        runs = sum(r.runs for r in rollups)
        success = sum(r.completed for r in rollups) / runs if runs else None
        decisions = self.ledger.decisions(skill_id, since, until, version=version)
        truths = self.truths_for(decisions, since, until)
        stats = score([d.label or "normal" for d in decisions], truths)
        return WatchFigures(
            runs=runs,
            success_rate=success,
            missed=list(stats.missed),
            false_alarms=stats.false_alarms,
            labelled_alerts=stats.true_alerts + stats.false_alarm_count,
        )

    # --- shadow and promotion -------------------------------------------------------------

    def _advance_shadows(self, now: float, report_id: str) -> list[dict[str, Any]]:
        self._stop_stale_shadows()
        actions = []
        for p in proposals.listed(self.store, states=("shadowing",)):
            replay = self._replay(p, now)
            early = shadow_verdict(replay, needed=0)  # a cheap pre-check: failures only
            if early is not None and not early.ok:
                why = f"replay of recorded features: {early.reason}"
                shadow = {"mode": "replay", **replay.to_json()}
                actions.append(self._drop(p, now, why, shadow, report_id))
                continue
            if runs_shadows(self.platform):
                refused = self._start_shadow(p, now, report_id)
                if refused is not None:
                    actions.append(refused)
                    continue
                live = live_shadow(self.ledger, p.skill_id, p.id, self.truths_for)
                shadow = {**live.to_json(), "replay": replay.to_json()}
                verdict = shadow_verdict(live.result, self.shadow_runs)
            else:
                shadow = {"mode": "replay", **replay.to_json(), "note": NO_LIVE_SHADOW}
                verdict = shadow_verdict(replay, self.shadow_runs)
            if verdict is None:
                proposals.update(self.store, p.id, now, shadow=shadow)
                continue
            if not verdict.ok:
                actions.append(self._drop(p, now, verdict.reason, shadow, report_id))
                continue
            proposals.update(self.store, p.id, now, shadow=shadow)
            actions.append(
                self._promote(proposals.get(self.store, p.id), now, verdict.reason, report_id)
            )
        return actions

    def _replay(self, p: proposals.Proposal, now: float) -> ShadowResult:
        """The candidate's ``classify_rules`` on the active version's recorded features."""
        active = self.ledger.decisions(p.skill_id, p.created_at, now, version=p.base_version)
        errors: list[str] = []
        try:
            labels = Classifier(p.source or "", f"{p.skill_id}.py").labels(active)
        except Exception as err:  # a candidate's failure is the shadow's finding
            errors, labels = [f"{type(err).__name__}: {err}"], [d.label or "normal" for d in active]
        return shadow_compare(active, labels, self.truths_for(active, p.created_at, now), errors)

    def _start_shadow(
        self, p: proposals.Proposal, now: float, report_id: str
    ) -> dict[str, Any] | None:
        """Have the sidecar run the candidate (idempotent); an action when it could not."""
        platform = shadow_platform(self.platform)
        assert platform is not None
        try:
            platform.start_shadow(p.skill_id, p.id, p.source or "")
        except SidecarRefused as err:  # the candidate itself was refused: it cannot be judged
            shadow = {"mode": "live", "error": str(err)}
            return self._drop(p, now, f"the shadow could not start: {err}", shadow, report_id)
        except ReviewError as err:  # the sidecar is away: try again at the next review
            return self._act(now, "shadow-not-started", p, str(err), report_id)
        return None

    def _stop_stale_shadows(self) -> None:
        """Stop the shadows of proposals that left ``shadowing`` where the sidecar could not be
        told (a reject without the sidecar, or the sidecar away at the time)."""
        platform = shadow_platform(self.platform)
        if platform is None:
            return
        try:
            running = platform.running_shadows()
        except ReviewError as err:
            log.warning("shadows not listed: %s", err)
            return
        for pid in running:
            try:
                p = proposals.get(self.store, pid)
            except ReviewError:  # not a proposal of this store's review
                continue
            if p.state != "shadowing":
                self._stop_shadow(p, f"the proposal is {p.state}")

    def _stop_shadow(self, p: proposals.Proposal, reason: str) -> None:
        platform = shadow_platform(self.platform)
        if platform is None:
            return
        try:
            platform.stop_shadow(p.id, reason)
        except SidecarRefused as err:
            if err.status != 404:  # never started: nothing to stop
                log.warning("shadow of %s not stopped: %s", p.id, err)
        except ReviewError as err:
            log.warning("shadow of %s not stopped: %s", p.id, err)

    def _drop(
        self, p: proposals.Proposal, now: float, why: str, shadow: dict[str, Any], report_id: str
    ) -> dict[str, Any]:
        proposals.update(self.store, p.id, now, state="dropped", shadow=shadow)
        self._stop_shadow(p, f"dropped: {why}")
        return self._act(now, "dropped", p, why, report_id)

    def _promote(
        self, p: proposals.Proposal, now: float, why: str, report_id: str
    ) -> dict[str, Any]:
        promoted = [
            x.promoted_at
            for x in proposals.listed(self.store, skill_id=p.skill_id)
            if x.promoted_at is not None
        ]
        if not promotions_left(promoted, now):
            return self._act(now, "held", p, "one promotion per skill per week: waits", report_id)
        if self.platform is None:
            return self._act(now, "held", p, "no sidecar to promote through", report_id)
        reason = f"review {p.id}: {p.reason}; backtest and shadow passed ({why})"
        outcome = self.platform.submit(p.skill_id, p.source or "", reason)
        state, version = str(outcome.get("state")), outcome.get("version")
        self._stop_shadow(p, f"submitted as v{version}: {state}")
        if state == "active":
            proposals.update(
                self.store, p.id, now, state="promoted", candidate_version=version, promoted_at=now
            )
            return self._act(now, "promoted", p, f"v{version} active: {why}", report_id)
        if state == "awaiting_approval":
            proposals.update(
                self.store, p.id, now, state="awaiting-approval", candidate_version=version
            )
            return self._act(
                now,
                "awaiting-approval",
                p,
                f"v{version} waits for a person (approval policy)",
                report_id,
            )
        note = outcome.get("note") or state
        proposals.update(self.store, p.id, now, state="dropped", candidate_version=version)
        return self._act(now, "dropped", p, f"the sidecar did not activate it: {note}", report_id)

    def accept(self, pid: str, by: str, now: float) -> str:
        """A person accepts: approve the waiting version, or submit a shadowing one now."""
        p = proposals.get(self.store, pid)
        if self.platform is None:
            raise ReviewError("no sidecar to promote through")
        if p.state == "awaiting-approval" and p.candidate_version is not None:
            approve = getattr(self.platform, "approve", None)
            if approve is None:
                raise ReviewError("this platform cannot approve versions")
            approve(p.skill_id, p.candidate_version, by)
            proposals.update(self.store, p.id, now, state="promoted", promoted_at=now)
            self._act(now, "promoted", p, f"v{p.candidate_version} approved by {by}", None, by)
            return f"{p.id}: v{p.candidate_version} of {p.skill_id} approved and watched"
        if p.state == "shadowing":
            action = self._promote(p, now, f"accepted by {by} before the shadow finished", "")
            return f"{p.id}: {action['action']} - {action['why']}"
        raise ReviewError(
            f"proposal {p.id} is {p.state}: only shadowing or awaiting-approval proposals "
            "can be accepted"
        )

    def decline(self, pid: str, by: str, reason: str | None, now: float) -> str:
        p = proposals.get(self.store, pid)
        if p.state not in ("shadowing", "awaiting-approval"):
            raise ReviewError(
                f"proposal {p.id} is {p.state}: only shadowing or awaiting-approval proposals "
                "can be rejected"
            )
        proposals.update(self.store, p.id, now, state="declined")
        self._stop_shadow(p, f"declined by {by}")
        self._act(now, "declined", p, reason or f"declined by {by}", None, by)
        return f"{p.id}: declined"

    # --- proposals ------------------------------------------------------------------------

    def _propose_all(
        self, picks: list[Pick], since: float, until: float, report_id: str, dry_run: bool
    ) -> dict[str, Any]:
        out: list[dict[str, Any]] = []
        notes: list[str] = []
        for pick in picks:
            busy = proposals.listed(
                self.store, skill_id=pick.skill_id, states=proposals.OPEN_STATES
            )
            mine = [
                p
                for p in proposals.listed(self.store, skill_id=pick.skill_id)
                if p.report_id == report_id
            ]
            if mine and not dry_run:  # this review made them before a crash: report them
                out += [p.to_json() for p in mine]
                continue
            if busy:
                notes.append(f"{pick.skill_id}: proposal {busy[-1].id} is still {busy[-1].state}")
                continue
            if self.platform is None:
                notes.append(f"{pick.skill_id}: picked, but no sidecar to read its source from")
                continue
            try:
                active = self.platform.active_source(pick.skill_id)
            except ReviewError as err:
                notes.append(f"{pick.skill_id}: {err}")
                continue
            made = self._tune(pick, active.source, active.version, since, until, report_id, dry_run)
            if made is None:
                notes.append(
                    f"{pick.skill_id}: no constant set removes false alarms without a miss"
                )
            elif isinstance(made, str):
                notes.append(f"{pick.skill_id}: path 1 not applicable: {made}")
            else:
                out.append(made)
            if self.rewriter is not None:
                decisions = self.ledger.decisions(
                    pick.skill_id, since, until, version=active.version
                )
                out += propose_rewrite(
                    self, pick, active, decisions, since, until, report_id, dry_run
                )
        return {"proposals": out, "notes": notes}

    def _tune(
        self,
        pick: Pick,
        source: str,
        version: int,
        since: float,
        until: float,
        report_id: str,
        dry_run: bool,
    ) -> dict[str, Any] | str | None:
        try:
            classifier = Classifier(source, f"{pick.skill_id}.py")
        except NotTunable as err:
            return str(err)
        decisions = self.ledger.decisions(pick.skill_id, since, until, version=version)
        truths = self.truths_for(decisions, since, until)
        result = search(classifier, decisions, truths)
        if result is None:
            return None
        candidate = rewrite_constants(source, result.changes)
        changed = ", ".join(
            f"{k} {classifier.constants[k]:g} → {v:g}" for k, v in result.changes.items()
        )
        return self.record_proposal(
            pick,
            version,
            "tuning",
            candidate,
            {"constants": result.changes},
            f"{'; '.join(pick.rules)}; tuning {changed}",
            result.to_json(),
            backtest_verdict(result.comparison),
            until,
            report_id,
            dry_run,
        )

    def record_proposal(
        self,
        pick: Pick,
        version: int,
        path: str,
        source: str,
        changes: dict[str, Any],
        reason: str,
        backtest: dict[str, Any],
        verdict: Any,
        now: float,
        report_id: str,
        dry_run: bool,
    ) -> dict[str, Any]:
        pid = proposals.proposal_id(pick.skill_id, version, path, source)
        state = "shadowing" if verdict.ok else "rejected"
        backtest = {**backtest, "verdict": dataclasses.asdict(verdict)}
        item = proposals.Proposal(
            id=pid,
            report_id=report_id,
            skill_id=pick.skill_id,
            base_version=version,
            path=path,
            state=state,
            candidate_version=None,
            reason=reason,
            evidence={"rules": list(pick.rules), **pick.evidence},
            changes=changes,
            backtest=backtest,
            shadow=None,
            watch=None,
            source=source,
            created_at=now,
            updated_at=now,
            promoted_at=None,
        )
        if dry_run:
            return {**item.to_json(), "dry_run": True}
        stored, new = proposals.create(self.store, item)
        if new:
            action = "proposed" if verdict.ok else "backtest-rejected"
            self._act(now, action, stored, verdict.reason, report_id)
        # It runs from now on beside the active version (a resumed review finds it running).
        shadowing = stored.state == "shadowing" and runs_shadows(self.platform)
        if shadowing and self._start_shadow(stored, now, report_id) is not None:
            stored = proposals.get(self.store, stored.id)
        return stored.to_json()

    def _act(
        self,
        now: float,
        action: str,
        p: proposals.Proposal,
        why: str,
        report_id: str | None,
        actor: str = "review",
    ) -> dict[str, Any]:
        detail = {
            "why": why,
            "base_version": p.base_version,
            "candidate_version": p.candidate_version,
            "path": p.path,
        }
        audit.record(
            self.store,
            now,
            action,
            detail,
            skill_id=p.skill_id,
            proposal_id=p.id,
            report_id=report_id,
            actor=actor,
        )
        return {"action": action, "skill_id": p.skill_id, "proposal": p.id, **detail}


def report_key(now: float, window_s: float) -> str:
    stamp = datetime.datetime.fromtimestamp(now, datetime.UTC).strftime("%Y%m%dT%H%MZ")
    days = window_s / DAY
    return f"review-{stamp}-{days:g}d"


def _iso(at: float) -> str:
    return datetime.datetime.fromtimestamp(at, datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")


def reports(store: Store, limit: int = 20) -> list[dict[str, Any]]:
    t = tables.reports
    query = sa.select(t.c.id, t.c.state, t.c.window_start, t.c.window_end, t.c.created_at)
    rows = store.read(
        lambda c: c.execute(query.order_by(t.c.window_end.desc()).limit(limit)).mappings().all()
    )
    return [dict(r) for r in rows]


def report(store: Store, report_id: str | None = None) -> dict[str, Any]:
    t = tables.reports
    query = sa.select(t.c.data).where(t.c.state == "done")
    if report_id:
        query = query.where(t.c.id.like(f"{report_id}%"))
    rows = store.read(lambda c: c.execute(query.order_by(t.c.window_end.desc())).all())
    if not rows or (report_id and len(rows) > 1 and not any(r[0]["id"] == report_id for r in rows)):
        raise UnknownReport(report_id or "latest")
    exact = [r[0] for r in rows if r[0]["id"] == report_id]
    return dict(exact[0] if exact else rows[0][0])
