"""The agent's tables on the platform store (see ``agent/store.py`` for what each holds)."""

from __future__ import annotations

import sqlalchemy as sa

from loopwright.store import metadata

conversations = sa.Table(
    "agent_conversations",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("context", sa.Text, nullable=False, server_default="{}"),  # JSON
)

turns = sa.Table(
    "agent_turns",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("conversation_id", sa.Text, sa.ForeignKey(conversations.c.id), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("user_text", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("stop_reason", sa.Text),
    sa.Column("reply", sa.Text),
    sa.Column("outcome", sa.Text),  # JSON
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("started_at", sa.Float),
    sa.Column("ended_at", sa.Float),
    sa.UniqueConstraint("conversation_id", "seq"),
)

messages = sa.Table(
    "agent_messages",
    metadata,
    sa.Column("conversation_id", sa.Text, nullable=False),
    sa.Column("turn_id", sa.Text, primary_key=True),
    sa.Column("idx", sa.Integer, primary_key=True),
    sa.Column("message", sa.Text, nullable=False),  # JSON
)

tool_calls = sa.Table(
    "agent_tool_calls",
    metadata,
    sa.Column("turn_id", sa.Text, primary_key=True),
    sa.Column("step_id", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("arguments", sa.Text, nullable=False),
    sa.Column("result", sa.Text, nullable=False),  # JSON
    sa.Column("created_at", sa.Float, nullable=False),
)

ledger = sa.Table(
    "agent_ledger",
    metadata,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("conversation_id", sa.Text, nullable=False),
    sa.Column("turn_id", sa.Text, nullable=False),
    sa.Column("day", sa.Text, nullable=False),
    sa.Column("model", sa.Text, nullable=False),
    sa.Column("reserved_usd", sa.Float, nullable=False),
    sa.Column("settled_usd", sa.Float),
    sa.Column("input_tokens", sa.Integer, nullable=False, server_default="0"),
    sa.Column("output_tokens", sa.Integer, nullable=False, server_default="0"),
    sa.Column("cached_tokens", sa.Integer, nullable=False, server_default="0"),
    sa.Column("result", sa.Text),  # JSON
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Index("agent_ledger_conversation", "conversation_id"),
    sa.Index("agent_ledger_turn", "turn_id"),
    sa.Index("agent_ledger_day", "day"),
)

events = sa.Table(
    "agent_events",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("conversation_id", sa.Text, nullable=False),
    sa.Column("turn_id", sa.Text, nullable=False),
    sa.Column("key", sa.Text, nullable=False, unique=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("data", sa.Text, nullable=False),  # JSON
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Index("agent_events_conversation", "conversation_id", "seq"),
    sqlite_autoincrement=True,  # the SSE stream resumes after a seq: never reuse one
)

drafts = sa.Table(
    "agent_drafts",
    metadata,
    sa.Column("skill_id", sa.Text, primary_key=True),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)
