"""The review's own tables on the shared platform store (``loopwright.store.metadata``).

* ``review_feedback`` — one label per (message, person): useful / false-alarm / missed, with
  the message's run id and the decision records it refers to.
* ``review_reports`` — one row per review window (the id is the idempotency key of a run).
* ``review_proposals`` — candidates, keyed by a hash of what they change, so a review that
  resumes after a crash finds its proposals instead of making them twice.
* ``review_audit`` — every action the review takes, in order.
"""

from __future__ import annotations

import sqlalchemy as sa

from loopwright.store import metadata

feedback = sa.Table(
    "review_feedback",
    metadata,
    sa.Column("message_id", sa.String(200), primary_key=True),
    sa.Column("by", sa.String(100), primary_key=True),
    sa.Column("label", sa.String(20), nullable=False),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("source", sa.String(20), nullable=False),  # cli | http | slack
    sa.Column("skill_id", sa.String(200), nullable=False),
    sa.Column("run_id", sa.String(200), nullable=True),
    sa.Column("skill_version", sa.Integer, nullable=True),
    #: [{"run_id", "index", "subject", "at", "label"}] — the decisions the message was about.
    sa.Column("decisions", sa.JSON, nullable=False),
    sa.Column("message_at", sa.Float, nullable=False),
    sa.Column("at", sa.Float, nullable=False),
    sa.Index("review_feedback_skill_time", "skill_id", "message_at"),
)

reports = sa.Table(
    "review_reports",
    metadata,
    sa.Column("id", sa.String(100), primary_key=True),
    sa.Column("window_start", sa.Float, nullable=False),
    sa.Column("window_end", sa.Float, nullable=False),
    sa.Column("state", sa.String(20), nullable=False),  # running | done
    sa.Column("dry_run", sa.Boolean, nullable=False),
    sa.Column("markdown", sa.Text, nullable=True),
    sa.Column("data", sa.JSON, nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("finished_at", sa.Float, nullable=True),
)

proposals = sa.Table(
    "review_proposals",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("report_id", sa.String(100), nullable=False),
    sa.Column("skill_id", sa.String(200), nullable=False),
    sa.Column("base_version", sa.Integer, nullable=True),
    sa.Column("path", sa.String(20), nullable=False),  # tuning | rewrite
    sa.Column("state", sa.String(30), nullable=False),
    sa.Column("candidate_version", sa.Integer, nullable=True),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("evidence", sa.JSON, nullable=False),
    sa.Column("changes", sa.JSON, nullable=False),
    sa.Column("backtest", sa.JSON, nullable=True),
    sa.Column("shadow", sa.JSON, nullable=True),
    sa.Column("watch", sa.JSON, nullable=True),
    sa.Column("source", sa.Text, nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("promoted_at", sa.Float, nullable=True),
    sa.Index("review_proposals_skill", "skill_id", "created_at"),
)

audit = sa.Table(
    "review_audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("action", sa.String(50), nullable=False),
    sa.Column("skill_id", sa.String(200), nullable=True),
    sa.Column("proposal_id", sa.String(40), nullable=True),
    sa.Column("report_id", sa.String(100), nullable=True),
    sa.Column("detail", sa.JSON, nullable=False),
)

TABLES = (feedback, reports, proposals, audit)
