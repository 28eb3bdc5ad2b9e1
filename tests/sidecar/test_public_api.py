"""The public surface is pinned, and the contract document covers every rule and example."""

from __future__ import annotations

import re
from pathlib import Path

import sidecar.facade
import sidecar.validation
from sidecar.facade.errors import VIOLATIONS
from sidecar.validation import RULES, validate_source

DOCS = Path(__file__).resolve().parents[2] / "docs" / "SKILLS.md"


def test_validation_exports() -> None:
    assert sorted(sidecar.validation.__all__) == sorted(
        [
            "LAYERS",
            "MAX_SOURCE_BYTES",
            "RULES",
            "DryRunResult",
            "Finding",
            "FunctionSpec",
            "Manifest",
            "Rule",
            "RunError",
            "SandboxLimits",
            "SkillSpec",
            "ValidationReport",
            "dry_run",
            "validate_source",
        ]
    )


def test_facade_exports() -> None:
    assert sorted(sidecar.facade.__all__) == sorted(
        [
            "JSON",
            "Capabilities",
            "CapabilityBackends",
            "CapabilityCall",
            "CapabilityGrants",
            "EventView",
            "Exposed",
            "FakeCapabilities",
            "FunctionDeclaration",
            "LogSink",
            "RecordingStepBackend",
            "SkillClient",
            "SkillContext",
            "SkillError",
            "SkillViolation",
            "Step",
            "StepBackend",
            "StepGrants",
            "StepRecord",
            "build_capabilities",
            "to_json_value",
        ]
    )


def test_every_violation_code_is_a_rule() -> None:
    assert {cls.code for cls in VIOLATIONS} <= set(RULES)


def test_every_rule_is_documented() -> None:
    text = DOCS.read_text()
    missing = [rule for rule in RULES if f"`{rule}`" not in text]
    assert missing == []


def test_the_documented_example_validates() -> None:
    text = DOCS.read_text()
    example = re.search(r"## A complete example.*?```python\n(.*?)```", text, re.DOTALL)
    assert example is not None
    report = validate_source(example.group(1), "latency_watch.py")
    assert report.ok, report.render()
