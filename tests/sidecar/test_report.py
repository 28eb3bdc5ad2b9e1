"""The report lists every problem at once, each with file, line, column, rule and fix."""

from __future__ import annotations

import json
from pathlib import Path

from sidecar.validation import RULES, ValidationReport, validate_source

FIXTURES = Path(__file__).parent / "fixtures"


def five_problems() -> ValidationReport:
    return validate_source((FIXTURES / "five_problems.py").read_text(), "five_problems.py")


def test_five_different_problems_give_five_findings_in_one_report() -> None:
    report = five_problems()
    assert not report.ok
    assert [(f.line, f.rule) for f in report.findings] == [
        (9, "import-not-allowed"),
        (15, "nondeterministic-call"),
        (16, "loop-while"),
        (19, "step-id-literal"),
        (20, "attribute-private"),
    ]
    for f in report.findings:
        assert f.file == "five_problems.py"
        assert f.fix == RULES[f.rule].fix and f.fix
        assert f.message
        assert f.severity == "error"
    # Nothing was executed: all five come from the static layers.
    assert report.dry_runs == [] and report.skill is None


def test_report_is_machine_readable() -> None:
    report = five_problems()
    data = json.loads(report.to_json())
    assert data["ok"] is False
    assert data["file"] == "five_problems.py"
    assert set(data["findings"][0]) == {
        "file",
        "line",
        "col",
        "rule",
        "layer",
        "severity",
        "message",
        "fix",
    }
    assert ValidationReport.model_validate(data).findings == report.findings


def test_report_is_human_readable() -> None:
    text = str(five_problems())
    lines = text.splitlines()
    assert lines[0] == "five_problems.py: validation failed, 5 error(s)"
    assert lines[1].startswith("five_problems.py:9:0: error [import-not-allowed]")
    assert lines[2].strip().startswith("fix: ")
    assert len(lines) == 11


def test_ok_report_renders_function_ids_and_carries_the_skill() -> None:
    name = "latency_watch.py"
    report = validate_source((FIXTURES / name).read_text(), name)
    assert report.render() == "latency_watch.py: OK (latency-watch)"
    assert report.skill is not None
    assert report.skill.manifest.id == "latency-watch"
    assert len(report.skill.source_sha256) == 64
    assert report.layers_run == [
        "filename",
        "unicode-scan",
        "parse",
        "ast-policy",
        "restricted-compile",
        "contract",
        "load",
        "contract",
        "dry-run",
    ]
    assert json.loads(report.to_json())["ok"] is True


def test_warnings_do_not_fail_validation() -> None:
    name = "latency_watch.py"
    source = (
        (FIXTURES / name)
        .read_text()
        .replace('"llm": {', '"http": {"hosts": ["status.example.com"]},\n        "llm": {')
    )
    report = validate_source(source, name)
    assert report.ok, report.render()
    assert [(f.rule, f.severity) for f in report.findings] == [("capability-unused", "warning")]
    assert "warning [capability-unused]" in report.render()


def test_findings_are_ordered_by_layer_then_line() -> None:
    source = "MANIFEST = {}\nimport os\nx\u200b = 1\n"
    report = validate_source(source, "Bad-Name.py")
    layers = [f.layer for f in report.findings]
    assert layers == sorted(
        layers, key=lambda layer: ["filename", "unicode-scan", "parse", "ast-policy"].index(layer)
    )
    assert report.findings[0].rule == "filename-invalid"
