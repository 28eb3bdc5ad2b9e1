"""The eval: scores, success, tool-call accuracy, ICIR; and ``loopwright eval`` over HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.cli import app
from agent.eval import RunResult, icir, load, run_eval, summarize
from agent.llm import ChatRequest, ModelReply, ModelRoles, ToolCall, Usage
from agent.testing.script import AGENT_MODEL
from skills_core.capabilities.scripted_llm import Reply, ScriptedLLM
from tests.agent._harness import settings_for
from tests.agent.skills import BROKEN, GOOD


class RequirementModel:
    """Writes GOOD for latency requirements, BROKEN otherwise (once with a bad call)."""

    model_names = (AGENT_MODEL,)

    def complete(self, request: ChatRequest) -> ModelReply:
        last = request.messages[-1]
        if last["role"] == "tool":
            return ModelReply("done", (), Usage(100, 5), AGENT_MODEL)
        first_user = next(m for m in request.messages if m["role"] == "user")["content"]
        source = GOOD if "latency" in first_user else BROKEN
        calls: tuple[ToolCall, ...] = (
            ToolCall("c1", "write_skill", json.dumps({"id": "latency-watch", "source": source})),
        )
        if "disk" in first_user:
            calls = (ToolCall("c0", "write_skill", '{"id": "Disk!"}'), *calls)
        return ModelReply("", calls, Usage(1000, 200), AGENT_MODEL)


def test_icir_is_mean_over_spread() -> None:
    assert icir([1.0, 0.5]) == pytest.approx(0.75 / 0.35355339, rel=1e-6)
    assert icir([0.7, 0.7, 0.7]) is None
    assert icir([1.0]) is None


def test_run_scores_and_success() -> None:
    full = RunResult("s", 0, True, True, {"a": True, "b": True}, 3, 0, 1.0, 10, 5, 0.01, "answered")
    assert full.score == pytest.approx(1.0) and full.success
    half = RunResult("s", 1, True, False, {"a": True, "b": False}, 4, 1, 2.0, 10, 5, 0.01, "x")
    assert half.score == pytest.approx(0.55) and not half.success
    summary = summarize([full, half])
    assert summary["success_rate"] == 0.5
    assert summary["tool_call_accuracy"] == pytest.approx(6 / 7)


def test_scenarios_load_and_check_a_skill() -> None:
    scenarios = {s.name: s for s in load()}
    assert {"latency-watch", "incident-triage", "deploy-digest"} <= set(scenarios)
    manifest = {
        "triggers": [{"cron": "*/30 * * * *"}],
        "capabilities": {"metrics": {"sources": ["prometheus"]}, "notify": {"channels": ["inbox"]}},
    }
    assert all(scenarios["latency-watch"].checks(manifest, "").values())
    assert not scenarios["incident-triage"].checks(manifest, "")["trigger"]
    with pytest.raises(ValueError, match="unknown scenario"):
        load(names=("nope",))


def test_run_eval_reports_every_figure(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, LOOPWRIGHT_CRITIC_ENABLED="0")
    model = RequirementModel()
    roles = ModelRoles(agent=model, critic=None, classifier=None, settings=dict(settings.roles))
    scenarios = load(names=("latency-watch", "disk-space"))
    report = run_eval(settings, scenarios, runs=2, models=roles)
    latency = report["scenarios"]["latency-watch"]
    assert latency["success_rate"] == 1.0 and latency["icir"] is None
    disk = report["scenarios"]["disk-space"]
    assert disk["validated_rate"] == 0.0 and disk["tool_call_accuracy"] == 0.5
    overall = report["overall"]
    assert overall["runs"] == 4 and overall["success_rate"] == 0.5
    assert overall["icir"] == pytest.approx(icir([r["score"] for r in report["runs"]]))
    assert overall["input_tokens"] == 4 * 1100 and overall["cost_usd"] > 0
    # The eval used a throwaway store: neither the agent's file nor the platform store beside it.
    assert not (tmp_path / "agent.db").exists()
    assert not (tmp_path / "platform.db").exists()


def test_loopwright_eval_against_the_scripted_server(monkeypatch: pytest.MonkeyPatch) -> None:
    def respond(request: object) -> Reply:
        messages = request.messages  # type: ignore[attr-defined]
        if messages[-1]["role"] == "tool":
            return Reply("done")
        args = json.dumps({"id": "latency-watch", "source": GOOD})
        return Reply(
            "",
            tool_calls=[
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "write_skill", "arguments": args},
                }
            ],
        )

    with ScriptedLLM(responder=respond) as llm:
        monkeypatch.setenv("LOOPWRIGHT_LLM_AGENT_BASE_URL", llm.base_url)
        monkeypatch.setenv("LOOPWRIGHT_LLM_AGENT_MODEL", AGENT_MODEL)
        monkeypatch.setenv("LOOPWRIGHT_CRITIC_ENABLED", "0")
        result = CliRunner().invoke(app, ["eval", "-n", "1", "-s", "latency-watch", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout[result.stdout.index("{") :])
    assert report["overall"]["success_rate"] == 1.0
    assert len(llm.requests) == 2


def test_loopwright_eval_without_llm_says_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "LOOPWRIGHT_AGENT_BASE_URL",
        "LOOPWRIGHT_AGENT_MODEL",
        "LOOPWRIGHT_LLM_BASE_URL",
        "LOOPWRIGHT_LLM_AGENT_BASE_URL",
        "LOOPWRIGHT_LLM_AGENT_MODEL",
    ):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(app, ["eval", "-n", "1"])
    assert result.exit_code == 1
    assert "LOOPWRIGHT_LLM_BASE_URL" in result.output
