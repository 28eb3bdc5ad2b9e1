"""The agent's store: conversations, turns, transcripts, tool calls, costs, events.

The tables (``agent/tables.py``) are on the platform store (``loopwright.store``): SQLite
(serialised writes in ``BEGIN IMMEDIATE``, WAL readers) or the PostgreSQL replicas share.

Every write a turn makes from inside a step is idempotent on a key derived from the turn
and the step id (insert-or-ignore, or a guarded ``UPDATE``), because a step can run again
after a crash: nothing is recorded twice, no event is streamed twice, no cost is counted
twice. The ledger table implements ``agent.loop.budget.LedgerStore`` and the drafts table
``agent.tools.drafts.Drafts``.

Tables: ``agent_conversations`` (title, working context, totals), ``agent_turns`` (one per
user message, FIFO by ``seq``), ``agent_messages`` (the full transcript, never compacted),
``agent_tool_calls`` (arguments and results; also the journal that keeps a finished tool call
from running again), ``agent_ledger`` (reservations, settled costs and model results),
``agent_events`` (what the SSE stream replays), ``agent_drafts``.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from agent.errors import ConversationNotFound
from agent.llm.reply import Usage
from agent.loop.budget import Account, BudgetLimits, Decision, Entry, Spend, decide
from loopwright.store import Store, insert_ignore, open_store, upsert

from .tables import conversations, drafts, events, ledger, messages, tool_calls, turns

OPEN_STATUSES = ("queued", "running")
#: What a ledger row counts: its settled cost, else its reservation.
_COUNTED = sa.func.coalesce(
    sa.func.sum(sa.func.coalesce(ledger.c.settled_usd, ledger.c.reserved_usd)), 0.0
)


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:20]}"


def _ahead(conversation_id: str, seq: int) -> sa.Select[Any]:
    return sa.select(sa.func.count()).where(
        turns.c.conversation_id == conversation_id,
        turns.c.seq < seq,
        turns.c.status.in_(OPEN_STATUSES),
    )


def _turn(db: sa.Connection, turn_id: str) -> sa.RowMapping | None:
    return db.execute(sa.select(turns).where(turns.c.id == turn_id)).mappings().first()


class AgentStore:
    """Opens what it is given: a ``Store`` (shared, not closed here), a store URL or a SQLite
    path. ``changed`` wakes this process's SSE streams on each write."""

    def __init__(self, source: Store | str | Path) -> None:
        self._owned = not isinstance(source, Store)
        self.store = source if isinstance(source, Store) else open_store(source)
        self.store.ensure()
        self.changed = threading.Condition()
        self._version = 0

    @contextlib.contextmanager
    def _write(self) -> Iterator[sa.Connection]:
        with self.store.transaction() as db:
            yield db
        with self.changed:
            self._version += 1
            self.changed.notify_all()

    def _read(self) -> contextlib.AbstractContextManager[sa.Connection]:
        return self.store.reading()

    def close(self) -> None:
        if self._owned:
            self.store.close()

    # -- conversations and turns ------------------------------------------------------------
    def create_conversation(self, title: str, conversation_id: str | None = None) -> str:
        cid = conversation_id or new_id("conv")
        now = time.time()
        row = {"id": cid, "title": title[:120] or "conversation", "created_at": now,
               "updated_at": now}  # fmt: skip
        with self._write() as db:
            insert_ignore(db, conversations, row)
        return cid

    def add_turn(
        self, conversation_id: str, text: str, turn_id: str | None = None
    ) -> dict[str, Any]:
        """A user message becomes a queued turn; its position is the number of turns ahead."""
        tid = turn_id or new_id("turn")
        now = time.time()
        with self._write() as db:
            known = db.execute(
                sa.select(conversations.c.id).where(conversations.c.id == conversation_id)
            ).first()
            if known is None:
                raise ConversationNotFound(f"no conversation {conversation_id!r}")
            seq = db.execute(
                sa.select(sa.func.coalesce(sa.func.max(turns.c.seq), 0) + 1).where(
                    turns.c.conversation_id == conversation_id
                )
            ).scalar_one()
            db.execute(
                turns.insert().values(
                    id=tid, conversation_id=conversation_id, seq=seq, user_text=text,
                    status="queued", created_at=now,
                )
            )  # fmt: skip
            db.execute(
                conversations.update()
                .where(conversations.c.id == conversation_id)
                .values(updated_at=now)
            )
            ahead = db.execute(_ahead(conversation_id, seq)).scalar_one()
            self._event(db, conversation_id, tid, f"{tid}:queued", "turn.queued", {"ahead": ahead})
        return {"turn_id": tid, "conversation_id": conversation_id, "seq": seq, "ahead": ahead}

    def turns_ahead(self, turn_id: str) -> int:
        row = self._turn_row(turn_id)
        with self._read() as db:
            return int(db.execute(_ahead(row["conversation_id"], row["seq"])).scalar_one())

    def begin_turn(self, turn_id: str) -> dict[str, Any]:
        """Mark the turn running and snapshot what it starts from (memoized by the engine)."""
        now = time.time()
        with self._write() as db:
            row = _turn(db, turn_id)
            if row is None:
                raise ConversationNotFound(f"no turn {turn_id!r}")
            db.execute(
                turns.update()
                .where(turns.c.id == turn_id, turns.c.status == "queued")
                .values(status="running", started_at=sa.func.coalesce(turns.c.started_at, now))
            )
            context = db.execute(
                sa.select(conversations.c.context).where(
                    conversations.c.id == row["conversation_id"]
                )
            ).scalar_one()
            self._event(
                db, row["conversation_id"], turn_id, f"{turn_id}:started", "turn.started", {}
            )
        return {
            "conversation_id": row["conversation_id"],
            "turn_id": turn_id,
            "user_text": row["user_text"],
            "context": json.loads(context),
        }

    def finish_turn(
        self,
        turn_id: str,
        *,
        context: dict[str, Any],
        transcript: list[dict[str, Any]],
        outcome: dict[str, Any],
    ) -> dict[str, Any]:
        """Save the turn's result and the conversation's new context, once."""
        now = time.time()
        with self._write() as db:
            row = _turn(db, turn_id)
            if row is None:
                raise ConversationNotFound(f"no turn {turn_id!r}")
            cid = row["conversation_id"]
            if row["status"] in OPEN_STATUSES:
                db.execute(
                    turns.update()
                    .where(turns.c.id == turn_id)
                    .values(
                        status="done", stop_reason=outcome.get("reason"),
                        reply=outcome.get("reply"), outcome=_dumps(outcome), ended_at=now,
                    )
                )  # fmt: skip
                db.execute(
                    conversations.update()
                    .where(conversations.c.id == cid)
                    .values(context=_dumps(context), updated_at=now)
                )
                for i, m in enumerate(transcript):
                    row_values = {"conversation_id": cid, "turn_id": turn_id, "idx": i,
                                  "message": _dumps(m)}  # fmt: skip
                    insert_ignore(db, messages, row_values)
            self._event(db, cid, turn_id, f"{turn_id}:finished", "turn.finished", outcome)
        return outcome

    def fail_turn(self, turn_id: str, error: str) -> None:
        """The run failed for good (the engine's on_failure): close the turn so others proceed."""
        now = time.time()
        with self._write() as db:
            row = _turn(db, turn_id)
            if row is None:
                return
            if row["status"] in OPEN_STATUSES:
                outcome = {"reason": "failed", "reply": f"The turn failed: {error}"}
                db.execute(
                    turns.update()
                    .where(turns.c.id == turn_id)
                    .values(
                        status="failed", stop_reason="failed", reply=outcome["reply"],
                        outcome=_dumps(outcome), ended_at=now,
                    )
                )  # fmt: skip
                self._event(
                    db,
                    row["conversation_id"],
                    turn_id,
                    f"{turn_id}:finished",
                    "turn.finished",
                    outcome,
                )

    def turn(self, turn_id: str) -> dict[str, Any]:
        out = dict(self._turn_row(turn_id))
        out["outcome"] = json.loads(out["outcome"]) if out["outcome"] else None
        return out

    def _turn_row(self, turn_id: str) -> sa.RowMapping:
        with self._read() as db:
            row = _turn(db, turn_id)
        if row is None:
            raise ConversationNotFound(f"no turn {turn_id!r}")
        return row

    def conversations(self, limit: int = 50) -> list[dict[str, Any]]:
        c = conversations
        count = sa.select(sa.func.count()).where(turns.c.conversation_id == c.c.id)
        cost = sa.select(_COUNTED).where(ledger.c.conversation_id == c.c.id)
        query = (
            sa.select(
                c.c.id, c.c.title, c.c.created_at, c.c.updated_at,
                count.scalar_subquery().label("turns"), cost.scalar_subquery().label("cost_usd"),
            )
            .order_by(c.c.updated_at.desc())
            .limit(limit)
        )  # fmt: skip
        with self._read() as db:
            return [dict(r) for r in db.execute(query).mappings()]

    def conversation(self, conversation_id: str) -> dict[str, Any]:
        with self._read() as db:
            conv = (
                db.execute(sa.select(conversations).where(conversations.c.id == conversation_id))
                .mappings()
                .first()
            )
            if conv is None:
                raise ConversationNotFound(f"no conversation {conversation_id!r}")
            turn_rows = db.execute(
                sa.select(turns)
                .where(turns.c.conversation_id == conversation_id)
                .order_by(turns.c.seq)
            ).mappings()
            turn_list = [
                dict(r) | {"outcome": json.loads(r["outcome"]) if r["outcome"] else None}
                for r in turn_rows
            ]
            transcript = db.execute(
                sa.select(messages.c.message)
                .join(turns, turns.c.id == messages.c.turn_id)
                .where(messages.c.conversation_id == conversation_id)
                .order_by(turns.c.seq, messages.c.idx)
            ).scalars()
            message_list = [json.loads(m) for m in transcript]
            usage = (
                db.execute(
                    sa.select(
                        _COUNTED.label("cost_usd"),
                        sa.func.coalesce(sa.func.sum(ledger.c.input_tokens), 0).label(
                            "input_tokens"
                        ),
                        sa.func.coalesce(sa.func.sum(ledger.c.output_tokens), 0).label(
                            "output_tokens"
                        ),
                    ).where(ledger.c.conversation_id == conversation_id)
                )
                .mappings()
                .one()
            )
            calls = db.execute(
                sa.select(tool_calls)
                .join(turns, turns.c.id == tool_calls.c.turn_id)
                .where(turns.c.conversation_id == conversation_id)
                .order_by(tool_calls.c.created_at)
            ).mappings()
            call_list = [dict(r) | {"result": json.loads(r["result"])} for r in calls]
        return {
            "id": conv["id"],
            "title": conv["title"],
            "created_at": conv["created_at"],
            "updated_at": conv["updated_at"],
            "context": json.loads(conv["context"]),
            "turns": turn_list,
            "messages": message_list,
            "tool_calls": call_list,
            **dict(usage),
        }

    # -- tool-call journal ------------------------------------------------------------------
    def tool_result(self, turn_id: str, step_id: str) -> dict[str, Any] | None:
        query = sa.select(tool_calls.c.result).where(
            tool_calls.c.turn_id == turn_id, tool_calls.c.step_id == step_id
        )
        with self._read() as db:
            result = db.execute(query).scalar()
        return json.loads(result) if result is not None else None

    def record_tool(
        self, turn_id: str, step_id: str, name: str, arguments: str, result: dict[str, Any]
    ) -> None:
        row = {"turn_id": turn_id, "step_id": step_id, "name": name, "arguments": arguments,
               "result": _dumps(result), "created_at": time.time()}  # fmt: skip
        with self._write() as db:
            insert_ignore(db, tool_calls, row)

    # -- events -----------------------------------------------------------------------------
    def add_event(
        self, conversation_id: str, turn_id: str, key: str, kind: str, data: dict[str, Any]
    ) -> None:
        with self._write() as db:
            self._event(db, conversation_id, turn_id, key, kind, data)

    @staticmethod
    def _event(
        db: sa.Connection,
        conversation_id: str,
        turn_id: str,
        key: str,
        kind: str,
        data: dict[str, Any],
    ) -> None:
        row = {"conversation_id": conversation_id, "turn_id": turn_id, "key": key, "kind": kind,
               "data": _dumps(data), "created_at": time.time()}  # fmt: skip
        insert_ignore(db, events, row)

    def events(
        self, conversation_id: str, after: int = 0, limit: int = 500
    ) -> list[dict[str, Any]]:
        e = events
        query = (
            sa.select(e.c.seq, e.c.turn_id, e.c.kind, e.c.data, e.c.created_at)
            .where(e.c.conversation_id == conversation_id, e.c.seq > after)
            .order_by(e.c.seq)
            .limit(limit)
        )
        with self._read() as db:
            rows = db.execute(query).mappings().all()
        return [dict(r) | {"data": json.loads(r["data"])} for r in rows]

    def wait_for_change(self, timeout_s: float) -> None:
        """Block until this process's next write (or the timeout): the SSE stream's wake-up.
        Writes by another replica are seen at the timeout (the stream polls)."""
        with self.changed:
            version = self._version
            self.changed.wait_for(lambda: self._version != version, timeout=timeout_s)

    # -- ledger (agent.loop.budget.LedgerStore) ---------------------------------------------
    def reserve(self, entry: Entry, limits: BudgetLimits) -> Decision:
        with self._write() as db:
            row = db.execute(sa.select(ledger.c.result).where(ledger.c.key == entry.key)).first()
            if row is not None:
                result = json.loads(row.result) if row.result else None
                return Decision(allowed=True, existing=True, result=result)
            decision = decide(self._spend(db, entry.account), entry.reserved_usd, limits)
            if decision.allowed:
                a = entry.account
                db.execute(
                    ledger.insert().values(
                        key=entry.key, conversation_id=a.conversation_id, turn_id=a.turn_id,
                        day=a.day, model=entry.model, reserved_usd=entry.reserved_usd,
                        created_at=time.time(),
                    )
                )  # fmt: skip
            return decision

    def settle(
        self,
        key: str,
        cost_usd: float,
        usage: Usage,
        model: str,
        result: dict[str, Any] | None = None,
    ) -> None:
        settled = (
            ledger.update()
            .where(ledger.c.key == key, ledger.c.settled_usd.is_(None))
            .values(
                settled_usd=cost_usd, input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens, cached_tokens=usage.cached_input_tokens,
                model=model, result=None if result is None else _dumps(result),
            )
        )  # fmt: skip
        with self._write() as db:
            db.execute(settled)

    def release(self, key: str) -> None:
        with self._write() as db:
            db.execute(ledger.delete().where(ledger.c.key == key, ledger.c.settled_usd.is_(None)))

    def spend(self, account: Account) -> Spend:
        with self._read() as db:
            return self._spend(db, account)

    @staticmethod
    def _spend(db: sa.Connection, account: Account) -> Spend:
        def counted(where: sa.ColumnElement[bool]) -> Any:
            return sa.select(_COUNTED).where(where).scalar_subquery()

        row = db.execute(
            sa.select(
                counted(ledger.c.turn_id == account.turn_id),
                counted(ledger.c.conversation_id == account.conversation_id),
                counted(ledger.c.day == account.day),
            )
        ).one()
        return Spend(turn=row[0], conversation=row[1], day=row[2])

    # -- drafts (agent.tools.drafts.Drafts) -------------------------------------------------
    def put_draft(self, skill_id: str, source: str) -> None:
        row = {"skill_id": skill_id, "source": source, "updated_at": time.time()}
        with self._write() as db:
            upsert(db, drafts, row, ["skill_id"], replace=["source", "updated_at"])

    def get_draft(self, skill_id: str) -> str | None:
        with self._read() as db:
            source = db.execute(
                sa.select(drafts.c.source).where(drafts.c.skill_id == skill_id)
            ).scalar()
        return None if source is None else str(source)

    def draft_ids(self) -> list[str]:
        with self._read() as db:
            return list(
                db.execute(sa.select(drafts.c.skill_id).order_by(drafts.c.skill_id)).scalars()
            )
