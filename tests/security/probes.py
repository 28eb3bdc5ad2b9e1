"""Build adversarial skill files: a valid skeleton around one attack.

Everything except the attack is correct, so a case's findings come from the attack alone and
the first error names the layer that stopped it.
"""

from __future__ import annotations

import textwrap
from typing import Any

from sidecar.validation import SandboxLimits

FILE = "probe.py"
CRON = "*/5 * * * *"


def probe(
    body: str,
    *,
    imports: str = "",
    top: str = "",
    capabilities: dict[str, Any] | None = None,
    emits: list[str] | None = None,
    invokes: list[str] | None = None,
    skill_id: str = "probe",
) -> str:
    manifest = {
        "id": skill_id,
        "description": "adversarial probe",
        "author": "agent",
        "triggers": [{"cron": CRON}],
        "capabilities": capabilities or {},
        "emits": emits or [],
        "invokes": invokes or [],
    }
    return (
        f"MANIFEST = {manifest!r}\n\n"
        f"{textwrap.dedent(imports)}\n"
        f"{textwrap.dedent(top)}\n\n"
        f"@skill.function(fn_id={skill_id!r}, trigger=skill.cron({CRON!r}))\n"
        f"def {skill_id.replace('-', '_')}(ctx):\n"
        f"{textwrap.indent(textwrap.dedent(body).strip(), '    ')}\n"
    )


class Attack:
    """One attack: its source, the layer expected to stop it first, and the exact rule."""

    def __init__(
        self,
        name: str,
        source: str,
        *,
        stopped_by: str,
        rule: str,
        filename: str = FILE,
        existing: frozenset[str] = frozenset(),
        limits: SandboxLimits | None = None,
    ) -> None:
        self.name = name
        self.source = source
        self.stopped_by = stopped_by
        self.rule = rule
        self.filename = filename
        self.existing = existing
        self.limits = limits

    def __repr__(self) -> str:
        return self.name
