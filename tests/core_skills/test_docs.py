"""docs/CORE_SKILLS.md states the thresholds the skill files actually use."""

from __future__ import annotations

import re
from pathlib import Path

from skills_core.classify import load_rules

DOC = Path(__file__).resolve().parents[2] / "docs" / "CORE_SKILLS.md"
ROW = re.compile(r"^\| `([A-Z][A-Z0-9_]+)` \| ([0-9.]+) \|", re.M)


def test_every_documented_threshold_matches_its_skill() -> None:
    skills = [load_rules("health-check"), load_rules("incident-triage")]
    rows = ROW.findall(DOC.read_text(encoding="utf-8"))
    assert len(rows) >= 25
    for name, documented in rows:
        values = [getattr(s, name) for s in skills if hasattr(s, name)]
        assert values, f"{name} is documented but no core skill defines it"
        assert all(float(v) == float(documented) for v in values), (name, documented, values)


def test_every_health_check_threshold_is_documented() -> None:
    documented = {name for name, _ in ROW.findall(DOC.read_text(encoding="utf-8"))}
    rules = load_rules("health-check")
    thresholds = {
        name
        for name in vars(rules)
        if name.isupper() and name.startswith(("ERROR_", "P9", "CPU_", "MEMORY_", "MIN_", "SATUR"))
    }
    assert thresholds <= documented, thresholds - documented
