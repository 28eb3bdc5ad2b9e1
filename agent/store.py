"""The agent's store: conversations, turns, transcripts, tool calls, costs, events (SQLite).

One file (``var/agent.db``, WAL). Writes go through one connection under one lock with
``BEGIN IMMEDIATE`` and a generous busy timeout; readers use their own connection per thread.

Every write a turn makes from inside a step is idempotent on a key derived from the turn
and the step id (``INSERT OR IGNORE``, or a guarded ``UPDATE``), because a step can run
again after a crash: nothing is recorded twice, no event is streamed twice, no cost is
counted twice. The ledger table implements ``agent.loop.budget.LedgerStore`` and the drafts
table ``agent.tools.drafts.Drafts``.

Tables: ``conversations`` (title, working context, totals), ``turns`` (one per user
message, FIFO by ``seq``), ``messages`` (the full transcript, never compacted),
``tool_calls`` (arguments and results; also the journal that keeps a finished tool call
from running again), ``ledger`` (reservations, settled costs and model results),
``events`` (what the SSE stream replays), ``drafts``.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from agent.errors import ConversationNotFound
from agent.llm.reply import Usage
from agent.loop.budget import Account, BudgetLimits, Decision, Entry, Spend, decide

SCHEMA = Path(__file__).with_name("schema.sql")

OPEN_STATUSES = ("queued", "running")


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:20]}"


class AgentStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._write_lock = threading.Lock()
        self._writer = self._connect()
        self._local = threading.local()
        with self._write_lock:
            self._writer.executescript(SCHEMA.read_text(encoding="utf-8"))
        self.changed = threading.Condition()
        self._version = 0

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, timeout=30.0, check_same_thread=False, isolation_level=None
        )
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=30000")
        return conn

    @property
    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return conn

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._write_lock:
            self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield self._writer
            except BaseException:
                self._writer.execute("ROLLBACK")
                raise
            self._writer.execute("COMMIT")
        with self.changed:
            self._version += 1
            self.changed.notify_all()

    def close(self) -> None:
        self._writer.close()

    # -- conversations and turns ------------------------------------------------------------
    def create_conversation(self, title: str, conversation_id: str | None = None) -> str:
        cid = conversation_id or new_id("conv")
        now = time.time()
        with self._write() as db:
            db.execute(
                "INSERT OR IGNORE INTO conversations (id, title, created_at, updated_at)"
                " VALUES (?, ?, ?, ?)",
                (cid, title[:120] or "conversation", now, now),
            )
        return cid

    def add_turn(
        self, conversation_id: str, text: str, turn_id: str | None = None
    ) -> dict[str, Any]:
        """A user message becomes a queued turn; its position is the number of turns ahead."""
        tid = turn_id or new_id("turn")
        now = time.time()
        with self._write() as db:
            if not db.execute(
                "SELECT 1 FROM conversations WHERE id = ?", (conversation_id,)
            ).fetchone():
                raise ConversationNotFound(f"no conversation {conversation_id!r}")
            seq = db.execute(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM turns WHERE conversation_id = ?",
                (conversation_id,),
            ).fetchone()[0]
            db.execute(
                "INSERT INTO turns (id, conversation_id, seq, user_text, status, created_at)"
                " VALUES (?, ?, ?, ?, 'queued', ?)",
                (tid, conversation_id, seq, text, now),
            )
            db.execute(
                "UPDATE conversations SET updated_at = ? WHERE id = ?", (now, conversation_id)
            )
            ahead = db.execute(
                "SELECT COUNT(*) FROM turns WHERE conversation_id = ? AND seq < ?"
                " AND status IN ('queued', 'running')",
                (conversation_id, seq),
            ).fetchone()[0]
            self._event(db, conversation_id, tid, f"{tid}:queued", "turn.queued", {"ahead": ahead})
        return {"turn_id": tid, "conversation_id": conversation_id, "seq": seq, "ahead": ahead}

    def turns_ahead(self, turn_id: str) -> int:
        row = self._turn_row(turn_id)
        return int(
            self._reader.execute(
                "SELECT COUNT(*) FROM turns WHERE conversation_id = ? AND seq < ?"
                " AND status IN ('queued', 'running')",
                (row["conversation_id"], row["seq"]),
            ).fetchone()[0]
        )

    def begin_turn(self, turn_id: str) -> dict[str, Any]:
        """Mark the turn running and snapshot what it starts from (memoized by the engine)."""
        now = time.time()
        with self._write() as db:
            row = db.execute("SELECT * FROM turns WHERE id = ?", (turn_id,)).fetchone()
            if row is None:
                raise ConversationNotFound(f"no turn {turn_id!r}")
            db.execute(
                "UPDATE turns SET status = 'running', started_at = COALESCE(started_at, ?)"
                " WHERE id = ? AND status = 'queued'",
                (now, turn_id),
            )
            conv = db.execute(
                "SELECT context FROM conversations WHERE id = ?", (row["conversation_id"],)
            ).fetchone()
            self._event(
                db, row["conversation_id"], turn_id, f"{turn_id}:started", "turn.started", {}
            )
        return {
            "conversation_id": row["conversation_id"],
            "turn_id": turn_id,
            "user_text": row["user_text"],
            "context": json.loads(conv["context"]),
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
            row = db.execute("SELECT * FROM turns WHERE id = ?", (turn_id,)).fetchone()
            if row is None:
                raise ConversationNotFound(f"no turn {turn_id!r}")
            cid = row["conversation_id"]
            if row["status"] in OPEN_STATUSES:
                db.execute(
                    "UPDATE turns SET status = ?, stop_reason = ?, reply = ?, outcome = ?,"
                    " ended_at = ? WHERE id = ?",
                    (
                        "done",
                        outcome.get("reason"),
                        outcome.get("reply"),
                        _dumps(outcome),
                        now,
                        turn_id,
                    ),
                )
                db.execute(
                    "UPDATE conversations SET context = ?, updated_at = ? WHERE id = ?",
                    (_dumps(context), now, cid),
                )
                db.executemany(
                    "INSERT OR IGNORE INTO messages (conversation_id, turn_id, idx, message)"
                    " VALUES (?, ?, ?, ?)",
                    [(cid, turn_id, i, _dumps(m)) for i, m in enumerate(transcript)],
                )
            self._event(db, cid, turn_id, f"{turn_id}:finished", "turn.finished", outcome)
        return outcome

    def fail_turn(self, turn_id: str, error: str) -> None:
        """The run failed for good (the engine's on_failure): close the turn so others proceed."""
        now = time.time()
        with self._write() as db:
            row = db.execute("SELECT * FROM turns WHERE id = ?", (turn_id,)).fetchone()
            if row is None:
                return
            if row["status"] in OPEN_STATUSES:
                outcome = {"reason": "failed", "reply": f"The turn failed: {error}"}
                db.execute(
                    "UPDATE turns SET status = 'failed', stop_reason = 'failed', reply = ?,"
                    " outcome = ?, ended_at = ? WHERE id = ?",
                    (outcome["reply"], _dumps(outcome), now, turn_id),
                )
                self._event(
                    db,
                    row["conversation_id"],
                    turn_id,
                    f"{turn_id}:finished",
                    "turn.finished",
                    outcome,
                )

    def turn(self, turn_id: str) -> dict[str, Any]:
        row = self._turn_row(turn_id)
        out = dict(row)
        out["outcome"] = json.loads(row["outcome"]) if row["outcome"] else None
        return out

    def _turn_row(self, turn_id: str) -> sqlite3.Row:
        row = self._reader.execute("SELECT * FROM turns WHERE id = ?", (turn_id,)).fetchone()
        if row is None:
            raise ConversationNotFound(f"no turn {turn_id!r}")
        return row  # type: ignore[no-any-return]

    def conversations(self, limit: int = 50) -> list[dict[str, Any]]:
        rows = self._reader.execute(
            "SELECT c.id, c.title, c.created_at, c.updated_at,"
            " (SELECT COUNT(*) FROM turns t WHERE t.conversation_id = c.id) AS turns,"
            " (SELECT COALESCE(SUM(COALESCE(settled_usd, reserved_usd)), 0) FROM ledger l"
            "   WHERE l.conversation_id = c.id) AS cost_usd"
            " FROM conversations c ORDER BY c.updated_at DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [dict(r) for r in rows]

    def conversation(self, conversation_id: str) -> dict[str, Any]:
        conv = self._reader.execute(
            "SELECT * FROM conversations WHERE id = ?", (conversation_id,)
        ).fetchone()
        if conv is None:
            raise ConversationNotFound(f"no conversation {conversation_id!r}")
        turns = [
            dict(r) | {"outcome": json.loads(r["outcome"]) if r["outcome"] else None}
            for r in self._reader.execute(
                "SELECT * FROM turns WHERE conversation_id = ? ORDER BY seq", (conversation_id,)
            )
        ]
        messages = [
            json.loads(r["message"])
            for r in self._reader.execute(
                "SELECT m.message FROM messages m JOIN turns t ON t.id = m.turn_id"
                " WHERE m.conversation_id = ? ORDER BY t.seq, m.idx",
                (conversation_id,),
            )
        ]
        usage = self._reader.execute(
            "SELECT COALESCE(SUM(COALESCE(settled_usd, reserved_usd)), 0) AS cost_usd,"
            " COALESCE(SUM(input_tokens), 0) AS input_tokens,"
            " COALESCE(SUM(output_tokens), 0) AS output_tokens FROM ledger"
            " WHERE conversation_id = ?",
            (conversation_id,),
        ).fetchone()
        tool_calls = [
            dict(r) | {"result": json.loads(r["result"])}
            for r in self._reader.execute(
                "SELECT c.* FROM tool_calls c JOIN turns t ON t.id = c.turn_id"
                " WHERE t.conversation_id = ? ORDER BY c.created_at",
                (conversation_id,),
            )
        ]
        return {
            "id": conv["id"],
            "title": conv["title"],
            "created_at": conv["created_at"],
            "updated_at": conv["updated_at"],
            "context": json.loads(conv["context"]),
            "turns": turns,
            "messages": messages,
            "tool_calls": tool_calls,
            **dict(usage),
        }

    # -- tool-call journal ------------------------------------------------------------------
    def tool_result(self, turn_id: str, step_id: str) -> dict[str, Any] | None:
        row = self._reader.execute(
            "SELECT result FROM tool_calls WHERE turn_id = ? AND step_id = ?", (turn_id, step_id)
        ).fetchone()
        return json.loads(row["result"]) if row else None

    def record_tool(
        self, turn_id: str, step_id: str, name: str, arguments: str, result: dict[str, Any]
    ) -> None:
        with self._write() as db:
            db.execute(
                "INSERT OR IGNORE INTO tool_calls (turn_id, step_id, name, arguments, result,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (turn_id, step_id, name, arguments, _dumps(result), time.time()),
            )

    # -- events -----------------------------------------------------------------------------
    def add_event(
        self, conversation_id: str, turn_id: str, key: str, kind: str, data: dict[str, Any]
    ) -> None:
        with self._write() as db:
            self._event(db, conversation_id, turn_id, key, kind, data)

    @staticmethod
    def _event(
        db: sqlite3.Connection,
        conversation_id: str,
        turn_id: str,
        key: str,
        kind: str,
        data: dict[str, Any],
    ) -> None:
        db.execute(
            "INSERT OR IGNORE INTO events (conversation_id, turn_id, key, kind, data, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (conversation_id, turn_id, key, kind, _dumps(data), time.time()),
        )

    def events(
        self, conversation_id: str, after: int = 0, limit: int = 500
    ) -> list[dict[str, Any]]:
        rows = self._reader.execute(
            "SELECT seq, turn_id, kind, data, created_at FROM events"
            " WHERE conversation_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            (conversation_id, after, limit),
        ).fetchall()
        return [dict(r) | {"data": json.loads(r["data"])} for r in rows]

    def wait_for_change(self, timeout_s: float) -> None:
        """Block until the next write (or the timeout): the SSE stream's wake-up."""
        with self.changed:
            version = self._version
            self.changed.wait_for(lambda: self._version != version, timeout=timeout_s)

    # -- ledger (agent.loop.budget.LedgerStore) ---------------------------------------------
    def reserve(self, entry: Entry, limits: BudgetLimits) -> Decision:
        with self._write() as db:
            row = db.execute("SELECT result FROM ledger WHERE key = ?", (entry.key,)).fetchone()
            if row is not None:
                result = json.loads(row["result"]) if row["result"] else None
                return Decision(allowed=True, existing=True, result=result)
            decision = decide(self._spend(db, entry.account), entry.reserved_usd, limits)
            if decision.allowed:
                a = entry.account
                db.execute(
                    "INSERT INTO ledger (key, conversation_id, turn_id, day, model, reserved_usd,"
                    " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        entry.key,
                        a.conversation_id,
                        a.turn_id,
                        a.day,
                        entry.model,
                        entry.reserved_usd,
                        time.time(),
                    ),
                )
            return decision

    def settle(
        self,
        key: str,
        cost_usd: float,
        usage: Usage,
        model: str,
        result: dict[str, Any] | None = None,
    ) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE ledger SET settled_usd = ?, input_tokens = ?, output_tokens = ?,"
                " cached_tokens = ?, model = ?, result = ? WHERE key = ? AND settled_usd IS NULL",
                (
                    cost_usd,
                    usage.input_tokens,
                    usage.output_tokens,
                    usage.cached_input_tokens,
                    model,
                    None if result is None else _dumps(result),
                    key,
                ),
            )

    def release(self, key: str) -> None:
        with self._write() as db:
            db.execute("DELETE FROM ledger WHERE key = ? AND settled_usd IS NULL", (key,))

    def spend(self, account: Account) -> Spend:
        return self._spend(self._reader, account)

    @staticmethod
    def _spend(db: sqlite3.Connection, account: Account) -> Spend:
        counted = "COALESCE(SUM(COALESCE(settled_usd, reserved_usd)), 0)"
        row = db.execute(
            f"SELECT (SELECT {counted} FROM ledger WHERE turn_id = ?),"
            f" (SELECT {counted} FROM ledger WHERE conversation_id = ?),"
            f" (SELECT {counted} FROM ledger WHERE day = ?)",
            (account.turn_id, account.conversation_id, account.day),
        ).fetchone()
        return Spend(turn=row[0], conversation=row[1], day=row[2])

    # -- drafts (agent.tools.drafts.Drafts) -------------------------------------------------
    def put_draft(self, skill_id: str, source: str) -> None:
        with self._write() as db:
            db.execute(
                "INSERT INTO drafts (skill_id, source, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (skill_id) DO UPDATE SET source = excluded.source,"
                " updated_at = excluded.updated_at",
                (skill_id, source, time.time()),
            )

    def get_draft(self, skill_id: str) -> str | None:
        row = self._reader.execute(
            "SELECT source FROM drafts WHERE skill_id = ?", (skill_id,)
        ).fetchone()
        return str(row["source"]) if row else None

    def draft_ids(self) -> list[str]:
        return [r[0] for r in self._reader.execute("SELECT skill_id FROM drafts ORDER BY skill_id")]
