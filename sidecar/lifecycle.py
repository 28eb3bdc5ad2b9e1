"""Every change to what runs: a file's new content, its removal, and a person's decisions.

Each change takes the skill's lock (so a file event and an approval never interleave). A
change to what runs (activate, remove, pause, resume) goes through ``Publisher.publish``: it
is committed only once the engine took the sync. If the sync fails — refused, or the engine is
unreachable — nothing changes and the version keeps a note saying why it is not live: the
registry, the served set and the engine always agree on what is active.

A file's content is identified by its SHA-256. Content seen before is never validated again:

* the active version's content → nothing to do;
* a version that already ran (retired) or could (validated, needing no approval) → it is made
  active again (someone restored an old file);
* a version awaiting approval, quarantined or rejected → nothing changes.
"""

from __future__ import annotations

import ast
import asyncio
import collections
import dataclasses
import hashlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .approval import ApprovalPolicy
from .approval_notices import ApprovalNotices
from .catalog import skill_spec
from .checker import Checker
from .files import write_atomically
from .publisher import Publisher
from .registry import Author, Registry, Skill, TransitionError, Version, VersionState
from .sync import SyncResult
from .validation.cycles import Node, find_cycle
from .validation.manifest import find_manifest
from .validation.rules import rule

log = logging.getLogger("loopwright.sidecar.lifecycle")


class NotFound(LookupError):
    """No such skill or version."""


def find_skill(registry: Registry, skill_id: str) -> Skill:
    """The skill, or NotFound naming it (the API answers 404 with that message)."""
    skill = registry.skill(skill_id)
    if skill is None:
        raise NotFound(f"no skill {skill_id!r}")
    return skill


def find_version(registry: Registry, skill_id: str, number: int) -> Version:
    find_skill(registry, skill_id)
    try:
        return registry.version(skill_id, number)
    except LookupError:
        raise NotFound(f"skill {skill_id!r} has no version {number}") from None


class Refused(ValueError):
    """The change is not allowed in the current state (the message says why)."""


@dataclasses.dataclass(frozen=True)
class Intent:
    """Who wrote a file and why, when the writer told us (the HTTP API does)."""

    author: Author
    reason: str


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What became of a change: the version it concerns, its state, and the sync's answer."""

    skill_id: str
    version: int | None
    state: str
    note: str | None = None
    report: dict[str, Any] | None = None
    sync: SyncResult | None = None

    @classmethod
    def of(cls, version: Version, sync: SyncResult | None = None) -> Outcome:
        return cls(
            version.skill_id, version.number, version.state.value, version.note,
            version.report, sync,
        )  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["sync"] = self.sync.to_json() if self.sync else None
        return out


def content_hash(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


class Lifecycle:
    def __init__(
        self,
        registry: Registry,
        checker: Checker,
        policy: ApprovalPolicy,
        publisher: Publisher,
        skills_dir: Path,
        *,
        core_ids: frozenset[str] = frozenset(),
        notices: ApprovalNotices | None = None,
    ) -> None:
        self.registry = registry
        #: Tells people a version waits for them (None: the log line only).
        self.notices = notices
        #: Skills loaded from the core directory: files in ``skills_dir`` never change them.
        self.core_ids = core_ids
        self.checker = checker
        self.policy = policy
        self.publisher = publisher
        self.skills_dir = skills_dir
        self._locks: collections.defaultdict[str, asyncio.Lock] = collections.defaultdict(
            asyncio.Lock
        )

    # --- files --------------------------------------------------------------------------

    async def accept_file(
        self,
        skill_id: str,
        filename: str,
        source: str | None,
        *,
        intent: Intent | None = None,
        superseded: Callable[[], bool] = lambda: False,
    ) -> Outcome:
        """The file now holds ``source`` (None: it was deleted)."""
        if skill_id in self.core_ids and not (intent is not None and intent.author == "review"):
            # The core skill is not a file in the folder; a file named after it (or its
            # deletion) must not replace or remove it. Change it in the core directory.
            # The weekly review's versions (submitted through the API) are the exception:
            # validated and put to the approval policy like any other version.
            log.warning("%s is a core skill: ignoring %s in the skills folder", skill_id, filename)
            return Outcome(skill_id, None, "ignored", note="a core skill; edit its core file")
        async with self._locks[skill_id]:
            if source is None:
                return await self._removed(skill_id)
            known = self.registry.version_by_hash(skill_id, content_hash(source))
            if known is None:
                author, reason = _authorship(source, intent)
                proposed = self.registry.propose(
                    skill_id, filename, source, content_hash(source), author=author, reason=reason
                )
                return await self._validate(proposed, superseded)
            if known.state is VersionState.PROPOSED:  # the sidecar stopped while validating it
                return await self._validate(known, superseded)
            return await self._known(known)

    async def accept_core(self, skill_id: str, filename: str, source: str) -> Outcome:
        """Load a core skill: validated like any file, then live without the approval policy.

        The policy exists to stop *generated* code from reaching people, hosts, money or other
        skills before a person has read it. A core skill is code a person wrote and reviewed in
        this repository (author ``human``), shipped with the platform: holding it would leave a
        fresh install with no health check and no triage until someone approves what they
        installed. So core skills skip the policy, but never validation: a core file that fails
        the contract is quarantined like any other. Its decision records why it went live.
        """
        async with self._locks[skill_id]:
            version = self.registry.version_by_hash(skill_id, content_hash(source))
            if version is None or version.state is VersionState.PROPOSED:
                if version is None:
                    version = self.registry.propose(
                        skill_id, filename, source, content_hash(source),
                        author="human", reason="core skill",
                    )  # fmt: skip
                report = await asyncio.to_thread(
                    self.checker.check, skill_id, version.source, version.filename
                )
                fn_ids = [f.fn_id for f in report.skill.functions] if report.skill else []
                version = self.registry.record_validation(
                    skill_id, version.number, report.to_dict(), fn_ids
                )
                if version.state is VersionState.QUARANTINED:
                    log.error("core skill %s quarantined:\n%s", skill_id, report.render())
                    return Outcome.of(version)
            if version.state is VersionState.VALIDATED and version.approval is None:
                decision = {"needs_approval": False, "reasons": ["core skill: pre-approved"]}
                version = self.registry.decide(skill_id, version.number, decision, awaiting=False)
            if version.state is VersionState.RETIRED and self._tuned_by_review(skill_id):
                # The review replaced the core file's version: a restart keeps its version.
                return Outcome.of(
                    self._version(skill_id, self._skill(skill_id).active_version or 0)
                )
            if version.state in (VersionState.VALIDATED, VersionState.RETIRED):
                return await self._activate(
                    version, actor="core", action="activate", detail="core skill"
                )
            return Outcome.of(version)

    async def _validate(self, version: Version, superseded: Callable[[], bool]) -> Outcome:
        skill_id = version.skill_id
        report = await asyncio.to_thread(
            self.checker.check, skill_id, version.source, version.filename
        )
        fn_ids = [f.fn_id for f in report.skill.functions] if report.skill else []
        version = self.registry.record_validation(
            skill_id, version.number, report.to_dict(), fn_ids
        )
        if version.state is VersionState.QUARANTINED:
            log.warning(
                "%s v%d quarantined (never runs; `loopwright skills show %s --version %d`):\n%s",
                skill_id, version.number, skill_id, version.number, report.render(),
            )  # fmt: skip
            return Outcome.of(version)
        if superseded():
            # A newer write is already waiting: do not make this one live just to replace it.
            self.registry.set_note(skill_id, version.number, "superseded before activation")
            return Outcome.of(self.registry.version(skill_id, version.number))
        return await self._decide(version)

    async def _decide(self, version: Version) -> Outcome:
        assert version.report is not None
        decision = self.policy.decide(skill_spec(version).manifest)
        version = self.registry.decide(
            version.skill_id, version.number, decision.to_json(), awaiting=decision.needs_approval
        )
        if decision.needs_approval:
            log.info(
                "%s v%d awaits approval (%s): `loopwright skills approve %s --version %d`",
                version.skill_id, version.number, "; ".join(decision.reasons),
                version.skill_id, version.number,
            )  # fmt: skip
            if self.notices is not None:
                await self.notices.announce(
                    version.skill_id, version.number, list(decision.reasons)
                )
            return Outcome.of(version)
        return await self._activate(version, actor="policy", action="activate")

    async def announce_waiting(self) -> int:
        """Post the notice of every version still awaiting approval (each is posted once: a
        version already announced before a restart is not posted again)."""
        if self.notices is None:
            return 0
        waiting = [
            v
            for skill in self.registry.skills()
            for v in self.registry.versions(skill.id)
            if v.state is VersionState.AWAITING_APPROVAL
        ]
        for v in waiting:
            reasons = (v.approval or {}).get("reasons") or []
            await self.notices.announce(v.skill_id, v.number, [str(r) for r in reasons])
        return len(waiting)

    async def _known(self, version: Version) -> Outcome:
        self.registry.note_file(version.skill_id, version.number)
        if version.state is VersionState.ACTIVE:
            return Outcome.of(version)
        if version.state is VersionState.RETIRED or (
            version.state is VersionState.VALIDATED and version.approval is not None
            and not version.approval.get("needs_approval")
        ):  # fmt: skip
            return await self._activate(
                version, actor="file", action="restore", detail="the file holds this version again"
            )
        if version.state is VersionState.VALIDATED:
            return await self._decide(version)
        return Outcome.of(version)

    async def _removed(self, skill_id: str) -> Outcome:
        skill = self.registry.skill(skill_id)
        if skill is None or skill.removed:
            return Outcome(skill_id, None, "removed")
        result = await self.publisher.publish(lambda: self.registry.remove(skill_id, actor="file"))
        state = "removed" if result.ok else "active"
        return Outcome(skill_id, skill.active_version, state, note=result.error, sync=result)

    # --- people -------------------------------------------------------------------------

    async def approve(self, skill_id: str, number: int | None, *, by: str) -> Outcome:
        async with self._locks[skill_id]:
            version = self._pick(skill_id, number, VersionState.AWAITING_APPROVAL)
            if self._skill(skill_id).removed:
                raise Refused(f"the file of {skill_id!r} was deleted; write it again to approve")
            return await self._activate(version, actor=by, action="approve", approved_by=by)

    async def reject(
        self, skill_id: str, number: int | None, *, by: str, reason: str | None
    ) -> Outcome:
        async with self._locks[skill_id]:
            version = self._pick(skill_id, number, VersionState.AWAITING_APPROVAL)
            return Outcome.of(
                self.registry.reject(skill_id, version.number, actor=by, reason=reason)
            )

    async def rollback(self, skill_id: str, number: int, *, by: str) -> Outcome:
        """Make version ``number`` active again (re-pointing, not copying) and put it on disk."""
        async with self._locks[skill_id]:
            version = self._version(skill_id, number)
            approved = (version.approval or {}).get("needs_approval") is False
            runnable = version.state in (VersionState.RETIRED, VersionState.ACTIVE) or (
                version.state is VersionState.VALIDATED and approved
            )
            if not runnable:
                raise Refused(
                    f"version {number} is {version.state.value}: only versions that ran or were "
                    "approved can be rolled back to (approve a waiting version instead)"
                )
            outcome = Outcome.of(version)
            if version.state is not VersionState.ACTIVE or self._skill(skill_id).removed:
                outcome = await self._activate(
                    version, actor=by, action="rollback", detail=f"rollback to version {number}"
                )
            if outcome.state == VersionState.ACTIVE.value and skill_id not in self.core_ids:
                write_atomically(self.skills_dir / version.filename, version.source)
                self.registry.note_file(skill_id, number)
            return outcome

    async def set_paused(self, skill_id: str, paused: bool, *, by: str) -> Outcome:
        async with self._locks[skill_id]:
            skill = self._skill(skill_id)
            if skill.paused == paused:
                return Outcome(skill_id, skill.active_version, "paused" if paused else "resumed")
            result = await self.publisher.publish(
                lambda: self.registry.set_paused(skill_id, paused, actor=by)
            )
            if not result.ok:
                raise Refused(f"sync failed, nothing changed: {result.error}")
            return Outcome(
                skill_id, skill.active_version, "paused" if paused else "resumed", sync=result
            )

    # --- helpers ------------------------------------------------------------------------

    def _tuned_by_review(self, skill_id: str) -> bool:
        skill = self.registry.skill(skill_id)
        if skill is None or skill.active_version is None:
            return False
        return self.registry.version(skill_id, skill.active_version).author == "review"

    async def _activate(
        self,
        version: Version,
        *,
        actor: str,
        action: str,
        approved_by: str | None = None,
        detail: str | None = None,
    ) -> Outcome:
        skill_id, number = version.skill_id, version.number
        cycle = self._cycle(version)
        if cycle is not None:
            note = (
                f"not activated: [trigger-cycle] {skill_id} v{number} would close a loop of "
                f"skills starting each other: {'; then '.join(cycle)}. "
                f"fix: {rule('trigger-cycle').fix}"
            )
            log.warning("%s", note)
            if action in ("approve", "rollback"):
                raise Refused(note)
            self.registry.set_note(skill_id, number, note)
            return Outcome.of(self.registry.version(skill_id, number))

        def activate() -> None:
            self.registry.activate(
                skill_id, number, actor=actor, action=action, approved_by=approved_by, detail=detail
            )

        try:
            result = await self.publisher.publish(activate)
        except TransitionError as err:
            raise Refused(str(err)) from None
        if not result.ok:
            note = f"not activated: sync failed: {result.error}"
            log.error("%s v%d %s", skill_id, number, note)
            self.registry.set_note(skill_id, number, note)
        else:
            log.info("%s v%d is live (%s by %s)", skill_id, number, action, actor)
        return Outcome.of(self.registry.version(skill_id, number), result)

    def _skill(self, skill_id: str) -> Skill:
        return find_skill(self.registry, skill_id)

    def _cycle(self, version: Version) -> list[str] | None:
        """The loop this version would close with the live skills (see validation.cycles)."""
        live = []
        for skill in self.registry.skills():
            if skill.active_version is None or skill.paused or skill.removed:
                continue
            if skill.id == version.skill_id:
                continue
            spec = skill_spec(self.registry.code(skill.id, skill.active_version))
            live.append(Node.of(spec.manifest, (f.fn_id for f in spec.functions)))
        spec = skill_spec(version)
        return find_cycle(Node.of(spec.manifest, (f.fn_id for f in spec.functions)), live)

    def _version(self, skill_id: str, number: int) -> Version:
        return find_version(self.registry, skill_id, number)

    def _pick(self, skill_id: str, number: int | None, state: VersionState) -> Version:
        """Version ``number``, or the latest one in ``state``; it must be in ``state``."""
        if number is None:
            candidates = [v for v in self.registry.versions(skill_id) if v.state is state]
            if not candidates:
                self._skill(skill_id)
                raise Refused(f"{skill_id!r} has no version {state.value.replace('_', ' ')}")
            return candidates[-1]
        version = self._version(skill_id, number)
        if version.state is not state:
            raise Refused(f"version {number} is {version.state.value}, not {state.value}")
        return version


def _authorship(source: str, intent: Intent | None) -> tuple[Author, str]:
    if intent is not None:
        return intent.author, intent.reason
    # Nobody told us they were writing it: the agent and the review loop write through the
    # API (which registers an intent), so this is a person's edit on disk, whatever the
    # manifest claims. The claim is kept in the reason for the record.
    claimed = _manifest_author(source)
    if claimed is not None and claimed != "human":
        return "human", f"edited on disk (the manifest says author {claimed!r})"
    return "human", "edited on disk"


def _manifest_author(source: str) -> str | None:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    node = find_manifest(tree)
    try:
        manifest = ast.literal_eval(node.value) if node is not None else None
    except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError):
        return None
    author = manifest.get("author") if isinstance(manifest, dict) else None
    return author[:40] if isinstance(author, str) else None
