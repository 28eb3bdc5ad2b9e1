"""What the model and the person read about a skill: reports, dry runs, the skill's facts.

Validation reports are large; the model gets every finding (line, rule, message, fix — all it
needs to repair everything in one round) without the bookkeeping. The facts (trigger, what it
watches, where it posts) are what the CLI prints when the turn ends.
"""

from __future__ import annotations

import json
from typing import Any

#: The sidecar's lifecycle state of a version that is registered and taking runs.
REGISTERED_STATES = frozenset({"active"})


def report_view(report: dict[str, Any]) -> dict[str, Any]:
    findings = report.get("findings") or []
    errors = [f for f in findings if f.get("severity") == "error"]
    return {
        "ok": bool(report.get("ok", not errors)),
        "errors": len(errors),
        "warnings": len(findings) - len(errors),
        "findings": [
            {k: f.get(k) for k in ("line", "col", "rule", "severity", "message", "fix")}
            for f in findings
        ],
        "dry_runs": [dry_run_view(r) for r in report.get("dry_runs") or []],
    }


def dry_run_view(result: dict[str, Any]) -> dict[str, Any]:
    error = result.get("error")
    return {
        "fn_id": result.get("fn_id"),
        "ok": bool(result.get("ok", error is None and not result.get("findings"))),
        "error": error,
        "steps": [
            {k: s.get(k) for k in ("id", "op", "error") if s.get(k) is not None}
            for s in result.get("steps") or []
        ],
        "logs": [line.get("message") for line in result.get("logs") or []][:20],
        "return_value": _clip_json(result.get("return_value"), 1500),
        "findings": [
            {k: f.get(k) for k in ("line", "rule", "message", "fix")}
            for f in result.get("findings") or []
        ],
    }


def problem_text(report: dict[str, Any]) -> str:
    """The errors still to fix, one per line, as the person reads them."""
    lines = []
    for f in report.get("findings") or []:
        if f.get("severity") == "error":
            lines.append(f"line {f.get('line')}: [{f.get('rule')}] {f.get('message')}")
    for run in report.get("dry_runs") or []:
        error = run.get("error")
        if error:
            lines.append(
                f"dry run of {run.get('fn_id')}: [{error.get('rule')}] {error.get('message')}"
            )
    return "\n".join(lines) or "the report lists no error"


def manifest_of(report: dict[str, Any]) -> dict[str, Any] | None:
    skill = report.get("skill") or {}
    manifest = skill.get("manifest") if isinstance(skill, dict) else None
    return manifest if isinstance(manifest, dict) else None


def skill_facts(manifest: dict[str, Any] | None) -> dict[str, Any]:
    """Trigger, what it watches, where it posts: the three things a reviewer asks first."""
    if not manifest:
        return {}
    caps = manifest.get("capabilities") or {}
    triggers = []
    for t in manifest.get("triggers") or []:
        if t.get("cron"):
            triggers.append(f"cron {t['cron']}")
        elif t.get("event"):
            triggers.append(f"event {t['event']}")
    watches = [f"metrics:{s}" for s in (caps.get("metrics") or {}).get("sources", [])]
    watches += [f"deploys:{s}" for s in (caps.get("deploys") or {}).get("sources", [])]
    watches += [f"http:{h}" for h in (caps.get("http") or {}).get("hosts", [])]
    watches += [t.removeprefix("event ") for t in triggers if t.startswith("event ")]
    posts = [f"notify:{c}" for c in (caps.get("notify") or {}).get("channels", [])]
    posts += [f"event:{e}" for e in manifest.get("emits") or []]
    llm = caps.get("llm")
    return {
        "id": manifest.get("id"),
        "description": manifest.get("description"),
        "triggers": triggers,
        "watches": watches,
        "posts": posts,
        "llm_budget": llm or None,
    }


def _clip_json(value: Any, limit: int) -> Any:
    text = json.dumps(value, sort_keys=True, default=str)
    return value if len(text) <= limit else text[: limit - 1] + "…"
