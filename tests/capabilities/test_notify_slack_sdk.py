"""Slack through the official slack_sdk: its retry handlers absorb short 429s and failed reads;
a post that may have reached Slack is looked up, never blindly posted again."""

from __future__ import annotations

from pathlib import Path

import pytest

from skills_core.capabilities import CapabilityStore, NotifyDeliveryUnknown, NotifyFailed
from skills_core.capabilities.scripted_slack import ScriptedSlack, SlackFault

from .factories import Closing
from .test_notify_slack import SLACK, notify_via, post


def _calls(slack: ScriptedSlack, method: str) -> int:
    return sum(1 for path, _ in slack.requests if path.endswith(method))


@pytest.mark.parametrize("kind", ["webhook", "api"])
def test_a_short_429_is_retried_by_the_sdk_and_posts_once(
    closing: Closing, tmp_path: Path, store: CapabilityStore, slack: ScriptedSlack, kind: str
) -> None:
    channel = slack.webhook_channel() if kind == "webhook" else slack.api_channel()
    notify = notify_via(closing, tmp_path, store, channel)
    slack.fail_next(SlackFault(status=429, retry_after=0.2))
    notify.post(SLACK, post("hello", "r1:s:0"))
    assert len(slack.messages) == 1
    assert len(slack.requests) == 2  # the refused one and the SDK's retry


def test_a_long_429_is_left_to_the_step_with_its_retry_after(
    closing: Closing, tmp_path: Path, store: CapabilityStore, slack: ScriptedSlack
) -> None:
    notify = notify_via(closing, tmp_path, store, slack.api_channel())
    slack.fail_next(SlackFault(status=429, retry_after=30))
    with pytest.raises(NotifyFailed) as caught:
        notify.post(SLACK, post("hello", "r1:s:0"))
    assert caught.value.retry_after == 30.0
    assert len(slack.requests) == 1 and slack.messages == []


def test_a_500_on_a_post_is_delivery_unknown_and_the_retry_looks_first(
    closing: Closing, tmp_path: Path, store: CapabilityStore, slack: ScriptedSlack
) -> None:
    notify = notify_via(closing, tmp_path, store, slack.api_channel())
    slack.fail_next(
        SlackFault(status=500, accept=True, then_fail=True)
    )  # stored, then answered 500
    with pytest.raises(NotifyDeliveryUnknown):
        notify.post(SLACK, post("hello", "r1:s:0"))
    assert _calls(slack, "chat.postMessage") == 1  # the SDK did not post it again
    result = notify.post(SLACK, post("hello", "r1:s:0"))
    assert result.duplicate and len(slack.messages) == 1


def test_a_failing_history_read_is_retried_by_the_sdk(
    closing: Closing, tmp_path: Path, store: CapabilityStore, slack: ScriptedSlack
) -> None:
    notify = notify_via(closing, tmp_path, store, slack.api_channel())
    slack.fail_next(SlackFault(status=500, accept=True, then_fail=True), SlackFault(status=503))
    with pytest.raises(NotifyDeliveryUnknown):
        notify.post(SLACK, post("hello", "r1:s:0"))
    result = notify.post(SLACK, post("hello", "r1:s:0"))  # history: 503, then the retry
    assert result.duplicate and len(slack.messages) == 1
    assert _calls(slack, "conversations.history") == 2
