"""What one dry run of one function produced: steps, capability calls, logs, result or error."""

from __future__ import annotations

from typing import Any

import pydantic

from .findings import Finding


class StepOutcome(pydantic.BaseModel):
    id: str
    op: str
    output: Any = None
    error: str | None = None
    detail: dict[str, Any] = {}


class CapabilityCallOutcome(pydantic.BaseModel):
    capability: str
    method: str
    args: dict[str, Any]
    step_id: str
    result: Any = None
    error: str | None = None


class LogLine(pydantic.BaseModel):
    message: str
    fields: dict[str, Any] = {}


class RunError(pydantic.BaseModel):
    """Why the function failed: the rule id, the exception type and the skill line."""

    rule: str
    type: str
    message: str
    line: int | None = None


class DryRunResult(pydantic.BaseModel):
    fn_id: str
    event: dict[str, Any] = {}
    steps: list[StepOutcome] = []
    capability_calls: list[CapabilityCallOutcome] = []
    logs: list[LogLine] = []
    return_value: Any = None
    error: RunError | None = None
    #: Problems found before or while running (static errors stop a dry run before it starts).
    findings: list[Finding] = []

    @pydantic.computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        return self.error is None and not any(f.severity == "error" for f in self.findings)
