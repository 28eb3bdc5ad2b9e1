"""Helpers for the core skill tests: sources, snapshots, dry runs in the real sandbox.

Every dry run goes through ``sidecar.validation.dry_run``, the same sandbox and fake
capabilities the validator uses; ``fixtures`` give a capability method a recorded answer
(a snapshot) and ``faults`` make it raise a ``skill.*`` error.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sidecar.validation import dry_run
from sidecar.validation.outcomes import DryRunResult
from skills_core.classify import CORE_SKILL_IDS, core_skill_path

SNAPSHOTS = Path(__file__).parent / "snapshots"


def source(skill_id: str) -> str:
    return core_skill_path(skill_id).read_text(encoding="utf-8")


def filename(skill_id: str) -> str:
    return core_skill_path(skill_id).name


def others(skill_id: str) -> frozenset[str]:
    """The function ids a core skill must not take: the other core skills'."""
    return frozenset(CORE_SKILL_IDS) - {skill_id}


def snapshot(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SNAPSHOTS / f"{name}.json").read_text())
    return loaded


def run(
    skill_id: str,
    event: dict[str, Any] | None = None,
    *,
    fixtures: dict[str, Any] | None = None,
    faults: dict[str, str] | None = None,
    src: str | None = None,
    fresh: bool = False,
) -> DryRunResult:
    """One dry run of the core skill's function, which must not have static findings.

    Identical runs are made once per session (they decide the same), unless ``fresh``.
    """
    key = json.dumps([skill_id, event, fixtures, faults, src], sort_keys=True)
    if fresh or key not in _RUNS:
        _RUNS[key] = _dry_run(skill_id, event, fixtures, faults, src)
    return _RUNS[key]


_RUNS: dict[str, DryRunResult] = {}


def _dry_run(
    skill_id: str,
    event: dict[str, Any] | None,
    fixtures: dict[str, Any] | None,
    faults: dict[str, str] | None,
    src: str | None,
) -> DryRunResult:
    result = dry_run(
        src if src is not None else source(skill_id),
        filename(skill_id),
        skill_id,
        event,
        fixtures=fixtures,
        faults=faults,
        existing_function_ids=others(skill_id),
    )
    assert not result.findings, result.findings
    return result


def posts(result: DryRunResult) -> list[dict[str, Any]]:
    """Every notify.post the run made: args plus the dedupe key (the fake's message id)."""
    return [
        {**c.args, "step": c.step_id, "dedupe_key": (c.result or {}).get("message_id")}
        for c in result.capability_calls
        if (c.capability, c.method) == ("notify", "post")
    ]
