"""The durable turn for real: engine and agent app as processes, the ``openai`` client over
HTTP against the scripted server, the sidecar API double. Kill a process mid-turn and the
turn resumes without asking the model again for a finished step; messages queue.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent.testing.script import AGENT_MODEL, CRITIC_MODEL, Call, Script, Step, call, calls, say
from agent.testing.sidecar_double import SidecarDouble
from skills_core.capabilities.scripted_llm import ScriptedLLM
from tests.agent._harness import critic_json
from tests.agent._processes import AgentApp, Engine, read_sse, wait_synced
from tests.agent.skills import BROKEN, GOOD

pytestmark = pytest.mark.slow
REQUIREMENT = "our services have latency spikes overnight and nobody notices"


@dataclass
class Platform:
    engine: Engine
    agent: AgentApp
    llm: ScriptedLLM
    sidecar: SidecarDouble

    def use(self, script: Script) -> int:
        """Answer from ``script`` from now on; the index of the next recorded request."""
        self.llm.respond_with(script.responder())
        return len(self.llm.requests)

    def post(self, text: str, conversation_id: str | None = None) -> dict[str, Any]:
        if conversation_id is None:
            conversation_id = httpx.post(f"{self.agent.url}/v1/conversations", json={}).json()["id"]
        resp = httpx.post(
            f"{self.agent.url}/v1/conversations/{conversation_id}/messages", json={"text": text}
        )
        assert resp.status_code == 202, resp.text
        data: dict[str, Any] = resp.json()
        return data

    def finished(self, posted: dict[str, Any], timeout_s: float = 90) -> list[dict[str, Any]]:
        url = (
            f"{self.agent.url}/v1/conversations/{posted['conversation_id']}/events"
            f"?turn_id={posted['turn_id']}"
        )
        return read_sse(url, timeout_s)

    def wait_requests(self, count: int, timeout_s: float = 30) -> None:
        deadline = time.monotonic() + timeout_s
        while len(self.llm.requests) < count:
            assert time.monotonic() < deadline, f"only {len(self.llm.requests)} model requests"
            time.sleep(0.02)

    def restart_agent(self) -> None:
        self.agent.start()
        wait_synced(self.engine.url)


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    workdir = tmp_path_factory.mktemp("durable")
    with ScriptedLLM() as llm, SidecarDouble() as sidecar:
        engine = Engine(workdir)
        engine.start()
        agent = AgentApp(workdir, {})
        agent.extra_env = {
            "LOOPWRIGHT_LLM_AGENT_BASE_URL": llm.base_url,
            "LOOPWRIGHT_LLM_AGENT_MODEL": AGENT_MODEL,
            "LOOPWRIGHT_CRITIC_MODEL": CRITIC_MODEL,
            "LOOPWRIGHT_ENGINE_URL": engine.url,
            "LOOPWRIGHT_SIDECAR_URL": sidecar.url,
            "LOOPWRIGHT_AGENT_URL": agent.url,
            "LOOPWRIGHT_AGENT_TURN_RETRIES": "10",
            "LOOPWRIGHT_LLM_MAX_RETRIES": "0",
        }
        try:
            agent.start()
            wait_synced(engine.url)
            yield Platform(engine, agent, llm, sidecar)
        finally:
            agent.stop()
            engine.stop()


def repair_script(slow: int | None = None, delay_s: float = 3.0) -> Script:
    steps = [
        calls(Call("write_skill", {"id": "latency-watch", "source": BROKEN})),
        calls(Call("write_skill", {"id": "latency-watch", "source": GOOD})),
        call("test_skill", id="latency-watch"),
        say("latency-watch is registered; review it."),
    ]
    if slow is not None:
        steps[slow] = Step(steps[slow].text, steps[slow].calls, delay_s=delay_s)
    return Script(agent=steps, critic=[critic_json(0.9)])


def fingerprints(platform: Platform, start: int) -> Counter[str]:
    return Counter(
        json.dumps([r.model, r.messages], sort_keys=True) for r in platform.llm.requests[start:]
    )


def sidecar_calls(platform: Platform, start: int) -> list[str]:
    return [path for _, path, _ in platform.sidecar.requests[start:]]


def test_requirement_to_registered_skill_through_the_engine(platform: Platform) -> None:
    start = platform.use(repair_script())
    sidecar_start = len(platform.sidecar.requests)
    events = platform.finished(platform.post(REQUIREMENT))
    kinds = [e["kind"] for e in events]
    assert kinds[:2] == ["turn.queued", "turn.started"]
    assert [e["name"] for e in events if e["kind"] == "tool.started"] == [
        "write_skill",
        "write_skill",
        "test_skill",
    ]
    results = [e for e in events if e["kind"] == "tool.result"]
    assert [r["check"]["ok"] for r in results] == [False, True, True]
    assert results[0]["data"]["report"]["findings"][0]["rule"] == "import-not-allowed"
    outcome = events[-1]
    assert outcome["kind"] == "turn.finished" and outcome["reason"] == "answered"
    assert outcome["skill"]["ref"].startswith("latency-watch@") and outcome["skill"]["registered"]
    assert outcome["critic"]["decision"] == "accept"
    assert [r.model for r in platform.llm.requests[start:]] == [AGENT_MODEL] * 4 + [CRITIC_MODEL]
    assert set(fingerprints(platform, start).values()) == {1}
    assert sidecar_calls(platform, sidecar_start) == [
        "/v1/skills/latency-watch/versions",
        "/v1/skills/latency-watch/versions",
        "/v1/skills/latency-watch/test",
    ]


def test_killing_the_agent_mid_turn_repeats_only_the_call_in_flight(platform: Platform) -> None:
    start = platform.use(repair_script(slow=2, delay_s=2.0))
    sidecar_start = len(platform.sidecar.requests)
    posted = platform.post(REQUIREMENT)
    platform.wait_requests(start + 3)  # the third model call is in flight (slow)
    platform.agent.kill()
    platform.restart_agent()
    events = platform.finished(posted)
    assert events[-1]["reason"] == "answered"
    counts = fingerprints(platform, start)
    in_flight = json.dumps(
        [platform.llm.requests[start + 2].model, platform.llm.requests[start + 2].messages],
        sort_keys=True,
    )
    assert counts[in_flight] == 2  # it never answered before the kill
    assert all(n == 1 for fp, n in counts.items() if fp != in_flight)
    assert len(counts) == 5
    assert sidecar_calls(platform, sidecar_start).count("/v1/skills/latency-watch/versions") == 2


def test_killing_the_engine_mid_turn_repeats_no_model_call(platform: Platform) -> None:
    start = platform.use(repair_script(slow=2, delay_s=2.0))
    sidecar_start = len(platform.sidecar.requests)
    posted = platform.post(REQUIREMENT)
    platform.wait_requests(start + 3)
    platform.engine.kill()
    time.sleep(2.5)  # the slow answer arrives while the engine is down; the agent keeps it
    platform.engine.start()
    events = platform.finished(posted)
    assert events[-1]["reason"] == "answered"
    counts = fingerprints(platform, start)
    assert set(counts.values()) == {1} and len(counts) == 5
    assert sidecar_calls(platform, sidecar_start).count("/v1/skills/latency-watch/versions") == 2
    assert sidecar_calls(platform, sidecar_start).count("/v1/skills/latency-watch/test") == 1


def test_a_message_sent_during_a_turn_queues(platform: Platform) -> None:
    start = platform.use(Script(agent=[Step("answer one", delay_s=1.5), say("answer two")]))
    first = platform.post("first question")
    platform.wait_requests(start + 1)
    second = platform.post("second question", first["conversation_id"])
    assert second["ahead"] == 1 and second["queued"]
    events = platform.finished(second)
    assert events[-1]["reply"] == "answer two"
    everything = read_sse(
        f"{platform.agent.url}/v1/conversations/{first['conversation_id']}/events?follow=false"
    )
    order = [(e["kind"], e["turn_id"]) for e in everything if e["kind"] != "turn.queued"]
    first_done = order.index(("turn.finished", first["turn_id"]))
    second_started = order.index(("turn.started", second["turn_id"]))
    assert first_done < second_started
    second_prompt = [m["content"] for m in platform.llm.requests[start + 1].messages[1:]]
    assert second_prompt == ["first question", "answer one", "second question"]


def test_conversations_are_listed_and_resumable(platform: Platform) -> None:
    platform.use(Script(agent=[say("hello back")]))
    posted = platform.post("hello")
    platform.finished(posted)
    listed = httpx.get(f"{platform.agent.url}/v1/conversations").json()["conversations"]
    assert posted["conversation_id"] in [c["id"] for c in listed]
    detail = httpx.get(f"{platform.agent.url}/v1/conversations/{posted['conversation_id']}").json()
    assert [m["content"] for m in detail["messages"]] == ["hello", "hello back"]
    assert detail["turns"][0]["status"] == "done" and detail["cost_usd"] > 0
    events_url = f"{platform.agent.url}/v1/conversations/{posted['conversation_id']}/events"
    everything = read_sse(f"{events_url}?follow=false")
    resume_at = everything[1]
    with httpx.stream(
        "GET", f"{events_url}?follow=false", headers={"Last-Event-ID": str(everything[0]["seq"])}
    ) as resp:
        body = resp.read().decode()
    assert body.startswith(f"id: {everything[1]['seq']}\nevent: {resume_at['kind']}")
    missing = httpx.get(f"{platform.agent.url}/v1/conversations/nope")
    assert missing.status_code == 404 and missing.json()["code"] == "conversation-not-found"


def test_without_an_llm_the_agent_says_what_to_set(tmp_path: Path) -> None:
    agent = AgentApp(tmp_path, {"LOOPWRIGHT_ENGINE_URL": "http://127.0.0.1:9"})
    agent.start()
    try:
        status = httpx.get(f"{agent.url}/v1/status").json()
        assert status["llm_configured"] is False
        assert "LOOPWRIGHT_LLM_BASE_URL" in status["setup_hint"]
        cid = httpx.post(f"{agent.url}/v1/conversations", json={}).json()["id"]
        posted = httpx.post(
            f"{agent.url}/v1/conversations/{cid}/messages", json={"text": "hi"}
        ).json()
        events = read_sse(
            f"{agent.url}/v1/conversations/{cid}/events?turn_id={posted['turn_id']}", 10
        )
        assert events[-1]["reason"] == "llm-not-configured"
        assert "LOOPWRIGHT_LLM_MODEL" in events[-1]["reply"]
    finally:
        agent.stop()


def test_loopwright_chat_one_shot_shows_steps_reports_and_the_skill(platform: Platform) -> None:
    from typer.testing import CliRunner

    from agent.cli import app

    platform.use(repair_script())
    result = CliRunner().invoke(
        app, ["chat", "-m", REQUIREMENT, "--url", platform.agent.url], terminal_width=160
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.count("→ write_skill(id='latency-watch')") == 2
    assert "✗ validation failed, 2 error(s)" in out
    assert "[import-not-allowed]" in out and "fix:" in out
    assert re.search(r"✓ validated \(version \d+, active\)", out)
    assert "✓ test run passed" in out
    assert "latency-watch is registered; review it." in out
    assert "trigger: cron TZ=Europe/Paris */30 * * * *" in out
    assert "watches: metrics:prometheus" in out and "posts:   notify:inbox" in out
    assert re.search(r"review:  loopwright skills approve latency-watch --version \d+", out)


def test_loopwright_chat_one_shot_without_a_skill_says_so_and_exits_1(platform: Platform) -> None:
    from typer.testing import CliRunner

    from agent.cli import app

    platform.use(Script(agent=[say("I would watch checkout latency, but I will not write it.")]))
    result = CliRunner().invoke(
        app, ["chat", "-m", REQUIREMENT, "--url", platform.agent.url], terminal_width=160
    )
    assert result.exit_code == 1, result.output
    assert "no skill written: the model made no tool call" in result.output


def test_loopwright_chat_lists_conversations_and_names_a_missing_agent(platform: Platform) -> None:
    from typer.testing import CliRunner

    from agent.cli import app

    listed = CliRunner().invoke(app, ["chat", "--list", "--url", platform.agent.url])
    assert listed.exit_code == 0 and "conv_" in listed.output
    down = CliRunner().invoke(app, ["chat", "-m", "hi", "--url", "http://127.0.0.1:9"])
    assert down.exit_code == 1 and "the agent is not running" in down.output
