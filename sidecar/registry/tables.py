"""The registry's tables on the platform store (see ``loopwright.store``).

``registry_skills`` holds one row per skill (which version is live, paused, removed, which
version the file holds), ``registry_versions`` every version ever proposed (immutable source,
its validation report, approval and state), ``registry_audit`` every state move.
"""

from __future__ import annotations

import sqlalchemy as sa

from loopwright.store import metadata

skills = sa.Table(
    "registry_skills",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("filename", sa.Text, nullable=False),
    sa.Column("active_version", sa.Integer),
    sa.Column("paused", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("removed", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("file_version", sa.Integer),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

versions = sa.Table(
    "registry_versions",
    metadata,
    sa.Column("skill_id", sa.Text, sa.ForeignKey(skills.c.id), primary_key=True),
    sa.Column("number", sa.Integer, primary_key=True),
    sa.Column("content_hash", sa.Text, nullable=False),
    sa.Column("parent", sa.Integer),
    sa.Column("author", sa.String(64), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("filename", sa.Text, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("state", sa.String(32), nullable=False),
    sa.Column("note", sa.Text),
    sa.Column("report", sa.Text),  # JSON
    sa.Column("approval", sa.Text),  # JSON
    sa.Column("approved_by", sa.Text),
    sa.Column("approved_at", sa.Float),
    sa.Column("activated_at", sa.Float),
    sa.Column("function_ids", sa.Text, nullable=False, server_default="[]"),  # JSON list
    sa.UniqueConstraint("skill_id", "content_hash"),
)

audit = sa.Table(
    "registry_audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("skill_id", sa.Text, nullable=False),
    sa.Column("version", sa.Integer),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("from_state", sa.String(32)),
    sa.Column("to_state", sa.String(32)),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("detail", sa.Text),
    sa.Column("at", sa.Float, nullable=False),
    sa.Index("registry_audit_by_skill", "skill_id", "id"),
    sqlite_autoincrement=True,
)

#: Candidates running beside a skill's active version (docs/REVIEW.md "Shadow"), by proposal.
shadows = sa.Table(
    "registry_shadows",
    metadata,
    sa.Column("proposal_id", sa.String(200), primary_key=True),
    sa.Column("skill_id", sa.Text, nullable=False),
    sa.Column("base_version", sa.Integer, nullable=False),
    sa.Column("filename", sa.Text, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("content_hash", sa.Text, nullable=False),
    sa.Column("report", sa.Text, nullable=False),  # JSON: the candidate's validation report
    sa.Column("functions", sa.Text, nullable=False),  # JSON: [{fn_id, shadow_fn_id}]
    sa.Column("state", sa.String(16), nullable=False),  # running | stopped
    sa.Column("started_by", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("stopped_at", sa.Float),
    sa.Column("stop_reason", sa.Text),
)

#: What a shadow run would have done to the world, recorded instead of done.
shadow_effects = sa.Table(
    "registry_shadow_effects",
    metadata,
    sa.Column("proposal_id", sa.String(200), primary_key=True),
    #: run, step and call number: a retried step records its effect once.
    sa.Column("key", sa.String(600), primary_key=True),
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Column("capability", sa.String(32), nullable=False),
    sa.Column("method", sa.String(32), nullable=False),
    sa.Column("args", sa.Text, nullable=False),  # JSON
    sa.Column("at", sa.Float, nullable=False),
)
