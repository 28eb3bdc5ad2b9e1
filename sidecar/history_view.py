"""Text views of a skill for `loopwright skills show`: its versions (when, by whom, why, and
what people decided about each) and one version's validation report."""

from __future__ import annotations

import time
from typing import Any

import pydantic

from .validation.report import ValidationReport


def when(epoch: float | None) -> str:
    if epoch is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(epoch))


def skill_history(data: dict[str, Any]) -> str:
    """The skill's header, then each version with the decisions taken about it."""
    active = data["active_version"]
    lines = [f"{data['id']}  {data['state']}  active: {'v' + str(active) if active else 'none'}"]
    decisions: dict[int | None, list[dict[str, Any]]] = {}
    for entry in reversed(data.get("audit") or []):  # the API gives them newest first
        if entry["action"] in ("proposed", "validated"):
            continue  # the version line already says when it was written
        decisions.setdefault(entry["version"], []).append(entry)
    for v in data["versions"]:
        reason = f"  {v['reason']}" if v["reason"] else ""
        lines.append(
            f"  v{v['number']:<4} {v['state']:<18} {when(v['created_at'])}  by {v['author']}"
            f"{reason}"
        )
        if v["note"]:
            lines.append(f"        note: {v['note']}")
        for entry in decisions.get(v["number"], []):
            lines.append(f"        {_decision(entry)}")
    for entry in decisions.get(None, []):  # pause, resume: about the skill, not one version
        lines.append(f"  {_decision(entry)}")
    return "\n".join(lines)


def _decision(entry: dict[str, Any]) -> str:
    detail = f": {entry['detail']}" if entry.get("detail") else ""
    return f"{when(entry['at'])}  {entry['action']} by {entry['actor']}{detail}"


def report_text(report: dict[str, Any] | None) -> str:
    """The validation report as the validator renders it (compiler-style findings)."""
    if report is None:
        return "validation: not run yet (the version is still being processed)"
    try:
        return ValidationReport.model_validate(report).render()
    except pydantic.ValidationError:
        ok = "passed" if report.get("ok") else "failed"
        return f"validation {ok} (report in an older format; use --json to read it)"


def version_detail(skill_id: str, data: dict[str, Any]) -> str:
    """One version: who wrote it, when and why; decisions; the report; the source."""
    lines = [
        f"{skill_id} v{data['number']}  {data['state']}",
        f"  written  {when(data['created_at'])} by {data['author']}: {data['reason'] or '-'}",
    ]
    if data.get("approval"):
        reasons = "; ".join(data["approval"].get("reasons") or []) or "no capability needs it"
        needs = "needs approval" if data["approval"].get("needs_approval") else "no approval needed"
        lines.append(f"  policy   {needs} ({reasons})")
    if data.get("approved_by"):
        lines.append(f"  approved {when(data['approved_at'])} by {data['approved_by']}")
    if data.get("activated_at"):
        lines.append(f"  live     {when(data['activated_at'])} (last activation)")
    if data.get("note"):
        lines.append(f"  note     {data['note']}")
    lines += ["", report_text(data.get("report")), "", data["source"]]
    return "\n".join(lines)
