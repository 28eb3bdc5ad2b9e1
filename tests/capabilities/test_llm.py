"""The LLM capability through the real openai client against the scripted server."""

from __future__ import annotations

import time
from pathlib import Path

import openai
import pytest

from skills_core.capabilities import (
    CapabilityDenied,
    CapabilitySettings,
    CapabilityStore,
    ClassifyRequest,
    CompleteRequest,
    LLMBudgetExceeded,
    LLMService,
    LLMTimeout,
    LLMUnavailable,
)
from skills_core.capabilities.scripted_llm import API_KEY, MODEL, Reply, ScriptedLLM
from skills_core.demo.prometheus import free_port

from .factories import Closing, grant, make_settings

SKILL = grant(llm={"per_run_usd": 0.5, "per_week_usd": 2.0})
LABELS = ["normal", "degraded", "critical"]
REQUEST = ClassifyRequest(text="checkout p99 2.4s vs 0.3s baseline", labels=LABELS)


def service(
    closing: Closing, tmp_path: Path, store: CapabilityStore, server: ScriptedLLM, **llm: object
) -> LLMService:
    return closing(LLMService(make_settings(tmp_path, llm=server.settings(**llm)), store))


def test_classify_round_trip(
    closing: Closing, tmp_path: Path, store: CapabilityStore, llm_server: ScriptedLLM
) -> None:
    llm_server.script(Reply('{"label": "Critical", "reason": "p99 is 8x\\nits baseline"}'))
    result = service(closing, tmp_path, store, llm_server).classify(SKILL, "run-1", REQUEST)
    assert (result.label, result.reason) == ("critical", "p99 is 8x its baseline")
    (request,) = llm_server.requests
    assert request.model == MODEL and request.headers["Authorization"] == f"Bearer {API_KEY}"
    system, user = request.messages
    assert "normal, degraded, critical" in system["content"] and user["content"] == REQUEST.text
    assert request.body["temperature"] == 0 and request.body["max_tokens"] == 120


def test_roles_choose_their_model(
    closing: Closing, tmp_path: Path, store: CapabilityStore, llm_server: ScriptedLLM
) -> None:
    llm_server.script(Reply('{"label": "normal", "reason": "ok"}'), Reply("done"))
    llm = service(closing, tmp_path, store, llm_server, role_models={"classifier": "small-model"})
    llm.classify(SKILL, "run-1", REQUEST)
    llm.complete(SKILL, "run-1", CompleteRequest(prompt="summarise"))
    assert [r.model for r in llm_server.requests] == ["small-model", MODEL]


def test_usage_is_priced_and_recorded(
    closing: Closing, tmp_path: Path, store: CapabilityStore, llm_server: ScriptedLLM
) -> None:
    llm_server.script(Reply("a summary", prompt_tokens=1000, completion_tokens=500))
    llm = service(closing, tmp_path, store, llm_server)
    done = llm.complete(SKILL, "run-1", CompleteRequest(prompt="summarise", system="be brief"))
    assert done.text == "a summary"
    # Scripted prices: $1 per 1M input tokens, $2 per 1M output tokens.
    assert done.usd == pytest.approx(0.002)
    spend = llm.ledger.spent("test-skill", run_id="run-1")
    assert (spend.input_tokens, spend.output_tokens, spend.calls) == (1000, 500, 1)
    assert spend.usd == pytest.approx(0.002)


@pytest.mark.parametrize(
    ("reply", "label"),
    [
        ('```json\n{"label": "degraded", "reason": "errors up"}\n```', "degraded"),
        ("CRITICAL: error rate 31%", "critical"),
    ],
)
def test_loose_replies_are_read(
    closing: Closing,
    tmp_path: Path,
    store: CapabilityStore,
    llm_server: ScriptedLLM,
    reply: str,
    label: str,
) -> None:
    llm_server.script(Reply(reply))
    assert (
        service(closing, tmp_path, store, llm_server).classify(SKILL, "r", REQUEST).label == label
    )


def test_unusable_reply_is_bad_reply_and_still_paid(
    closing: Closing, tmp_path: Path, store: CapabilityStore, llm_server: ScriptedLLM
) -> None:
    llm_server.script(Reply("it is either normal or degraded", completion_tokens=10))
    llm = service(closing, tmp_path, store, llm_server)
    with pytest.raises(LLMUnavailable) as caught:
        llm.classify(SKILL, "run-1", REQUEST)
    assert caught.value.reason == "bad-reply" and not caught.value.retriable
    assert llm.ledger.spent("test-skill").output_tokens == 10


def test_not_configured_fails_fast_and_names_the_variables(
    tmp_path: Path, store: CapabilityStore
) -> None:
    llm = LLMService(make_settings(tmp_path), store)
    started = time.perf_counter()
    with pytest.raises(LLMUnavailable) as caught:
        llm.classify(SKILL, "run-1", REQUEST)
    assert time.perf_counter() - started < 0.1
    assert caught.value.reason == "not-configured"
    for name in ("LOOPWRIGHT_LLM_BASE_URL", "LOOPWRIGHT_LLM_API_KEY", "LOOPWRIGHT_LLM_MODEL"):
        assert name in caught.value.message
    partial = CapabilitySettings.from_env(
        {"LOOPWRIGHT_LLM_BASE_URL": "http://127.0.0.1:1/v1"}, db_path=tmp_path / "x.db"
    )
    with pytest.raises(LLMUnavailable) as caught:
        LLMService(partial, store).complete(SKILL, "r", CompleteRequest(prompt="x"))
    assert "LOOPWRIGHT_LLM_API_KEY, LOOPWRIGHT_LLM_MODEL" in caught.value.message
    assert "set LOOPWRIGHT_LLM_BASE_URL" not in caught.value.message


def test_kill_switch_blocks_non_loopback_endpoints(
    tmp_path: Path, store: CapabilityStore, llm_server: ScriptedLLM
) -> None:
    remote = llm_server.settings(base_url="https://api.openai.example/v1")
    llm = LLMService(make_settings(tmp_path, llm=remote), store)
    with pytest.raises(LLMUnavailable, match="ALLOW_MODEL_REQUESTS") as caught:
        llm.classify(SKILL, "run-1", REQUEST)
    assert caught.value.reason == "blocked"
    assert llm.ledger.spent("test-skill").calls == 0


@pytest.mark.parametrize(
    ("reply", "reason", "retry_after"),
    [
        (Reply(status=500), "failed", 10.0),
        (Reply(status=503, headers={"Retry-After": "3"}), "failed", 3.0),
        (Reply(status=429, headers={"Retry-After": "7"}), "failed", 7.0),
        (Reply(status=401, error="bad key"), "rejected", None),
        (Reply(status=404, error="model not found"), "rejected", None),
    ],
)
def test_http_errors_map_to_llm_unavailable(
    closing: Closing,
    tmp_path: Path,
    store: CapabilityStore,
    llm_server: ScriptedLLM,
    reply: Reply,
    reason: str,
    retry_after: float | None,
) -> None:
    llm_server.script(reply)
    llm = service(closing, tmp_path, store, llm_server)
    with pytest.raises(LLMUnavailable) as caught:
        llm.classify(SKILL, "run-1", REQUEST)
    assert (caught.value.reason, caught.value.retry_after) == (reason, retry_after)
    assert caught.value.retriable is (retry_after is not None)
    assert len(llm_server.requests) == 1  # no client-side retries
    assert llm.ledger.spent("test-skill").calls == 0  # reservation released


def test_timeout_is_llm_timeout_and_keeps_the_worst_case_charge(
    closing: Closing, tmp_path: Path, store: CapabilityStore, llm_server: ScriptedLLM
) -> None:
    llm_server.script(Reply("late", delay_s=1.0))
    llm = service(closing, tmp_path, store, llm_server, timeout_s=0.2)
    with pytest.raises(LLMTimeout) as caught:
        llm.classify(SKILL, "run-1", REQUEST)
    assert caught.value.retriable and isinstance(caught.value, LLMUnavailable)
    assert llm.ledger.spent("test-skill").usd > 0


def test_unreachable_endpoint(
    closing: Closing, tmp_path: Path, store: CapabilityStore, llm_server: ScriptedLLM
) -> None:
    nobody = llm_server.settings(base_url=f"http://127.0.0.1:{free_port()}/v1")
    llm = closing(LLMService(make_settings(tmp_path, llm=nobody), store))
    with pytest.raises(LLMUnavailable, match="unreachable") as caught:
        llm.classify(SKILL, "run-1", REQUEST)
    assert caught.value.retriable and llm.ledger.spent("test-skill").calls == 0


def test_per_run_budget_refuses_before_sending(
    closing: Closing, tmp_path: Path, store: CapabilityStore, llm_server: ScriptedLLM
) -> None:
    skill = grant(llm={"per_run_usd": 0.0006, "per_week_usd": 0.001})
    llm_server.respond_with(lambda _request: Reply("x", prompt_tokens=300, completion_tokens=100))
    llm = service(closing, tmp_path, store, llm_server)
    prompt = CompleteRequest(prompt="short", max_tokens=100)
    assert llm.complete(skill, "run-1", prompt).usd == pytest.approx(0.0005)
    with pytest.raises(LLMBudgetExceeded, match="per-run") as caught:
        llm.complete(skill, "run-1", prompt)
    assert caught.value.scope == "run" and not caught.value.retriable
    assert len(llm_server.requests) == 1
    llm.complete(skill, "run-2", prompt)  # a new run has its own per-run budget...
    with pytest.raises(LLMBudgetExceeded, match="weekly") as caught:
        llm.complete(skill, "run-3", prompt)  # ...but the week is spent
    assert caught.value.scope == "week" and len(llm_server.requests) == 2


def test_no_llm_grant_is_denied(
    closing: Closing, tmp_path: Path, store: CapabilityStore, llm_server: ScriptedLLM
) -> None:
    with pytest.raises(CapabilityDenied, match="no LLM budget"):
        service(closing, tmp_path, store, llm_server).classify(grant(), "run-1", REQUEST)


def test_scripted_server_streams_for_the_openai_client(llm_server: ScriptedLLM) -> None:
    llm_server.script(Reply("streamed answer", prompt_tokens=5, completion_tokens=2))
    client = openai.OpenAI(base_url=llm_server.base_url, api_key=API_KEY, max_retries=0)
    stream = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "streamed answer"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 2
    client.close()


def test_unscripted_request_fails_loudly(llm_server: ScriptedLLM) -> None:
    client = openai.OpenAI(base_url=llm_server.base_url, api_key=API_KEY, max_retries=0)
    with pytest.raises(openai.InternalServerError, match="no scripted reply"):
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    client.close()
