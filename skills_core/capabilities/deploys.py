"""The deploys capability: what shipped, where and when, from one of three kinds of source.

* ``jsonl`` — a deploy log, one JSON object per line (what CI scripts and the demo fleet
  append): ``{"service", "version", "at" (ISO 8601), "author", "description"}``. Lines that
  do not parse are skipped, so one bad write never hides the rest of the history.
* ``git`` — a repository's first-parent history, each commit a deploy of one service (for
  teams that deploy every merge to main). ``git log`` runs with a fixed format.
* ``events`` — ``deploy/created`` events posted to the platform, kept on the platform store; recording
  the same event id twice keeps one row, so replays of the ingesting function are harmless.

Triage asks "what deployed to this service shortly before the onset", so every source
answers one query: deploys of a service (or all) in a time window, newest first.
"""

from __future__ import annotations

import datetime
import json
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import pydantic
import sqlalchemy as sa

from loopwright.store import insert_ignore, metadata

from .errors import CapabilityNotConfigured, DeploysUnavailable
from .grant import Grant
from .settings import CapabilitySettings, EventDeploySource, GitDeploySource, JsonlDeploySource
from .store import CapabilityStore

GIT_TIMEOUT_S = 10.0
MAX_HOURS = 24 * 90
_SEP, _END = "\x1f", "\x1e"

events = sa.Table(
    "deploy_events",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("service", sa.Text, nullable=False),
    sa.Column("version", sa.Text, nullable=False),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("author", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Index("deploy_events_service_at", "service", "at"),
)


class Deploy(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(frozen=True)

    service: str = pydantic.Field(min_length=1)
    version: str = pydantic.Field(min_length=1)
    at: datetime.datetime
    author: str = ""
    description: str = ""

    @pydantic.field_validator("at")
    @classmethod
    def _aware(cls, at: datetime.datetime) -> datetime.datetime:
        """Naive times are UTC: a deploy log written without an offset means UTC."""
        return at if at.tzinfo else at.replace(tzinfo=datetime.UTC)


class DeployEvent(Deploy):
    """A ``deploy/created`` event's data; ``id`` (the event id) makes recording idempotent."""

    id: str = pydantic.Field(default_factory=lambda: uuid.uuid4().hex)


class DeploysService:
    def __init__(self, settings: CapabilitySettings, store: CapabilityStore) -> None:
        self._sources = dict(settings.deploys)
        self._store = store

    def recent(
        self,
        grant: Grant,
        *,
        service: str | None = None,
        hours: float = 6,
        source: str | None = None,
    ) -> list[Deploy]:
        if not 0 < hours <= MAX_HOURS:
            raise DeploysUnavailable(f"hours must be in (0, {MAX_HOURS}]", retriable=False)
        end = time.time()
        return self.between(
            grant, service=service, start=end - hours * 3600, end=end, source=source
        )

    def between(
        self,
        grant: Grant,
        *,
        service: str | None,
        start: float,
        end: float,
        source: str | None = None,
    ) -> list[Deploy]:
        """Deploys of ``service`` (None: all) with ``start <= at <= end``, newest first."""
        name = grant.deploy_source(source)
        config = self._sources.get(name)
        if isinstance(config, JsonlDeploySource):
            found = _from_log(config.path)
        elif isinstance(config, GitDeploySource):
            found = _from_git(config, start, end)
        elif isinstance(config, EventDeploySource):
            found = self._from_events(service, start, end)
        else:
            raise CapabilityNotConfigured(
                f"deploys source {name!r} is granted but not configured on this platform "
                "(LOOPWRIGHT_DEPLOY_LOG / LOOPWRIGHT_DEPLOY_GIT_REPO)"
            )
        hits = [
            d
            for d in found
            if (service is None or d.service == service) and start <= d.at.timestamp() <= end
        ]
        return sorted(hits, key=lambda d: d.at, reverse=True)

    def record(self, data: dict[str, Any]) -> DeployEvent:
        """Store a ``deploy/created`` event (platform side, not a skill call)."""
        event = DeployEvent.model_validate(data)
        row = {
            "id": event.id,
            "service": event.service,
            "version": event.version,
            "at": event.at.timestamp(),
            "author": event.author,
            "description": event.description,
        }
        self._store.write(lambda db: insert_ignore(db, events, row))
        return event

    def _from_events(self, service: str | None, start: float, end: float) -> list[Deploy]:
        query = sa.select(events).where(events.c.at.between(start, end))
        if service is not None:
            query = query.where(events.c.service == service)
        rows = self._store.read(lambda db: db.execute(query).mappings().all())
        return [
            Deploy(
                service=row["service"],
                version=row["version"],
                at=datetime.datetime.fromtimestamp(row["at"], datetime.UTC),
                author=row["author"],
                description=row["description"],
            )
            for row in rows
        ]


def _from_log(path: Path) -> list[Deploy]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    except OSError as err:
        raise DeploysUnavailable(f"cannot read deploy log {path}: {err}", retry_after=10) from None
    deploys = []
    for line in lines:
        try:
            deploys.append(Deploy.model_validate(json.loads(line)))
        except (ValueError, TypeError):
            continue
    return deploys


def _from_git(config: GitDeploySource, start: float, end: float) -> list[Deploy]:
    def iso(ts: float) -> str:
        return datetime.datetime.fromtimestamp(ts, datetime.UTC).isoformat()

    command = [
        "git",
        "-C",
        str(config.repo),
        "log",
        "--first-parent",
        f"--since={iso(start - 1)}",
        f"--until={iso(end + 1)}",
        f"--format=%H{_SEP}%an{_SEP}%ct{_SEP}%s{_END}",
        config.ref,
        "--",
    ]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=GIT_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        raise DeploysUnavailable(f"git log failed: {type(err).__name__}", retry_after=10) from None
    if done.returncode != 0:
        raise DeploysUnavailable(
            f"git log in {config.repo} failed: {done.stderr.strip()[:300]}", retriable=False
        )
    deploys = []
    for record in done.stdout.split(_END):
        fields = record.strip("\n").split(_SEP)
        if len(fields) != 4:
            continue
        sha, author, committed, subject = fields
        deploys.append(
            Deploy(
                service=config.service,
                version=sha[:12],
                at=datetime.datetime.fromtimestamp(int(committed), datetime.UTC),
                author=author,
                description=subject,
            )
        )
    return deploys
