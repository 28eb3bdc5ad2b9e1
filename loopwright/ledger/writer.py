"""``LedgerWriter``: every write the ledger takes, each one idempotent by run id.

A call of a run may be repeated (a retry, a crash of the app mid-call, a sidecar restart):
starting a run inserts-or-ignores, a step upserts by (run id, step id), and finishing a run
happens once — the rollups are bumped in the same transaction that marks the run final, so a
repeated finish can never count a run twice.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from loopwright.store import Store, insert_ignore, upsert, upsert_many

from . import tables
from .histogram import BUCKET_COLUMNS, bucket_of
from .records import TERMINAL, DecisionRecord, RunRecord, StepRecord

OUTPUT_CAP_BYTES = 64 * 1024
ERROR_CAP_CHARS = 4_000
_CODE = re.compile(r"^\[([a-z0-9][a-z0-9._-]{0,63})\]\s*")


@dataclasses.dataclass(frozen=True)
class CallStart:
    """What is known of a run when one of its calls starts."""

    run_id: str
    app_id: str
    function_id: str
    skill_id: str | None
    skill_version: int | None
    trigger: str
    event_name: str | None
    event_id: str | None
    cron: str | None
    attempt: int  # 0-based, as the SDK counts
    at: float


@dataclasses.dataclass(frozen=True)
class Usage:
    llm_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0


def error_fields(error: BaseException | str | None) -> tuple[str | None, str | None]:
    """(code, message) of an error: a leading ``[code]`` in the message wins, else its type."""
    if error is None:
        return None, None
    message = str(error)
    code = None if isinstance(error, str) else type(error).__name__
    if found := _CODE.match(message):
        code, message = found.group(1), message[found.end() :]
    return code, message[:ERROR_CAP_CHARS]


def capped(value: Any) -> Any:
    """The value itself when its JSON fits the cap, else a note of its size."""
    try:
        size = len(json.dumps(value, default=str))
    except (TypeError, ValueError):
        return {"unserialisable": type(value).__name__}
    return value if size <= OUTPUT_CAP_BYTES else {"truncated": True, "bytes": size}


def day_of(at: float) -> str:
    return dt.datetime.fromtimestamp(at, dt.UTC).strftime("%Y-%m-%d")


def decisions_of(output: Any) -> list[dict[str, Any]]:
    """The decision records a skill returned (``{"decisions": [...]}``); malformed ones dropped."""
    found = output.get("decisions") if isinstance(output, Mapping) else None
    if not isinstance(found, list):
        return []
    return [dict(d) for d in found if isinstance(d, Mapping)][:1_000]


class LedgerWriter:
    """Each write in its own transaction, in the caller's thread (``QueuedLedgerWriter`` is
    the one the apps use: it commits step records in groups from a background thread)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        store.ensure()  # the ledger's tables, if the store was opened before they were imported

    def call_started(self, call: CallStart) -> None:
        self._write("run start", call.run_id, lambda conn: write_call_started(conn, call))

    def attempt_failed(self, run_id: str, attempt: int, error: BaseException | str) -> None:
        """A call failed and the run will be retried: keep the error, the run stays running."""
        code, message = error_fields(error)
        self._write(
            "attempt error", run_id, lambda conn: write_attempt_failed(conn, run_id, code, message)
        )

    def step_finished(self, step: StepRecord) -> None:
        """Record a step's latest attempt; an earlier attempt's error stays when this one
        succeeded, so a timeline shows why the step needed retries."""
        self.store.write(lambda conn: write_steps(conn, [step]))

    def run_finished(
        self,
        run_id: str,
        *,
        status: str,
        at: float,
        start: CallStart | None = None,
        error: BaseException | str | None = None,
        output: Any = None,
        usage: Usage | None = None,
    ) -> bool:
        """Mark the run final once; False when it already was (nothing changes then)."""
        finish = RunFinish.of(run_id, status=status, at=at, start=start, error=error,
                              output=output, usage=usage)  # fmt: skip
        return bool(self._final("run end", run_id, finish.write))

    # How a write reaches the store: here in the caller's transaction; the queued writer
    # overrides these two to commit in groups from its thread.
    def _write(self, what: str, run_id: str, write: Callable[[sa.Connection], Any]) -> None:
        self.store.write(write)

    def _final(self, what: str, run_id: str, write: Callable[[sa.Connection], Any]) -> Any:
        return self.store.write(write)

    def record_run(
        self,
        run: RunRecord,
        steps: Sequence[StepRecord] = (),
        decisions: Iterable[Mapping[str, Any]] = (),
    ) -> bool:
        """Write a whole finished run at once (imports, seeded history); idempotent."""
        if run.status not in TERMINAL or run.ended_at is None:
            raise ValueError(f"record_run takes finished runs; {run.run_id} is {run.status}")

        def write(conn: sa.Connection) -> bool:
            row = {**run.to_dict(), "output": capped(run.output), "finalized": True}
            if not insert_ignore(conn, tables.runs, row):
                return False
            for step in steps:
                insert_ignore(conn, tables.steps, step_row(step))
            _insert_decisions(conn, run, list(decisions), run.ended_at or run.started_at)
            _bump_rollup(conn, run)
            return True

        return self.store.write(write)

    def record_gap(self, what: str, error: BaseException | str, run_id: str | None = None) -> None:
        self.store.write(
            lambda conn: conn.execute(
                tables.gaps.insert().values(
                    at=time.time(), run_id=run_id, what=what, error=str(error)[:ERROR_CAP_CHARS]
                )
            )
        )

    def prune(self, *, older_than: float, batch: int = 500) -> int:
        """Delete up to ``batch`` runs that started before ``older_than`` (with their steps and
        decisions); rollups stay. Call repeatedly: each call is one short transaction."""

        def write(conn: sa.Connection) -> int:
            t = tables.runs
            ids = (
                conn.execute(sa.select(t.c.run_id).where(t.c.started_at < older_than).limit(batch))
                .scalars()
                .all()
            )
            if ids:
                for table in (tables.steps, tables.decisions, tables.runs):
                    conn.execute(table.delete().where(table.c.run_id.in_(ids)))
            return len(ids)

        return self.store.write(write)


@dataclasses.dataclass(frozen=True)
class RunFinish:
    """Everything marking a run final writes, prepared outside the transaction."""

    run_id: str
    status: str
    at: float
    start: CallStart | None
    code: str | None
    message: str | None
    output: Any
    usage: Usage
    decisions: list[dict[str, Any]]

    @classmethod
    def of(
        cls,
        run_id: str,
        *,
        status: str,
        at: float,
        start: CallStart | None = None,
        error: BaseException | str | None = None,
        output: Any = None,
        usage: Usage | None = None,
    ) -> RunFinish:
        if status not in TERMINAL:
            raise ValueError(f"run status {status!r} is not one of {TERMINAL}")
        code, message = error_fields(error)
        return cls(run_id, status, at, start, code, message, capped(output), usage or Usage(),
                   decisions_of(output))  # fmt: skip

    def write(self, conn: sa.Connection) -> bool:
        """Mark the run final once and bump its rollup; False when it already was."""
        row = conn.execute(_SELECT_RUN, {"rid": self.run_id}).mappings().first()
        if row is None:
            if self.start is None:
                return False  # nothing known of this run here (another app's)
            insert_ignore(conn, tables.runs, _run_row(self.start))
            row = conn.execute(_SELECT_RUN, {"rid": self.run_id}).mappings().one()
        if row["finalized"]:
            return False
        failed = self.status != "completed"
        spent = self.usage
        values = {
            "status": self.status,
            "ended_at": self.at,
            "duration_ms": max(0.0, (self.at - row["started_at"]) * 1000),
            "error_code": self.code if failed else None,
            "error_message": self.message if failed else None,
            "output": self.output,
            "llm_calls": spent.llm_calls,
            "input_tokens": spent.input_tokens,
            "output_tokens": spent.output_tokens,
            "cost_usd": spent.cost_usd,
            "fallback": any(bool(d.get("fallback")) for d in self.decisions),
            "finalized": True,
        }
        conn.execute(_FINISH_RUN, {"rid": self.run_id, **{f"v_{k}": v for k, v in values.items()}})
        record = RunRecord.from_row({**row, **values})
        _insert_decisions(conn, record, self.decisions, self.at)
        _bump_rollup(conn, record)
        return True


# Built once, executed with bound values: building a statement per run cost more than running it.
_SELECT_RUN = sa.select(
    *(c for c in tables.runs.columns if c.name != "output")  # the output is not needed back
).where(tables.runs.c.run_id == sa.bindparam("rid"))
_FINISH_COLUMNS = ("status", "ended_at", "duration_ms", "error_code", "error_message", "output",
                   "llm_calls", "input_tokens", "output_tokens", "cost_usd", "fallback",
                   "finalized")  # fmt: skip
_FINISH_RUN = (
    tables.runs.update()
    .where(tables.runs.c.run_id == sa.bindparam("rid"))
    .values({name: sa.bindparam(f"v_{name}") for name in _FINISH_COLUMNS})
)


def write_call_started(conn: sa.Connection, call: CallStart) -> None:
    """Insert the run, or on a later call raise its attempts (and fill a missing version)."""
    if insert_ignore(conn, tables.runs, _run_row(call)):
        return
    t = tables.runs
    highest = sa.func.max if conn.dialect.name == "sqlite" else sa.func.greatest
    conn.execute(
        t.update()
        .where(t.c.run_id == call.run_id, t.c.finalized.is_(False))
        .values(
            attempts=highest(t.c.attempts, call.attempt + 1),
            skill_version=sa.func.coalesce(t.c.skill_version, call.skill_version),
        )
    )


def write_attempt_failed(
    conn: sa.Connection, run_id: str, code: str | None, message: str | None
) -> None:
    t = tables.runs
    conn.execute(
        t.update()
        .where(t.c.run_id == run_id, t.c.finalized.is_(False))
        .values(error_code=code, error_message=message)
    )


_STEP_KEY = ("run_id", "step_id")
_STEP_ERRORS = ("error_code", "error_message")
_STEP_REPLACE = tuple(
    c.name for c in tables.steps.columns if c.name not in (*_STEP_KEY, *_STEP_ERRORS)
)


def step_row(step: StepRecord) -> dict[str, Any]:
    return {**step.to_dict(), "finished_at": step.started_at + step.duration_ms / 1000}


def write_steps(conn: sa.Connection, steps: Sequence[StepRecord]) -> None:
    """Upsert step records in order, in one statement execution (executemany for a group)."""
    rows = [step_row(step) for step in steps]
    upsert_many(conn, tables.steps, rows, _STEP_KEY, replace=_STEP_REPLACE, fill=_STEP_ERRORS)


def _run_row(call: CallStart) -> dict[str, Any]:
    return {
        "run_id": call.run_id,
        "app_id": call.app_id,
        "function_id": call.function_id,
        "skill_id": call.skill_id,
        "skill_version": call.skill_version,
        "trigger": call.trigger,
        "event_name": call.event_name,
        "event_id": call.event_id,
        "cron": call.cron,
        "status": "running",
        "started_at": call.at,
        "attempts": call.attempt + 1,
        "llm_calls": 0,
        "input_tokens": 0,
        "output_tokens": 0,
        "cost_usd": 0.0,
        "fallback": False,
        "finalized": False,
    }


def _insert_decisions(
    conn: sa.Connection, run: RunRecord, found: Sequence[Mapping[str, Any]], at: float
) -> None:
    if run.skill_id is None:
        return
    for index, d in enumerate(found):
        record = DecisionRecord(
            run_id=run.run_id,
            skill_id=run.skill_id,
            skill_version=run.skill_version,
            index=index,
            at=float(d.get("at") or at),
            subject=_text(d.get("subject")),
            label=_text(d.get("label")),
            decided_by=_text(d.get("decided_by")),
            fallback=bool(d.get("fallback")),
            features=_mapping(d.get("features")),
            detail=_mapping(d.get("detail")),
        )
        values = record.to_dict()
        values["idx"] = values.pop("index")
        insert_ignore(conn, tables.decisions, values)


def _bump_rollup(conn: sa.Connection, run: RunRecord) -> None:
    duration = run.duration_ms or 0.0
    bucket = bucket_of(duration)
    counters: dict[str, Any] = {
        "runs": 1,
        "completed": int(run.status == "completed"),
        "failed": int(run.status == "failed"),
        "cancelled": int(run.status == "cancelled"),
        "retried": int(run.attempts > 1),
        "fallbacks": int(run.fallback),
        "llm_calls": run.llm_calls,
        "cost_usd": run.cost_usd,
        "duration_sum_ms": duration,
        **{name: int(name == bucket) for name in BUCKET_COLUMNS},
    }
    key = {
        "skill_id": run.subject,
        "skill_version": run.skill_version or 0,
        "day": day_of(run.ended_at or run.started_at),
    }
    upsert(conn, tables.rollups, {**key, **counters}, list(key), add=list(counters))


def _text(value: Any) -> str | None:
    return None if value is None else str(value)[:400]


def _mapping(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}
