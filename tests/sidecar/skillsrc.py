"""Build small skill sources for contract and dry-run tests."""

from __future__ import annotations

import textwrap
from typing import Any


def skill_source(
    body: str = 'return {"ok": True}',
    *,
    skill_id: str = "sample",
    triggers: list[dict[str, Any]] | None = None,
    decorator: str = 'fn_id="sample", trigger=skill.cron("0 * * * *")',
    capabilities: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
    imports: str = "",
    top: str = "",
) -> str:
    manifest: dict[str, Any] = {
        "id": skill_id,
        "description": "a sample skill",
        "author": "agent",
        "triggers": triggers if triggers is not None else [{"cron": "0 * * * *"}],
        "capabilities": capabilities or {},
        **(extra or {}),
    }
    return (
        f"MANIFEST = {manifest!r}\n"
        f"{imports}\n{textwrap.dedent(top)}\n\n"
        f"@skill.function({decorator})\n"
        f"def handler(ctx):\n"
        f"{textwrap.indent(textwrap.dedent(body).strip(), '    ')}\n"
    )
