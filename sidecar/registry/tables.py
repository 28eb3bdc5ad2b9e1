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
