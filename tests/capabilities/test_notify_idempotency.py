"""A retried or replayed step never posts twice — including after a crash mid-post.

The crash is simulated at the worst point: the message has reached Slack, but the process
dies before the ledger records it. ``Crash`` derives from BaseException like a
KeyboardInterrupt or a killed worker's SystemExit, so nothing in the capability catches it;
what survives is exactly what was committed to SQLite before it.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from skills_core.capabilities import (
    CapabilityStore,
    NotifyDeliveryUnknown,
    NotifyFailed,
    NotifyService,
    PostRequest,
    read_inbox,
)
from skills_core.capabilities.notify import inbox
from skills_core.capabilities.notify.ledger import PostLedger
from skills_core.capabilities.notify.slack import SlackWebApi
from skills_core.capabilities.scripted_slack import ScriptedSlack, SlackFault
from skills_core.capabilities.settings import InboxChannel, NotifySettings

from .factories import Closing, grant, make_settings

SLACK = grant(notify={"channels": ["slack", "inbox"]})
LEASE_S = 0.3


class Crash(BaseException):
    """The process dies here."""


def notify_via(
    closing: Closing,
    tmp_path: Path,
    store: CapabilityStore,
    channel: object,
    lease_s: float = LEASE_S,
) -> NotifyService:
    channels = {"inbox": InboxChannel(), "slack": channel}
    notify_settings = NotifySettings(channels=channels, claim_lease_s=lease_s)
    return closing(NotifyService(make_settings(tmp_path, notify=notify_settings), store))


def post(
    key: str = "run-1:notify:0", thread: str | None = None, channel: str = "slack"
) -> PostRequest:
    return PostRequest(
        channel=channel, text="checkout is degraded", dedupe_key=key, thread_key=thread
    )


def crash_after_sending(monkeypatch: pytest.MonkeyPatch) -> None:
    def record(*args: object, **kwargs: object) -> None:
        raise Crash

    monkeypatch.setattr(PostLedger, "record", record)


@pytest.mark.parametrize("kind", ["webhook", "api"])
def test_same_dedupe_key_twice_posts_once(
    closing: Closing, tmp_path: Path, store: CapabilityStore, slack: ScriptedSlack, kind: str
) -> None:
    channel = slack.webhook_channel() if kind == "webhook" else slack.api_channel()
    notify = notify_via(closing, tmp_path, store, channel)
    first = notify.post(SLACK, post())
    again = notify.post(SLACK, post())
    assert len(slack.messages) == 1
    assert again.duplicate and not first.duplicate
    assert again.message_id == first.message_id


def test_dedupe_is_per_skill(
    closing: Closing, tmp_path: Path, store: CapabilityStore, slack: ScriptedSlack
) -> None:
    notify = notify_via(closing, tmp_path, store, slack.api_channel())
    other_skill = SLACK.model_copy(update={"skill_id": "other-skill"})
    notify.post(SLACK, post())
    notify.post(other_skill, post())
    assert len(slack.messages) == 2


def test_crash_between_post_and_record_is_reconciled_not_reposted(
    closing: Closing,
    tmp_path: Path,
    store: CapabilityStore,
    slack: ScriptedSlack,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    notify = notify_via(closing, tmp_path, store, slack.api_channel())
    with monkeypatch.context() as patch:
        crash_after_sending(patch)
        with pytest.raises(Crash):
            notify.post(SLACK, post())
    assert len(slack.messages) == 1
    # While the dead attempt's lease lasts, a retry waits instead of guessing.
    with pytest.raises(NotifyFailed, match="already being sent") as caught:
        notify.post(SLACK, post())
    assert 0 < (caught.value.retry_after or 0) <= LEASE_S
    time.sleep(LEASE_S)
    restarted = notify_via(
        closing, tmp_path, store, slack.api_channel()
    )  # a new process, same file
    result = restarted.post(SLACK, post())
    assert len(slack.messages) == 1
    assert result.duplicate and result.message_id == slack.messages[0].ts
    assert restarted.post(SLACK, post()).message_id == result.message_id


def test_crash_inside_a_thread_is_reconciled_from_the_thread(
    closing: Closing,
    tmp_path: Path,
    store: CapabilityStore,
    slack: ScriptedSlack,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    notify = notify_via(closing, tmp_path, store, slack.api_channel())
    root = notify.post(SLACK, post("r1:open:0", thread="inc-7"))
    with monkeypatch.context() as patch:
        crash_after_sending(patch)
        with pytest.raises(Crash):
            notify.post(SLACK, post("r2:update:0", thread="inc-7"))
    time.sleep(LEASE_S)
    again = notify.post(SLACK, post("r2:update:0", thread="inc-7"))
    assert [m.thread_ts for m in slack.messages] == [None, root.message_id]
    assert again.duplicate and again.thread_root == root.message_id


def test_unanswered_post_is_looked_up_before_any_retry(
    closing: Closing, tmp_path: Path, store: CapabilityStore, slack: ScriptedSlack
) -> None:
    notify = notify_via(closing, tmp_path, store, slack.api_channel(timeout_s=0.3), lease_s=30)
    slack.fail_next(SlackFault(accept=True, delay_s=1.0))
    with pytest.raises(NotifyDeliveryUnknown) as caught:
        notify.post(SLACK, post())
    assert caught.value.retriable
    # No waiting for the lease: an unanswered send is reconciled on the very next attempt.
    result = notify.post(SLACK, post())
    assert len(slack.messages) == 1 and result.duplicate


def test_lookup_failing_keeps_the_post_unknown_then_reconciles(
    closing: Closing,
    tmp_path: Path,
    store: CapabilityStore,
    slack: ScriptedSlack,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    notify = notify_via(closing, tmp_path, store, slack.api_channel(), lease_s=30)
    slack.fail_next(SlackFault(accept=True, delay_s=1.0))
    slow = notify_via(closing, tmp_path, store, slack.api_channel(timeout_s=0.3), lease_s=30)
    with pytest.raises(NotifyDeliveryUnknown):
        slow.post(SLACK, post())
    with monkeypatch.context() as patch:

        def history_down(*args: object, **kwargs: object) -> None:
            raise NotifyFailed("Slack conversations.history: HTTP 503", retry_after=5)

        patch.setattr(SlackWebApi, "find", history_down)
        with pytest.raises(NotifyFailed, match="503"):
            notify.post(SLACK, post())
    result = notify.post(SLACK, post())  # no lease wait: still unknown, so look again
    assert len(slack.messages) == 1 and result.duplicate


def test_webhook_after_a_crash_is_at_most_once_and_says_so(
    closing: Closing,
    tmp_path: Path,
    store: CapabilityStore,
    slack: ScriptedSlack,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    notify = notify_via(closing, tmp_path, store, slack.webhook_channel())
    with monkeypatch.context() as patch:
        crash_after_sending(patch)
        with pytest.raises(Crash):
            notify.post(SLACK, post())
    time.sleep(LEASE_S)
    result = notify.post(SLACK, post())
    assert len(slack.messages) == 1
    assert result.uncertain and result.duplicate


def test_inbox_post_and_record_commit_together(
    closing: Closing, tmp_path: Path, store: CapabilityStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    notify = notify_via(closing, tmp_path, store, InboxChannel())
    with monkeypatch.context() as patch:

        def crash(*args: object, **kwargs: object) -> None:
            raise Crash

        patch.setattr(inbox, "save_posted", crash)
        with pytest.raises(Crash):
            notify.post(SLACK, post(channel="inbox"))
    assert read_inbox(store) == []  # rolled back with the failed record
    first = notify.post(SLACK, post(channel="inbox"))
    again = notify.post(SLACK, post(channel="inbox"))
    assert len(read_inbox(store)) == 1
    assert again.duplicate and again.message_id == first.message_id
