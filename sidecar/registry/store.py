"""The registry: every version of every skill, in one SQLite file (WAL).

One connection guarded by one lock: writes are rare (a file change, a person's click) and
short, so a single writer is simpler than a pool and can never deadlock with itself. Reads
from SDK handler threads (which version's code to run) mostly hit ``code()``, a cache over
immutable version content.

Every state move is a row in ``audit`` too, so "who activated what, when" survives re-pointing
(a rollback re-activates an existing version instead of copying it; see docs/SKILLS.md).
Changes that affect what runs are applied twice: once inside ``preview`` (to build and sync the
function set they would give), then for real once the engine took the sync.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .models import AuditEntry, Author, Skill, Version, dumps
from .states import VALID, TransitionError, VersionState, check_transition

SCHEMA = """
CREATE TABLE IF NOT EXISTS skills (
    id TEXT PRIMARY KEY,
    filename TEXT NOT NULL,
    active_version INTEGER,
    paused INTEGER NOT NULL DEFAULT 0,
    removed INTEGER NOT NULL DEFAULT 0,
    file_version INTEGER,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS versions (
    skill_id TEXT NOT NULL REFERENCES skills(id),
    number INTEGER NOT NULL,
    content_hash TEXT NOT NULL,
    parent INTEGER,
    author TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_at REAL NOT NULL,
    filename TEXT NOT NULL,
    source TEXT NOT NULL,
    state TEXT NOT NULL,
    note TEXT,
    report TEXT,
    approval TEXT,
    approved_by TEXT,
    approved_at REAL,
    activated_at REAL,
    function_ids TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (skill_id, number),
    UNIQUE (skill_id, content_hash)
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    skill_id TEXT NOT NULL,
    version INTEGER,
    action TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT,
    actor TEXT NOT NULL,
    detail TEXT,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_by_skill ON audit (skill_id, id);
"""

_SKILL_COLUMNS = (
    "s.id, s.filename, s.active_version, s.paused, s.removed, s.file_version, "
    "(SELECT COALESCE(MAX(number), 0) FROM versions v WHERE v.skill_id = s.id), "
    "s.created_at, s.updated_at"
)
_VERSION_COLUMNS = (
    "skill_id, number, content_hash, parent, author, reason, created_at, state, note, approval, "
    "approved_by, approved_at, activated_at, function_ids, filename, source, report"
)


class UnknownVersion(LookupError):
    """No such skill or version."""


class Registry:
    def __init__(self, path: Path | str) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA busy_timeout=5000")
        self._conn.executescript(SCHEMA)
        self._code: dict[tuple[str, int], Version] = {}

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._conn.in_transaction:  # inside ``preview``: nest
                self._conn.execute("SAVEPOINT tx")
                try:
                    yield self._conn
                except BaseException:
                    self._conn.execute("ROLLBACK TO tx")
                    raise
                self._conn.execute("RELEASE tx")
                return
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    @contextlib.contextmanager
    def preview(self) -> Iterator[None]:
        """Run changes and read their result, then roll everything back.

        The publisher builds the function set a change *would* give, syncs it, and only then
        commits the change: a version is never shown active before the engine has it. The
        lock is held throughout, so no other thread ever reads the uncommitted state.
        """
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            finally:
                self._conn.execute("ROLLBACK")

    # --- reads --------------------------------------------------------------------------

    def skills(self) -> list[Skill]:
        with self._lock:
            rows = self._conn.execute(f"SELECT {_SKILL_COLUMNS} FROM skills s ORDER BY s.id")
            return [_skill(r) for r in rows.fetchall()]

    def skill(self, skill_id: str) -> Skill | None:
        with self._lock:
            row = self._conn.execute(
                f"SELECT {_SKILL_COLUMNS} FROM skills s WHERE s.id = ?", (skill_id,)
            ).fetchone()
        return _skill(row) if row else None

    def versions(self, skill_id: str) -> list[Version]:
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {_VERSION_COLUMNS} FROM versions WHERE skill_id = ? ORDER BY number",
                (skill_id,),
            ).fetchall()
        return [_version(r) for r in rows]

    def version(self, skill_id: str, number: int) -> Version:
        with self._lock:
            row = self._conn.execute(
                f"SELECT {_VERSION_COLUMNS} FROM versions WHERE skill_id = ? AND number = ?",
                (skill_id, number),
            ).fetchone()
        if row is None:
            raise UnknownVersion(f"skill {skill_id!r} has no version {number}")
        return _version(row)

    def version_by_hash(self, skill_id: str, content_hash: str) -> Version | None:
        with self._lock:
            row = self._conn.execute(
                f"SELECT {_VERSION_COLUMNS} FROM versions WHERE skill_id = ? AND content_hash = ?",
                (skill_id, content_hash),
            ).fetchone()
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
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, skill_id, version, action, from_state, to_state, actor, detail, at "
                "FROM audit WHERE skill_id = ? ORDER BY id DESC LIMIT ?",
                (skill_id, limit),
            ).fetchall()
        return [AuditEntry(*r) for r in rows]

    def taken_function_ids(self, except_skill: str) -> frozenset[str]:
        """Function ids owned by other skills: any of their versions that passed validation.

        Ownership is permanent on purpose: a removed skill's functions may still be serving
        runs in flight, and the served app maps each function id to exactly one skill.
        """
        states = tuple(s.value for s in VALID)
        marks = ",".join("?" * len(states))
        with self._lock:
            rows = self._conn.execute(
                f"SELECT function_ids FROM versions WHERE skill_id != ? AND state IN ({marks})",
                (except_skill, *states),
            ).fetchall()
        return frozenset(fn for (ids,) in rows for fn in json.loads(ids))

    def activated_versions(self, skill_id: str) -> list[Version]:
        """Versions that have been live at some point, most recently activated first."""
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {_VERSION_COLUMNS} FROM versions WHERE skill_id = ? "
                "AND activated_at IS NOT NULL ORDER BY activated_at DESC, number DESC",
                (skill_id,),
            ).fetchall()
        return [_version(r) for r in rows]

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
            db.execute(
                "INSERT INTO skills (id, filename, created_at, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET updated_at = excluded.updated_at",
                (skill_id, filename, now, now),
            )
            (latest,) = db.execute(
                "SELECT COALESCE(MAX(number), 0) FROM versions WHERE skill_id = ?", (skill_id,)
            ).fetchone()
            (parent,) = db.execute(
                "SELECT file_version FROM skills WHERE id = ?", (skill_id,)
            ).fetchone()
            number = latest + 1
            db.execute(
                "INSERT INTO versions (skill_id, number, content_hash, parent, author, reason, "
                "created_at, filename, source, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (skill_id, number, content_hash, parent, author, reason, now, filename, source,
                 VersionState.PROPOSED.value),
            )  # fmt: skip
            db.execute("UPDATE skills SET file_version = ? WHERE id = ?", (number, skill_id))
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
            db.execute(
                "UPDATE versions SET report = ?, function_ids = ?, state = ? "
                "WHERE skill_id = ? AND number = ?",
                (dumps(report), dumps(function_ids), target.value, skill_id, number),
            )
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
            db.execute(
                "UPDATE versions SET approval = ? WHERE skill_id = ? AND number = ?",
                (dumps(approval), skill_id, number),
            )
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
                db.execute(
                    "UPDATE versions SET approved_by = ?, approved_at = ? "
                    "WHERE skill_id = ? AND number = ?",
                    (approved_by, now, skill_id, number),
                )
            (previous,) = db.execute(
                "SELECT active_version FROM skills WHERE id = ?", (skill_id,)
            ).fetchone()
            if previous is not None and previous != number:
                self._move(db, skill_id, previous, VersionState.ACTIVE, VersionState.RETIRED)
                self._audit(db, skill_id, previous, action, VersionState.ACTIVE,
                            VersionState.RETIRED, actor, f"superseded by version {number}")  # fmt: skip
            self._move(db, skill_id, number, current, VersionState.ACTIVE)
            db.execute(
                "UPDATE versions SET activated_at = ?, note = NULL WHERE skill_id = ? AND number = ?",
                (now, skill_id, number),
            )
            db.execute(
                "UPDATE skills SET active_version = ?, removed = 0, updated_at = ? WHERE id = ?",
                (number, now, skill_id),
            )
            self._audit(db, skill_id, number, action, current, VersionState.ACTIVE, actor, detail)
        return self.version(skill_id, number)

    def reject(self, skill_id: str, number: int, *, actor: str, reason: str | None) -> Version:
        with self._tx() as db:
            current = self._state(db, skill_id, number)
            self._move(db, skill_id, number, current, VersionState.REJECTED)
            db.execute(
                "UPDATE versions SET note = ? WHERE skill_id = ? AND number = ?",
                (reason, skill_id, number),
            )
            self._audit(db, skill_id, number, "reject", current, VersionState.REJECTED, actor,
                        reason)  # fmt: skip
        return self.version(skill_id, number)

    def remove(self, skill_id: str, *, actor: str) -> Skill:
        """The file is gone: the active version retires and nothing new starts."""
        now = time.time()
        with self._tx() as db:
            (active,) = db.execute(
                "SELECT active_version FROM skills WHERE id = ?", (skill_id,)
            ).fetchone()
            if active is not None:
                self._move(db, skill_id, active, VersionState.ACTIVE, VersionState.RETIRED)
            db.execute(
                "UPDATE skills SET active_version = NULL, removed = 1, file_version = NULL, "
                "updated_at = ? WHERE id = ?",
                (now, skill_id),
            )
            self._audit(db, skill_id, active, "remove", VersionState.ACTIVE if active else None,
                        VersionState.RETIRED if active else None, actor, "file deleted")  # fmt: skip
        skill = self.skill(skill_id)
        assert skill is not None
        return skill

    def set_paused(self, skill_id: str, paused: bool, *, actor: str) -> Skill:
        with self._tx() as db:
            db.execute(
                "UPDATE skills SET paused = ?, updated_at = ? WHERE id = ?",
                (int(paused), time.time(), skill_id),
            )
            self._audit(db, skill_id, None, "pause" if paused else "resume", None, None, actor,
                        None)  # fmt: skip
        skill = self.skill(skill_id)
        assert skill is not None
        return skill

    def note_file(self, skill_id: str, number: int | None) -> None:
        """The file now holds version ``number``'s content (it is the parent of the next)."""
        with self._tx() as db:
            db.execute(
                "UPDATE skills SET file_version = ?, removed = 0 WHERE id = ?", (number, skill_id)
            )

    def set_note(self, skill_id: str, number: int, note: str | None) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE versions SET note = ? WHERE skill_id = ? AND number = ?",
                (note, skill_id, number),
            )

    # --- helpers ------------------------------------------------------------------------

    def _state(self, db: sqlite3.Connection, skill_id: str, number: int) -> VersionState:
        row = db.execute(
            "SELECT state FROM versions WHERE skill_id = ? AND number = ?", (skill_id, number)
        ).fetchone()
        if row is None:
            raise UnknownVersion(f"skill {skill_id!r} has no version {number}")
        return VersionState(row[0])

    def _move(
        self,
        db: sqlite3.Connection,
        skill_id: str,
        number: int,
        current: VersionState,
        target: VersionState,
    ) -> None:
        check_transition(current, target)
        db.execute(
            "UPDATE versions SET state = ? WHERE skill_id = ? AND number = ?",
            (target.value, skill_id, number),
        )

    def _audit(
        self,
        db: sqlite3.Connection,
        skill_id: str,
        version: int | None,
        action: str,
        from_state: VersionState | None,
        to_state: VersionState | None,
        actor: str,
        detail: str | None,
    ) -> None:
        db.execute(
            "INSERT INTO audit (skill_id, version, action, from_state, to_state, actor, detail, "
            "at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (skill_id, version, action, from_state.value if from_state else None,
             to_state.value if to_state else None, actor, detail, time.time()),
        )  # fmt: skip


def _skill(row: tuple[Any, ...]) -> Skill:
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


def _version(row: tuple[Any, ...]) -> Version:
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
