"""The ledger's tables on the platform store (see ``loopwright.store``).

``ledger_runs`` holds one row per run, ``ledger_steps`` one per executed step,
``ledger_decisions`` the decision records skills return, ``ledger_rollups`` per-day counters
per skill and version (kept as runs finish, so a week's aggregates never scan raw runs), and
``ledger_gaps`` the writes that failed and were dropped rather than fail a run.
"""

from __future__ import annotations

import sqlalchemy as sa

from loopwright.store import metadata

from .histogram import BUCKET_COLUMNS

runs = sa.Table(
    "ledger_runs",
    metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("app_id", sa.String(200), nullable=False),
    sa.Column("function_id", sa.String(400), nullable=False),
    sa.Column("skill_id", sa.String(200)),
    sa.Column("skill_version", sa.Integer),
    sa.Column("trigger", sa.String(16), nullable=False),
    sa.Column("event_name", sa.String(400)),
    sa.Column("event_id", sa.String(200)),
    sa.Column("cron", sa.String(200)),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("ended_at", sa.Float),
    sa.Column("duration_ms", sa.Float),
    sa.Column("attempts", sa.Integer, nullable=False, default=1),
    sa.Column("error_code", sa.String(200)),
    sa.Column("error_message", sa.Text),
    sa.Column("llm_calls", sa.Integer, nullable=False, default=0),
    sa.Column("input_tokens", sa.Integer, nullable=False, default=0),
    sa.Column("output_tokens", sa.Integer, nullable=False, default=0),
    sa.Column("cost_usd", sa.Float, nullable=False, default=0.0),
    sa.Column("fallback", sa.Boolean, nullable=False, default=False),
    sa.Column("output", sa.JSON),
    sa.Column("finalized", sa.Boolean, nullable=False, default=False),
    sa.Index("ledger_runs_started", "started_at"),
    sa.Index("ledger_runs_skill_started", "skill_id", "started_at"),
    sa.Index("ledger_runs_function_started", "function_id", "started_at"),
    sa.Index("ledger_runs_status_started", "status", "started_at"),
)

steps = sa.Table(
    "ledger_steps",
    metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("step_id", sa.String(400), primary_key=True),
    sa.Column("name", sa.String(400), nullable=False),
    sa.Column("op", sa.String(32), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("duration_ms", sa.Float, nullable=False),
    sa.Column("error_code", sa.String(200)),
    sa.Column("error_message", sa.Text),
    sa.Column("finished_at", sa.Float, nullable=False),
)

decisions = sa.Table(
    "ledger_decisions",
    metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("idx", sa.Integer, primary_key=True),
    sa.Column("skill_id", sa.String(200), nullable=False),
    sa.Column("skill_version", sa.Integer),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("subject", sa.String(400)),
    sa.Column("label", sa.String(200)),
    sa.Column("decided_by", sa.String(64)),
    sa.Column("fallback", sa.Boolean, nullable=False, default=False),
    sa.Column("features", sa.JSON),
    sa.Column("detail", sa.JSON),
    sa.Index("ledger_decisions_skill_at", "skill_id", "at"),
)

rollups = sa.Table(
    "ledger_rollups",
    metadata,
    sa.Column("skill_id", sa.String(400), primary_key=True),
    sa.Column("skill_version", sa.Integer, primary_key=True),  # 0 when the run had none
    sa.Column("day", sa.String(10), primary_key=True),  # YYYY-MM-DD, UTC, of the run's end
    sa.Column("runs", sa.Integer, nullable=False),
    sa.Column("completed", sa.Integer, nullable=False),
    sa.Column("failed", sa.Integer, nullable=False),
    sa.Column("cancelled", sa.Integer, nullable=False),
    sa.Column("retried", sa.Integer, nullable=False),
    sa.Column("fallbacks", sa.Integer, nullable=False),
    sa.Column("llm_calls", sa.Integer, nullable=False),
    sa.Column("cost_usd", sa.Float, nullable=False),
    sa.Column("duration_sum_ms", sa.Float, nullable=False),
    *(sa.Column(name, sa.Integer, nullable=False) for name in BUCKET_COLUMNS),
    sa.Index("ledger_rollups_day", "day"),
)

gaps = sa.Table(
    "ledger_gaps",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("run_id", sa.String(64)),
    sa.Column("what", sa.String(64), nullable=False),
    sa.Column("error", sa.Text, nullable=False),
)
