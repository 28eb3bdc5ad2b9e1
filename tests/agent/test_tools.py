"""Tools: precise argument errors, the guide, write/test with and without the sidecar."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.config import REPO_ROOT
from agent.prompts import EXAMPLES_DIR
from agent.testing.sidecar_double import SidecarDouble
from agent.tools import (
    EngineClient,
    MemoryDrafts,
    MetricsTools,
    RunTools,
    SidecarClient,
    SkillGuide,
    SkillTools,
    ToolBox,
    build_toolbox,
)
from sidecar.validation import validate_source
from tests.agent.skills import BROKEN, GOOD


def dead_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def toolbox(tmp_path: Path, sidecar_url: str | None = None) -> ToolBox:
    return build_toolbox(
        guide=SkillGuide(REPO_ROOT / "docs" / "SKILLS.md"),
        skills=SkillTools(
            SidecarClient(sidecar_url or dead_url()),
            MemoryDrafts(),
            tmp_path,
            "loopwright skills approve {id} --version {version}",
        ),
        metrics=MetricsTools(),
        runs=RunTools(EngineClient(dead_url())),
    )


@pytest.fixture
def tools(tmp_path: Path) -> ToolBox:
    return toolbox(tmp_path)


def error_of(tools: ToolBox, name: str, arguments: str) -> dict[str, str]:
    result = tools.dispatch(name, arguments)
    assert not result.ok
    data: dict[str, str] = json.loads(result.content)
    return data


def test_every_tool_has_a_schema_without_titles(tools: ToolBox) -> None:
    names = [s["function"]["name"] for s in tools.schemas()]
    assert names == [
        "skill_guide",
        "list_capabilities",
        "query_metrics",
        "list_skills",
        "read_skill",
        "write_skill",
        "test_skill",
        "send_event",
        "skill_runs",
    ]
    assert '"title"' not in json.dumps(tools.schemas())


def test_an_unknown_tool_lists_the_real_ones(tools: ToolBox) -> None:
    error = error_of(tools, "write_file", "{}")
    assert error["error"] == "tool-unknown"
    assert "write_skill(id: str, source: str, reason: str (optional))" in error["message"]


def test_broken_json_says_where(tools: ToolBox) -> None:
    error = error_of(tools, "read_skill", '{"id": "a",')
    assert error["error"] == "tool-args-invalid"
    assert "not valid JSON" in error["message"] and "expected read_skill(" in error["message"]


def test_each_bad_argument_is_named_with_what_was_wrong(tools: ToolBox) -> None:
    error = error_of(tools, "write_skill", '{"id": "Latency Watch", "sourc": "x"}')
    message = error["message"]
    assert "- id: String should match pattern" in message and '(got "Latency Watch")' in message
    assert "- source: Field required" in message
    assert "- sourc: Extra inputs are not permitted" in message


def test_skill_guide_reads_the_contract_and_refuses_unknown_topics(tools: ToolBox) -> None:
    manifest = tools.dispatch("skill_guide", '{"topic": "manifest"}')
    assert manifest.ok and manifest.content.startswith("## The manifest")
    assert "capability-unused" in manifest.content
    workflow = tools.dispatch("skill_guide", '{"topic": "workflow"}')
    assert "From a requirement to a registered skill" in workflow.content
    examples = tools.dispatch("skill_guide", '{"topic": "examples"}').content
    assert "### daily_digest.py" in examples and "### disk_space_check.py" in examples
    error = error_of(tools, "skill_guide", '{"topic": "everything"}')
    assert "Input should be 'workflow'" in error["message"]


@pytest.mark.parametrize("path", sorted(EXAMPLES_DIR.glob("*.py.txt")), ids=lambda p: p.name)
def test_the_guide_examples_are_valid_skills(path: Path) -> None:
    report = validate_source(path.read_text(), path.name.removesuffix(".txt"))
    assert report.ok, report.render()


def test_write_without_sidecar_validates_but_does_not_register(tools: ToolBox) -> None:
    bad = tools.dispatch("write_skill", json.dumps({"id": "latency-watch", "source": BROKEN}))
    payload = json.loads(bad.content)
    assert bad.ok and bad.check is not None and not bad.check["ok"]
    assert payload["registered"] is False and payload["state"] == "invalid"
    rules = [f["rule"] for f in payload["report"]["findings"]]
    assert rules == ["import-not-allowed", "nondeterministic-call"]
    assert all(f["fix"] for f in payload["report"]["findings"])
    assert "import-not-allowed" in bad.check["problem"]

    good = tools.dispatch("write_skill", json.dumps({"id": "latency-watch", "source": GOOD}))
    payload = json.loads(good.content)
    assert payload["report"]["ok"] and payload["registered"] is False
    assert "validated locally" in payload["note"] and "NOT registered" in payload["note"]
    assert good.skill is not None and good.skill["ref"].startswith("latency-watch#")
    assert good.skill["facts"]["triggers"] == ["cron TZ=Europe/Paris */30 * * * *"]
    assert good.skill["facts"]["watches"] == ["metrics:prometheus"]
    assert good.skill["facts"]["posts"] == ["notify:inbox"]


def test_test_skill_dry_runs_the_draft_without_sidecar(tools: ToolBox) -> None:
    tools.dispatch("write_skill", json.dumps({"id": "latency-watch", "source": GOOD}))
    result = tools.dispatch("test_skill", '{"id": "latency-watch"}')
    view = json.loads(result.content)
    assert view["ok"] and view["mode"] == "dry"
    assert [s["id"] for s in view["steps"]][:1] == ["fetch-latency"]
    real = error_of(tools, "test_skill", '{"id": "latency-watch", "mode": "real"}')
    assert real["error"] == "service-unavailable"


@pytest.fixture
def sidecar() -> Iterator[SidecarDouble]:
    with SidecarDouble() as double:
        yield double


def test_write_and_test_through_the_sidecar(tmp_path: Path, sidecar: SidecarDouble) -> None:
    tools = toolbox(tmp_path, sidecar.url)
    first = json.loads(
        tools.dispatch("write_skill", json.dumps({"id": "latency-watch", "source": BROKEN})).content
    )
    assert (first["version"], first["state"], first["registered"]) == (1, "quarantined", False)
    second = tools.dispatch(
        "write_skill", json.dumps({"id": "latency-watch", "source": GOOD, "reason": "fix"})
    )
    payload = json.loads(second.content)
    assert (payload["version"], payload["state"], payload["registered"]) == (2, "active", True)
    assert second.skill is not None and second.skill["ref"] == "latency-watch@2"
    assert second.skill["review_command"] == "loopwright skills approve latency-watch --version 2"
    assert sidecar.requests[-1][2]["reason"] == "fix"
    tested = json.loads(tools.dispatch("test_skill", '{"id": "latency-watch"}').content)
    assert tested["ok"]
    listed = json.loads(tools.dispatch("list_skills", "{}").content)
    assert listed["skills"]["skills"] == [{"id": "latency-watch", "state": "active", "version": 2}]


def test_platform_events_are_refused_and_a_down_engine_is_said(tools: ToolBox) -> None:
    reserved = error_of(tools, "send_event", '{"name": "loopwright/agent.turn.requested"}')
    assert "belong to the platform" in reserved["message"]
    down = error_of(tools, "send_event", '{"name": "health/check.requested"}')
    assert down["error"] == "service-unavailable" and "engine" in down["message"]


def test_capabilities_are_listed(tools: ToolBox) -> None:
    listed = json.loads(tools.dispatch("list_capabilities", "{}").content)
    assert "query_range" in listed["methods"]["metrics"]
    assert listed["configured"] is None or "host" in listed["configured"]["metrics"]


def test_a_write_sent_again_by_a_rerun_step_is_idempotent(
    tmp_path: Path, sidecar: SidecarDouble
) -> None:
    from agent.tools.base import CALL_KEY

    tools = toolbox(tmp_path, sidecar.url)
    args = json.dumps({"id": "latency-watch", "source": GOOD})
    token = CALL_KEY.set("turn_1:tool-3-0")
    try:
        first = json.loads(tools.dispatch("write_skill", args).content)
        again = json.loads(tools.dispatch("write_skill", args).content)
    finally:
        CALL_KEY.reset(token)
    assert first["version"] == again["version"] == 1
    assert len(sidecar.skills["latency-watch"]) == 1


def test_skill_runs_reads_the_run_ledger(tmp_path: Path) -> None:
    from loopwright.ledger import LedgerReader, LedgerWriter, RunRecord
    from loopwright.store import open_store

    store = open_store(tmp_path / "platform.db")
    writer = LedgerWriter(store)
    for i, status in enumerate(["completed", "failed", "completed"]):
        writer.record_run(RunRecord(
            run_id=f"run{i}", app_id="loopwright-skills", function_id="loopwright-skills-nightly",
            skill_id="nightly", skill_version=2, trigger="cron", event_name=None, event_id=None,
            cron="0 3 * * *", status=status, started_at=1000.0 + i, ended_at=1001.0 + i,
            duration_ms=1000, error_message="boom" if status == "failed" else None,
        ))  # fmt: skip
    tools = build_toolbox(
        guide=SkillGuide(REPO_ROOT / "docs" / "SKILLS.md"),
        skills=SkillTools(None, MemoryDrafts(), tmp_path, "approve {id} {version}"),
        metrics=MetricsTools(),
        runs=RunTools(EngineClient(dead_url()), LedgerReader(store)),
    )
    result = tools.dispatch("skill_runs", json.dumps({"id": "nightly"}))
    assert result.ok, result.content
    body = json.loads(result.content)
    assert body["runs"] == 3 and body["by_status"] == {"completed": 2, "failed": 1}
    assert [r["run_id"] for r in body["latest"]] == ["run2", "run1", "run0"]
    assert body["latest"][1]["error"] == "boom" and body["latest"][0]["version"] == 2
