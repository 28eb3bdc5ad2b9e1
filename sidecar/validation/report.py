"""The validation report: every problem at once, for the agent (JSON) and for people (text).

A ``Finding`` is (file, line, col, rule, layer, severity, message, fix). Findings are ordered
by pipeline layer, then position, so the first one is the first thing to fix. ``render()``
gives a compiler-style listing; ``to_json()`` gives the same data for the agent's repair round.
"""

from __future__ import annotations

from typing import Any

import pydantic

from .declarations import SkillSpec
from .findings import Finding
from .outcomes import DryRunResult


class ValidationReport(pydantic.BaseModel):
    file: str
    findings: list[Finding] = []
    #: The validated declarations, when the skill is valid.
    skill: SkillSpec | None = None
    dry_runs: list[DryRunResult] = []
    #: Pipeline layers that ran, in order (later layers are skipped after static errors).
    layers_run: list[str] = []
    duration_ms: float = 0.0

    @pydantic.computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    def rules(self) -> list[str]:
        return [f.rule for f in self.findings]

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def render(self) -> str:
        if self.ok:
            names = ", ".join(fn.fn_id for fn in self.skill.functions) if self.skill else ""
            head = f"{self.file}: OK ({names})"
            return "\n".join([head, *(f.render() for f in self.findings)])
        counts = f"{len(self.errors)} error(s)"
        warning_count = len(self.findings) - len(self.errors)
        if warning_count:
            counts += f", {warning_count} warning(s)"
        lines = [f"{self.file}: validation failed, {counts}"]
        lines += [f.render() for f in self.findings]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()
