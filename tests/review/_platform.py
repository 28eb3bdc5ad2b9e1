"""The sidecar's write path for in-process review tests: versions, activation, rollback.

Validation is the real validator (``validate_source``); the end-to-end test uses the real
sidecar over HTTP instead.
"""

from __future__ import annotations

from typing import Any

from review.platform import SkillSource, opted_out
from sidecar.validation import validate_source


class RecordingPlatform:
    def __init__(self, skill_id: str, source: str, filename: str) -> None:
        self.skill_id, self.filename = skill_id, filename
        self.versions: list[tuple[str, str]] = [(source, "initial")]
        self.active = 1
        self.calls: list[tuple[str, Any]] = []

    def active_source(self, skill_id: str) -> SkillSource:
        source = self.versions[self.active - 1][0]
        return SkillSource(skill_id, self.active, source, self.filename, opted_out(source))

    def submit(self, skill_id: str, source: str, reason: str) -> dict[str, Any]:
        self.calls.append(("submit", reason))
        report = validate_source(source, self.filename)
        self.versions.append((source, reason))
        number = len(self.versions)
        if not report.ok:
            return {"version": number, "state": "quarantined", "note": report.render()}
        self.active = number
        return {"version": number, "state": "active"}

    def rollback(self, skill_id: str, version: int, reason: str) -> dict[str, Any]:
        self.calls.append(("rollback", (version, reason)))
        self.active = version
        return {"version": version, "state": "active"}

    def validate(self, source: str, filename: str) -> dict[str, Any]:
        self.calls.append(("validate", filename))
        return validate_source(source, filename).to_dict()
