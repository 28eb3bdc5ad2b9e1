"""One problem found in a skill file: where, which rule, what is wrong, how to fix it."""

from __future__ import annotations

from typing import Literal

import pydantic

from .rules import LAYERS, RULES

Severity = Literal["error", "warning"]


class Finding(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(frozen=True)

    file: str
    line: int
    col: int
    rule: str
    layer: str
    severity: Severity
    message: str
    fix: str

    def render(self) -> str:
        return (
            f"{self.file}:{self.line}:{self.col}: {self.severity} [{self.rule}] {self.message}\n"
            f"    fix: {self.fix}"
        )


def finding(
    file: str,
    rule_id: str,
    message: str,
    *,
    line: int = 1,
    col: int = 0,
    fix: str | None = None,
    severity: Severity = "error",
) -> Finding:
    """Build a finding; the layer and default fix hint come from the rule catalog."""
    known = RULES[rule_id]
    return Finding(
        file=file,
        line=max(line, 1),
        col=max(col, 0),
        rule=rule_id,
        layer=known.layer,
        severity=severity,
        message=message,
        fix=fix or known.fix,
    )


def ordered(findings: list[Finding]) -> list[Finding]:
    unique = list(dict.fromkeys(findings))
    return sorted(unique, key=lambda f: (LAYERS.index(f.layer), f.line, f.col, f.rule))
