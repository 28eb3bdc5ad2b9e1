"""The LLM layer over real HTTP: the real ``openai`` client against the scripted server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agent.errors import LLMRequestFailed, ModelRequestsBlocked
from agent.llm import (
    ChatRequest,
    ClientSettings,
    Endpoint,
    FallbackChatModel,
    OpenAIChatModel,
    is_loopback,
)
from agent.llm.messages import assistant, tool_call, tool_result, user
from skills_core.capabilities.scripted_llm import Reply, ScriptedLLM

FAST = ClientSettings(timeout_s=5, max_retries=0, temperature=0.0, max_output_tokens=64)
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "read_skill",
            "description": "read",
            "parameters": {"type": "object", "properties": {"id": {"type": "string"}}},
        },
    }
]


@pytest.fixture
def llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM() as server:
        yield server


def model(
    server: ScriptedLLM, name: str = "m1", settings: ClientSettings = FAST
) -> OpenAIChatModel:
    return OpenAIChatModel(Endpoint(server.base_url, name, "sk-test"), settings)


def test_tool_calls_and_usage_come_back(llm: ScriptedLLM) -> None:
    llm.script(
        Reply(
            "",
            prompt_tokens=120,
            completion_tokens=7,
            tool_calls=[
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "read_skill", "arguments": '{"id": "a"}'},
                }
            ],
        )
    )
    reply = model(llm).complete(ChatRequest([user("hi")], tools=TOOLS))
    assert reply.tool_calls[0].name == "read_skill"
    assert reply.tool_calls[0].arguments == '{"id": "a"}'
    assert (reply.usage.input_tokens, reply.usage.output_tokens) == (120, 7)
    assert reply.message()["content"] == ""


def test_requests_stay_compatible_with_small_local_servers(llm: ScriptedLLM) -> None:
    """llama.cpp: content on every assistant message; no response_format; no "required"."""
    llm.script(Reply("done"))
    history = [
        user("hi"),
        {"role": "assistant", "tool_calls": [tool_call("c1", "read_skill", "{}")]},
        tool_result("c1", "{}"),
    ]
    model(llm).complete(ChatRequest(history, tools=TOOLS))
    body = llm.requests[-1].body
    sent = body["messages"][1]
    assert sent["role"] == "assistant" and sent["content"] == ""
    assert "response_format" not in body
    assert "tool_choice" not in body
    assert body["tools"][0]["function"]["name"] == "read_skill"
    assert body["max_tokens"] == 64 and body["temperature"] == 0.0


def test_a_forced_tool_is_named_not_required(llm: ScriptedLLM) -> None:
    llm.script(Reply("x"))
    model(llm).complete(ChatRequest([user("hi")], tools=TOOLS, force_tool="read_skill"))
    assert llm.requests[-1].body["tool_choice"] == {
        "type": "function",
        "function": {"name": "read_skill"},
    }


def test_the_fallback_model_answers_when_the_first_fails_on_retry(llm: ScriptedLLM) -> None:
    llm.script(Reply(status=500), Reply(status=503), Reply("from the fallback"))
    retrying = ClientSettings(timeout_s=5, max_retries=1)
    chat = FallbackChatModel(model(llm, "m1", retrying), model(llm, "m2", retrying))
    reply = chat.complete(ChatRequest([user("hi")]))
    assert reply.content == "from the fallback" and reply.fallback
    assert [r.model for r in llm.requests] == ["m1", "m1", "m2"]


def test_both_models_failing_is_one_designed_error(llm: ScriptedLLM) -> None:
    llm.script(Reply(status=500, error="down"), Reply(status=400, error="bad model"))
    chat = FallbackChatModel(model(llm, "m1"), model(llm, "m2"))
    with pytest.raises(LLMRequestFailed, match="both models failed") as caught:
        chat.complete(ChatRequest([user("hi")]))
    assert caught.value.code == "llm-failed"
    assert "HTTP 400" in caught.value.message


def test_the_kill_switch_refuses_non_loopback_endpoints() -> None:
    remote = OpenAIChatModel(Endpoint("https://api.openai.com/v1", "gpt-4o"), FAST)
    with pytest.raises(ModelRequestsBlocked, match="not a loopback address"):
        remote.complete(ChatRequest([user("hi")]))
    assert is_loopback("http://127.0.0.1:1/v1") and is_loopback("http://localhost/v1")
    assert is_loopback("http://[::1]:8/v1") and not is_loopback("http://10.0.0.1/v1")


def test_history_with_an_assistant_message_round_trips(llm: ScriptedLLM) -> None:
    llm.script(Reply("ok"))
    model(llm).complete(ChatRequest([user("a"), assistant("b"), user("c")]))
    assert [m["role"] for m in llm.requests[-1].messages] == ["user", "assistant", "user"]
