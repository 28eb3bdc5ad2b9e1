"""Helpers around the core skills (``skills_core/skills/``), for tests, docs, the demo and tools.

The core skills are ordinary skill files: the sidecar loads them through the same validation
path as generated skills, and a skill cannot import platform modules. So their rule-based
classifiers, thresholds and schedules live *in the skill files*, and this package reads them
from there instead of keeping a copy that could drift:

* ``load_rules(name)``: a core skill's constants and plain helper functions (the rule-based
  classifier, ``summarize``, ``rule_hypothesis``…) as ordinary Python, for unit tests and tools;
* ``with_schedule`` / ``with_constants``: a new version of a skill's source with another cron
  or other thresholds (what a deployment or the review loop writes, then validates);
* ``demo_source(name)``: the demo variant (health-check every minute, shorter windows);
* ``heartbeat_missed(last_output, now)``: whether the heartbeat is overdue.
"""

from .rules import CORE_SKILL_IDS, CORE_SKILLS_DIR, core_skill_path, load_rules
from .schedule import (
    DEMO_OVERRIDES,
    demo_source,
    demo_variant,
    heartbeat_missed,
    with_constants,
    with_schedule,
)

__all__ = [
    "CORE_SKILLS_DIR",
    "CORE_SKILL_IDS",
    "DEMO_OVERRIDES",
    "core_skill_path",
    "demo_source",
    "demo_variant",
    "heartbeat_missed",
    "load_rules",
    "with_constants",
    "with_schedule",
]
