"""New versions of a skill's source with another schedule or other constants.

The schedule of a core skill is its cron trigger, written twice in the file (MANIFEST and the
decorator; the validator checks that they agree). A deployment that wants another schedule —
and the demo, which runs the health check every minute — registers a *version* of the skill
with the cron replaced; the review loop rewrites thresholds the same way, constant by constant.
The result is plain source: validate it (``sidecar.validation.validate_source``) before use.
"""

from __future__ import annotations

import ast
import datetime
import json
from collections.abc import Mapping
from typing import Any

from .rules import core_skill_path

#: The demo variants: health-check every minute, over windows a fresh Prometheus can fill.
DEMO_OVERRIDES: dict[str, dict[str, Any]] = {
    "health-check": {
        "cron": "* * * * *",
        "constants": {"STEP_SECONDS": 15, "BASELINE_MINUTES": 60},
    },
}


def _manifest(tree: ast.Module) -> dict[str, Any]:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "MANIFEST" for t in node.targets
        ):
            value = ast.literal_eval(node.value)
            if isinstance(value, dict):
                return value
    raise ValueError("the source has no MANIFEST literal")


def with_schedule(source: str, cron: str) -> str:
    """``source`` with its one cron trigger replaced by ``cron`` (in MANIFEST and decorator)."""
    crons = [t["cron"] for t in _manifest(ast.parse(source)).get("triggers", []) if "cron" in t]
    if len(crons) != 1:
        raise ValueError(f"expected exactly one cron trigger, found {len(crons)}")
    old, new = json.dumps(crons[0]), json.dumps(cron)
    if source.count(old) != 2:
        raise ValueError(f"the cron {old} should appear twice (MANIFEST and decorator)")
    return source.replace(old, new)


def with_constants(source: str, values: Mapping[str, Any]) -> str:
    """``source`` with module-level constants set to new literal ``values``."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    edits: list[tuple[int, int, str]] = []
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1):
            continue
        target = node.targets[0]
        if isinstance(target, ast.Name) and target.id in values and target.id != "MANIFEST":
            value = node.value
            assert value.end_lineno is not None and value.end_col_offset is not None
            start = offsets[value.lineno - 1] + value.col_offset
            end = offsets[value.end_lineno - 1] + value.end_col_offset
            edits.append((start, end, repr(values[target.id])))
    found = {
        t.id
        for n in tree.body
        if isinstance(n, ast.Assign)
        for t in n.targets
        if isinstance(t, ast.Name)
    }
    missing = sorted(set(values) - found)
    if missing:
        raise ValueError(f"no module-level constants named {missing}")
    for start, end, text in sorted(edits, reverse=True):
        source = source[:start] + text + source[end:]
    return source


def demo_source(name: str) -> str:
    """The source of core skill ``name`` as the demo runs it."""
    return demo_variant(name, core_skill_path(name).read_text(encoding="utf-8"))


def demo_variant(name: str, source: str) -> str:
    """``source`` (core skill ``name``, maybe from another directory) as the demo runs it."""
    overrides = DEMO_OVERRIDES.get(name.replace("_", "-"), {})
    if "cron" in overrides:
        source = with_schedule(source, overrides["cron"])
    return with_constants(source, overrides.get("constants", {}))


def heartbeat_missed(last_output: Mapping[str, Any] | None, now: datetime.datetime) -> bool:
    """True when no heartbeat ran, or the last one's ``overdue_after`` has passed."""
    if not last_output or not last_output.get("overdue_after"):
        return True
    overdue = datetime.datetime.fromisoformat(str(last_output["overdue_after"]))
    return now >= overdue
