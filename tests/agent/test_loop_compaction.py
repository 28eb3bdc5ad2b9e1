"""Compaction: when it triggers, where it cuts, what the summary keeps, the stable prefix."""

from __future__ import annotations

from agent.llm.messages import assistant, canonical_json, tool_call, tool_result, user
from agent.loop.compaction import (
    CompactionPolicy,
    Context,
    Summary,
    compact,
    due,
    estimate_tokens,
    parse_summary,
    prompt_messages,
    rule_based_summary,
    split,
)


def exchange(n: int) -> list[dict[str, object]]:
    call = tool_call(f"c{n}", "read_skill", f'{{"id": "s{n}"}}')
    return [assistant("", [call]), tool_result(f"c{n}", f"result {n} " + "x" * 200)]


def context_with(steps: int) -> Context:
    ctx = Context()
    ctx.append(user("watch latency overnight"))
    for n in range(steps):
        for message in exchange(n):
            ctx.append(message)
    return ctx


def test_split_never_starts_the_recent_part_with_a_tool_result() -> None:
    messages = context_with(3).messages
    older, recent = split(messages, keep_recent=3)
    assert recent[0]["role"] == "assistant"
    assert older + recent == messages


def test_due_by_steps_or_tokens_but_only_with_something_to_fold() -> None:
    policy = CompactionPolicy(after_steps=5, at_tokens=100_000, keep_recent=2)
    assert not due(context_with(4), policy, prompt_tokens=10)
    assert due(context_with(5), policy, prompt_tokens=10)
    assert due(context_with(1), CompactionPolicy(at_tokens=1000, keep_recent=2), 1000)
    assert not due(Context(messages=[user("hi")]), policy, prompt_tokens=10**6)


def test_compact_keeps_recent_messages_and_restates_the_goal() -> None:
    ctx = context_with(6)
    summary = rule_based_summary(None, split(ctx.messages, 4)[0])
    assert summary.goal == "watch latency overnight"
    assert any(p.startswith("read_skill: result 0") for p in summary.progress)
    new = compact(ctx, summary, keep_recent=4)
    assert new.compactions == 1 and new.steps == 2
    prompt = prompt_messages("SYSTEM", new)
    assert prompt[0] == {"role": "system", "content": "SYSTEM"}
    assert "Goal (restated): watch latency overnight" in prompt[1]["content"]
    assert prompt[2:] == ctx.messages[-4:]


def test_a_summary_merges_into_a_leading_user_message() -> None:
    ctx = Context(summary=Summary(goal="g"), messages=[user("next request")])
    prompt = prompt_messages("S", ctx)
    assert [m["role"] for m in prompt] == ["system", "user"]
    assert prompt[1]["content"].endswith("next request")


def test_between_compactions_the_prompt_is_append_only() -> None:
    ctx = context_with(2)
    before = canonical_json(prompt_messages("S", ctx))
    for message in exchange(9):
        ctx.append(message)
    after = canonical_json(prompt_messages("S", ctx))
    assert after.startswith(before[:-1])  # the same array, only extended


def test_parse_summary_needs_a_goal() -> None:
    parsed = parse_summary('ok {"goal": "g", "progress": "one", "next_steps": ["a", ""]}')
    assert parsed == Summary(goal="g", progress=("one",), next_steps=("a",))
    assert parse_summary('{"progress": []}') is None
    assert parse_summary("no json") is None


def test_rule_based_summary_builds_on_the_previous_one() -> None:
    first = Summary(goal="original goal", progress=("earlier",))
    summary = rule_based_summary(first, [user("also post to slack"), *exchange(1)])
    assert summary.goal == "original goal"
    assert "also post to slack" in summary.constraints
    assert summary.progress[0] == "earlier"


def test_context_round_trips_and_tokens_are_estimated() -> None:
    ctx = compact(context_with(6), Summary(goal="g"), keep_recent=2)
    assert Context.from_dict(ctx.to_dict()) == ctx
    assert estimate_tokens("abcd" * 10) == 10
