"""The registry: every version of every skill, on the platform store (``tables.py``).

Writes are rare (a file change, a person's click) and short; each is one store transaction,
taken under the registry's lock. Reads from SDK handler threads (which version's code to run)
mostly hit ``code()``, a cache over immutable version content.

Every state move is a row in ``registry_audit`` too, so "who activated what, when" survives
re-pointing (a rollback re-activates an existing version instead of copying it; see
docs/SKILLS.md). Changes that affect what runs are applied twice: once inside ``preview`` (to
build and sync the function set they would give), then for real once the engine took the sync.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa

from loopwright.store import Store, open_store, upsert

from .models import AuditEntry, Author, Skill, Version, dumps
from .states import VALID, TransitionError, VersionState, check_transition
from .tables import audit, skills, versions

T = TypeVar("T")

_LATEST = (
    sa.select(sa.func.coalesce(sa.func.max(versions.c.number), 0))
    .where(versions.c.skill_id == skills.c.id)
    .scalar_subquery()
)
_SKILLS = sa.select(
    skills.c.id, skills.c.filename, skills.c.active_version, skills.c.paused, skills.c.removed,
    skills.c.file_version, _LATEST, skills.c.created_at, skills.c.updated_at,
)  # fmt: skip
_VERSIONS = sa.select(
    *(versions.c[name] for name in (
        "skill_id", "number", "content_hash", "parent", "author", "reason", "created_at", "state",
        "note", "approval", "approved_by", "approved_at", "activated_at", "function_ids",
        "filename", "source", "report",
    ))
)  # fmt: skip
_AUDIT = sa.select(
    audit.c.id, audit.c.skill_id, audit.c.version, audit.c.action, audit.c.from_state,
    audit.c.to_state, audit.c.actor, audit.c.detail, audit.c.at,
)  # fmt: skip


class UnknownVersion(LookupError):
    """No such skill or version."""


class Registry:
    """Opens what it is given: a ``Store`` (shared, not closed here), a store URL or a SQLite path."""

    def __init__(self, source: Store | str | Path) -> None:
        self._owned = not isinstance(source, Store)
        self.store = source if isinstance(source, Store) else open_store(source)
        self.store.ensure()
        self._lock = threading.RLock()
        #: The connection of an open ``preview``: the previewing thread reads and writes on it.
        self._preview: sa.Connection | None = None
        self._code: dict[tuple[str, int], Version] = {}

    def close(self) -> None:
        with self._lock:
            if self._owned:
                self.store.close()

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sa.Connection]:
        with self._lock:
            if self._preview is not None:  # inside ``preview``: nest
                with self._preview.begin_nested():
                    yield self._preview
                return
            with self.store.transaction() as conn:
                yield conn

    def _read(self, fn: Callable[[sa.Connection], T]) -> T:
        # Taking the lock makes other threads wait out a preview, then read committed rows.
        with self._lock:
            if self._preview is not None:
                return fn(self._preview)
        return self.store.read(fn)

    @contextlib.contextmanager
    def preview(self) -> Iterator[None]:
        """Run changes and read their result, then roll everything back.

        The publisher builds the function set a change *would* give, syncs it, and only then
        commits the change: a version is never shown active before the engine has it. The
        lock is held throughout, so no other thread ever reads the uncommitted state.
        """
        with self._lock, self.store.transaction(rollback=True) as conn:
            self._preview = conn
            try:
                yield
            finally:
                self._preview = None

    # --- reads --------------------------------------------------------------------------

    def skills(self) -> list[Skill]:
        rows = self._read(lambda c: c.execute(_SKILLS.order_by(skills.c.id)).all())
        return [_skill(r) for r in rows]

    def skill(self, skill_id: str) -> Skill | None:
        row = self._read(lambda c: c.execute(_SKILLS.where(skills.c.id == skill_id)).first())
        return _skill(row) if row else None

    def versions(self, skill_id: str) -> list[Version]:
        query = _VERSIONS.where(versions.c.skill_id == skill_id).order_by(versions.c.number)
        return [_version(r) for r in self._read(lambda c: c.execute(query).all())]

    def version(self, skill_id: str, number: int) -> Version:
        query = _VERSIONS.where(versions.c.skill_id == skill_id, versions.c.number == number)
        row = self._read(lambda c: c.execute(query).first())
        if row is None:
            raise UnknownVersion(f"skill {skill_id!r} has no version {number}")
        return _version(row)

    def version_by_hash(self, skill_id: str, content_hash: str) -> Version | None:
        query = _VERSIONS.where(
            versions.c.skill_id == skill_id, versions.c.content_hash == content_hash
        )
        row = self._read(lambda c: c.execute(query).first())
        return _version(row) if row else None

    def code(self, skill_id: str, number: int) -> Version:
        """A version for running it: cached, since source and report never change."""
        key = (skill_id, number)
        cached = self._code.get(key)
        if cached is None:
            cached = self.version(skill_id, number)
            if cached.report is not None:
                self._code[key] = cached
        return cached

    def audit(self, skill_id: str, limit: int = 200) -> list[AuditEntry]:
        query = _AUDIT.where(audit.c.skill_id == skill_id).order_by(audit.c.id.desc()).limit(limit)
        return [AuditEntry(*r) for r in self._read(lambda c: c.execute(query).all())]

    def taken_function_ids(self, except_skill: str) -> frozenset[str]:
        """Function ids owned by other skills: any of their versions that passed validation.

        Ownership is permanent on purpose: a removed skill's functions may still be serving
        runs in flight, and the served app maps each function id to exactly one skill.
        """
        query = sa.select(versions.c.function_ids).where(
            versions.c.skill_id != except_skill, versions.c.state.in_([s.value for s in VALID])
        )
        rows = self._read(lambda c: c.execute(query).scalars().all())
        return frozenset(fn for ids in rows for fn in json.loads(ids))

    def activated_versions(self, skill_id: str) -> list[Version]:
        """Versions that have been live at some point, most recently activated first."""
        query = _VERSIONS.where(
            versions.c.skill_id == skill_id, versions.c.activated_at.is_not(None)
        ).order_by(versions.c.activated_at.desc(), versions.c.number.desc())
        return [_version(r) for r in self._read(lambda c: c.execute(query).all())]

    # --- writes -------------------------------------------------------------------------

    def propose(
        self,
        skill_id: str,
        filename: str,
        source: str,
        content_hash: str,
        *,
        author: Author,
        reason: str,
    ) -> Version:
        """Record a new file content as version N+1 in state ``proposed``."""
        now = time.time()
        with self._tx() as db:
            row = {"id": skill_id, "filename": filename, "created_at": now, "updated_at": now}
            upsert(db, skills, row, ["id"], replace=["updated_at"])
            latest = db.execute(
                sa.select(sa.func.coalesce(sa.func.max(versions.c.number), 0)).where(
                    versions.c.skill_id == skill_id
                )
            ).scalar_one()
            parent = db.execute(
                sa.select(skills.c.file_version).where(skills.c.id == skill_id)
            ).scalar_one()
            number = latest + 1
            db.execute(
                versions.insert().values(
                    skill_id=skill_id, number=number, content_hash=content_hash, parent=parent,
                    author=author, reason=reason, created_at=now, filename=filename,
                    source=source, state=VersionState.PROPOSED.value,
                )
            )  # fmt: skip
            _set_skill(db, skill_id, file_version=number)
            self._audit(
                db, skill_id, number, "proposed", None, VersionState.PROPOSED, author, reason
            )
        return self.version(skill_id, number)

    def record_validation(
        self, skill_id: str, number: int, report: dict[str, Any], function_ids: list[str]
    ) -> Version:
        """Store the report: ``validated`` when it is ok, else ``quarantined``."""
        target = VersionState.VALIDATED if report.get("ok") else VersionState.QUARANTINED
        with self._tx() as db:
            current = self._state(db, skill_id, number)
            check_transition(current, target)
            _set_version(
                db, skill_id, number,
                report=dumps(report), function_ids=dumps(function_ids), state=target.value,
            )  # fmt: skip
            errors = sum(1 for f in report.get("findings", []) if f.get("severity") == "error")
            detail = f"{errors} error(s)" if errors else None
            self._audit(db, skill_id, number, "validated", current, target, "validator", detail)
        return self.version(skill_id, number)

    def decide(
        self, skill_id: str, number: int, approval: dict[str, Any], *, awaiting: bool
    ) -> Version:
        """Store the approval policy's decision; ``awaiting_approval`` when a person must say."""
        with self._tx() as db:
            current = self._state(db, skill_id, number)
            _set_version(db, skill_id, number, approval=dumps(approval))
            if awaiting:
                self._move(db, skill_id, number, current, VersionState.AWAITING_APPROVAL)
                detail = "; ".join(approval.get("reasons", []))
                self._audit(
                    db, skill_id, number, "awaiting_approval", current,
                    VersionState.AWAITING_APPROVAL, "policy", detail,
                )  # fmt: skip
        return self.version(skill_id, number)

    def activate(
        self,
        skill_id: str,
        number: int,
        *,
        actor: str,
        action: str,
        approved_by: str | None = None,
        detail: str | None = None,
    ) -> Version:
        """Make ``number`` the version new runs start on; the previous active one retires."""
        now = time.time()
        with self._tx() as db:
            current = self._state(db, skill_id, number)
            check_transition(current, VersionState.ACTIVE)
            if approved_by is not None:
                _set_version(db, skill_id, number, approved_by=approved_by, approved_at=now)
            previous = db.execute(
                sa.select(skills.c.active_version).where(skills.c.id == skill_id)
            ).scalar_one()
            if previous is not None and previous != number:
                self._move(db, skill_id, previous, VersionState.ACTIVE, VersionState.RETIRED)
                self._audit(db, skill_id, previous, action, VersionState.ACTIVE,
                            VersionState.RETIRED, actor, f"superseded by version {number}")  # fmt: skip
            self._move(db, skill_id, number, current, VersionState.ACTIVE)
            _set_version(db, skill_id, number, activated_at=now, note=None)
            _set_skill(db, skill_id, active_version=number, removed=False, updated_at=now)
            self._audit(db, skill_id, number, action, current, VersionState.ACTIVE, actor, detail)
        return self.version(skill_id, number)

    def reject(self, skill_id: str, number: int, *, actor: str, reason: str | None) -> Version:
        with self._tx() as db:
            current = self._state(db, skill_id, number)
            self._move(db, skill_id, number, current, VersionState.REJECTED)
            _set_version(db, skill_id, number, note=reason)
            self._audit(db, skill_id, number, "reject", current, VersionState.REJECTED, actor,
                        reason)  # fmt: skip
        return self.version(skill_id, number)

    def remove(self, skill_id: str, *, actor: str) -> Skill:
        """The file is gone: the active version retires and nothing new starts."""
        now = time.time()
        with self._tx() as db:
            active = db.execute(
                sa.select(skills.c.active_version).where(skills.c.id == skill_id)
            ).scalar_one()
            if active is not None:
                self._move(db, skill_id, active, VersionState.ACTIVE, VersionState.RETIRED)
            _set_skill(
                db, skill_id, active_version=None, removed=True, file_version=None, updated_at=now
            )
            self._audit(db, skill_id, active, "remove", VersionState.ACTIVE if active else None,
                        VersionState.RETIRED if active else None, actor, "file deleted")  # fmt: skip
        skill = self.skill(skill_id)
        assert skill is not None
        return skill

    def set_paused(self, skill_id: str, paused: bool, *, actor: str) -> Skill:
        with self._tx() as db:
            _set_skill(db, skill_id, paused=paused, updated_at=time.time())
            self._audit(db, skill_id, None, "pause" if paused else "resume", None, None, actor,
                        None)  # fmt: skip
        skill = self.skill(skill_id)
        assert skill is not None
        return skill

    def note_file(self, skill_id: str, number: int | None) -> None:
        """The file now holds version ``number``'s content (it is the parent of the next)."""
        with self._tx() as db:
            _set_skill(db, skill_id, file_version=number, removed=False)

    def set_note(self, skill_id: str, number: int, note: str | None) -> None:
        with self._tx() as db:
            _set_version(db, skill_id, number, note=note)

    # --- helpers ------------------------------------------------------------------------

    def _state(self, db: sa.Connection, skill_id: str, number: int) -> VersionState:
        state = db.execute(
            sa.select(versions.c.state).where(
                versions.c.skill_id == skill_id, versions.c.number == number
            )
        ).scalar()
        if state is None:
            raise UnknownVersion(f"skill {skill_id!r} has no version {number}")
        return VersionState(state)

    def _move(
        self,
        db: sa.Connection,
        skill_id: str,
        number: int,
        current: VersionState,
        target: VersionState,
    ) -> None:
        check_transition(current, target)
        _set_version(db, skill_id, number, state=target.value)

    def _audit(
        self,
        db: sa.Connection,
        skill_id: str,
        version: int | None,
        action: str,
        from_state: VersionState | None,
        to_state: VersionState | None,
        actor: str,
        detail: str | None,
    ) -> None:
        db.execute(
            audit.insert().values(
                skill_id=skill_id, version=version, action=action,
                from_state=from_state.value if from_state else None,
                to_state=to_state.value if to_state else None, actor=actor, detail=detail,
                at=time.time(),
            )
        )  # fmt: skip


def _set_skill(db: sa.Connection, skill_id: str, **values: Any) -> None:
    db.execute(skills.update().where(skills.c.id == skill_id).values(**values))


def _set_version(db: sa.Connection, skill_id: str, number: int, **values: Any) -> None:
    where = sa.and_(versions.c.skill_id == skill_id, versions.c.number == number)
    db.execute(versions.update().where(where).values(**values))


def _skill(row: Any) -> Skill:
    sid, filename, active, paused, removed, file_version, latest, created, updated = row
    return Skill(
        id=sid,
        filename=filename,
        active_version=active,
        paused=bool(paused),
        removed=bool(removed),
        file_version=file_version,
        latest_version=latest,
        created_at=created,
        updated_at=updated,
    )


def _version(row: Any) -> Version:
    (skill_id, number, content_hash, parent, author, reason, created_at, state, note, approval,
     approved_by, approved_at, activated_at, function_ids, filename, source, report) = row  # fmt: skip
    return Version(
        skill_id=skill_id,
        number=number,
        content_hash=content_hash,
        parent=parent,
        author=author,
        reason=reason,
        created_at=created_at,
        state=VersionState(state),
        note=note,
        approval=json.loads(approval) if approval else None,
        approved_by=approved_by,
        approved_at=approved_at,
        activated_at=activated_at,
        function_ids=tuple(json.loads(function_ids)),
        filename=filename,
        source=source,
        report=json.loads(report) if report else None,
    )


__all__ = ["Registry", "TransitionError", "UnknownVersion"]
