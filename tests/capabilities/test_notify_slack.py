"""Posting to a real local HTTP server that speaks Slack's webhook and Web API."""

from __future__ import annotations

from pathlib import Path

import pytest

from skills_core.capabilities import (
    CapabilityStore,
    NotifyFailed,
    NotifyService,
    PostRequest,
)
from skills_core.capabilities.scripted_slack import CHANNEL, ScriptedSlack, SlackFault
from skills_core.capabilities.settings import InboxChannel, NotifySettings

from .factories import Closing, grant, make_settings

SLACK = grant(notify={"channels": ["slack"]})


def notify_via(
    closing: Closing, tmp_path: Path, store: CapabilityStore, channel: object
) -> NotifyService:
    channels = {"inbox": InboxChannel(), "slack": channel}
    return closing(
        NotifyService(make_settings(tmp_path, notify=NotifySettings(channels=channels)), store)
    )


def post(text: str, key: str, thread: str | None = None) -> PostRequest:
    return PostRequest(channel="slack", text=text, dedupe_key=key, thread_key=thread)


def test_webhook_post_arrives(
    closing: Closing, tmp_path: Path, store: CapabilityStore, slack: ScriptedSlack
) -> None:
    notify = notify_via(closing, tmp_path, store, slack.webhook_channel())
    result = notify.post(SLACK, post("checkout p99 is 2.4s", "run-1:notify:0"))
    assert [m.text for m in slack.messages] == ["checkout p99 is 2.4s"]
    assert result.channel == "slack" and result.message_id.startswith("webhook:")
    assert not result.duplicate and not result.uncertain


def test_web_api_post_carries_token_channel_and_dedupe_metadata(
    closing: Closing, tmp_path: Path, store: CapabilityStore, slack: ScriptedSlack
) -> None:
    notify = notify_via(closing, tmp_path, store, slack.api_channel())
    result = notify.post(SLACK, post("degraded", "run-1:notify:0"))
    (message,) = slack.messages
    assert message.channel == CHANNEL and message.via == "api"
    assert result.message_id == message.ts
    assert message.metadata == {
        "event_type": "loopwright_post",
        "event_payload": {"dedupe_key": "run-1:notify:0"},
    }


def test_one_thread_key_one_slack_thread(
    closing: Closing, tmp_path: Path, store: CapabilityStore, slack: ScriptedSlack
) -> None:
    notify = notify_via(closing, tmp_path, store, slack.api_channel())
    first = notify.post(SLACK, post("incident opened", "r1:open:0", thread="inc-42"))
    second = notify.post(SLACK, post("suspect deploy v2.14.1", "r2:triage:0", thread="inc-42"))
    other = notify.post(SLACK, post("another incident", "r3:open:0", thread="inc-43"))
    root, reply, other_root = slack.messages
    assert root.thread_ts is None and reply.thread_ts == root.ts
    assert first.thread_root == second.thread_root == root.ts
    assert other.thread_root == other_root.ts and other_root.thread_ts is None


def test_500_is_retriable_and_a_retry_posts_once(
    closing: Closing, tmp_path: Path, store: CapabilityStore, slack: ScriptedSlack
) -> None:
    notify = notify_via(closing, tmp_path, store, slack.api_channel())
    slack.fail_next(SlackFault(status=500))
    with pytest.raises(NotifyFailed) as caught:
        notify.post(SLACK, post("hello", "r1:s:0"))
    assert caught.value.retriable and caught.value.retry_after == 10.0
    assert slack.messages == []
    notify.post(SLACK, post("hello", "r1:s:0"))
    assert len(slack.messages) == 1


@pytest.mark.parametrize("kind", ["webhook", "api"])
def test_429_carries_retry_after(
    closing: Closing, tmp_path: Path, store: CapabilityStore, slack: ScriptedSlack, kind: str
) -> None:
    channel = slack.webhook_channel() if kind == "webhook" else slack.api_channel()
    notify = notify_via(closing, tmp_path, store, channel)
    slack.fail_next(SlackFault(status=429, retry_after=7))
    with pytest.raises(NotifyFailed) as caught:
        notify.post(SLACK, post("hello", "r1:s:0"))
    assert caught.value.retry_after == 7.0
    assert caught.value.to_wire()["code"] == "notify-failed"


def test_refusals_are_not_retriable(
    closing: Closing, tmp_path: Path, store: CapabilityStore, slack: ScriptedSlack
) -> None:
    bad_token = notify_via(closing, tmp_path, store, slack.api_channel(token="xoxb-wrong"))
    with pytest.raises(NotifyFailed, match="invalid_auth") as caught:
        bad_token.post(SLACK, post("hello", "r1:s:0"))
    assert not caught.value.retriable and caught.value.retry_after is None
    bad_channel = notify_via(closing, tmp_path, store, slack.api_channel(channel="#nope"))
    with pytest.raises(NotifyFailed, match="channel_not_found"):
        bad_channel.post(SLACK, post("hello", "r1:s:1"))
    webhook = notify_via(closing, tmp_path, store, slack.webhook_channel())
    slack.fail_next(SlackFault(status=404))
    with pytest.raises(NotifyFailed, match="HTTP 404") as caught:
        webhook.post(SLACK, post("hello", "r1:s:2"))
    assert not caught.value.retriable
