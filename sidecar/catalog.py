"""The function set the sidecar publishes, derived from the registry.

Two sets, because a removed function must keep answering for its runs in flight:

* **registered** — synced with the engine: every function of each live skill's active version
  (live = has an active version, not paused, file present). New events start runs only here.
* **served** — answered at the serve URL: the registered set plus every function of every
  version that was ever active. The engine archives functions missing from a sync but still
  calls their URL for runs in flight, so those calls must find a handler.

Shadows (``registry/shadows.py``) add one entry per shadowed function: registered under its
shadow id while the shadow runs and its skill is live, with the *active* function's triggers
and options, and served for as long as the shadow is stored.

Each entry names the version new runs of that function pin to: the active version for a
registered function, the last version that had it otherwise.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading

from sidecar.registry import Registry, Shadow, ShadowStore, Version
from sidecar.validation import FunctionSpec, SkillSpec

_SPECS: dict[tuple[str, int, str], SkillSpec] = {}
_SPECS_LOCK = threading.Lock()


def skill_spec(version: Version) -> SkillSpec:
    """The validated spec of a version (cached: a version's report never changes)."""
    key = (version.skill_id, version.number, version.content_hash)
    with _SPECS_LOCK:
        spec = _SPECS.get(key)
    if spec is None:
        if version.report is None or not version.report.get("skill"):
            raise ValueError(f"version {version.number} of {version.skill_id!r} is not valid")
        spec = SkillSpec.model_validate(version.report["skill"])
        with _SPECS_LOCK:
            _SPECS[key] = spec
    return spec


@dataclasses.dataclass(frozen=True)
class Entry:
    fn_id: str
    skill_id: str
    #: The version new runs of this function pin to.
    version: int
    spec: FunctionSpec
    registered: bool
    #: The proposal whose candidate this entry runs beside the active version (None: a skill).
    shadow: str | None = None
    #: For a shadow: the candidate's own function id (what its code declares).
    candidate_fn_id: str | None = None


@dataclasses.dataclass(frozen=True)
class Catalog:
    entries: tuple[Entry, ...] = ()

    def registered(self) -> list[Entry]:
        return [e for e in self.entries if e.registered]

    def entry(self, fn_id: str) -> Entry | None:
        return next((e for e in self.entries if e.fn_id == fn_id), None)

    def fingerprint(self) -> str:
        data = [
            [e.fn_id, e.skill_id, e.version, e.registered, e.shadow, e.spec.model_dump(mode="json")]
            for e in self.entries
        ]
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def build_catalog(registry: Registry) -> Catalog:
    entries: list[Entry] = []
    seen: set[str] = set()
    for skill in registry.skills():
        live = skill.active_version is not None and not skill.paused and not skill.removed
        for version in registry.activated_versions(skill.id):  # most recently active first
            for fn in skill_spec(version).functions:
                if fn.fn_id in seen:
                    continue
                seen.add(fn.fn_id)
                registered = live and version.number == skill.active_version
                entries.append(Entry(fn.fn_id, skill.id, version.number, fn, registered))
    # A shadow runs only beside the version it shadows, while that version is live.
    live_versions = {(e.skill_id, e.version) for e in entries if e.registered}
    for shadow in ShadowStore(registry).listed():
        beside = (shadow.skill_id, shadow.base_version) in live_versions
        entries += shadow_entries(registry, shadow, running=shadow.running and beside)
    return Catalog(tuple(entries))


def shadow_spec(shadow: Shadow) -> SkillSpec:
    key = (f"shadow:{shadow.proposal_id}", 0, shadow.content_hash)
    with _SPECS_LOCK:
        spec = _SPECS.get(key)
    if spec is None:
        spec = SkillSpec.model_validate(shadow.report["skill"])
        with _SPECS_LOCK:
            _SPECS[key] = spec
    return spec


def shadow_entries(registry: Registry, shadow: Shadow, *, running: bool) -> list[Entry]:
    """The candidate's functions under their shadow ids, with the active functions' triggers."""
    active = {
        f.fn_id: f
        for f in skill_spec(registry.code(shadow.skill_id, shadow.base_version)).functions
    }
    mine = {f.fn_id: f for f in shadow_spec(shadow).functions}
    out = []
    for pair in shadow.functions:
        base, candidate = active.get(pair.fn_id), mine.get(pair.fn_id)
        if base is None or candidate is None:
            continue
        spec = candidate.model_copy(
            update={
                "fn_id": pair.shadow_fn_id,
                "triggers": base.triggers,
                "name": f"{pair.fn_id} (shadow of {shadow.proposal_id})"[:100],
            }
        )
        out.append(
            Entry(
                pair.shadow_fn_id, shadow.skill_id, shadow.base_version, spec, running,
                shadow=shadow.proposal_id, candidate_fn_id=pair.fn_id,
            )
        )  # fmt: skip
    return out
