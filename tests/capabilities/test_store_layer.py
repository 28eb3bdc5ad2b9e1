"""The capabilities' tables live on the platform store: reachable by URL (PostgreSQL for
replicas), found by the review's message lookup, and shared with other platform tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from loopwright.store import open_store
from review.errors import UnknownMessage
from review.messages import CapabilityMessages
from skills_core.capabilities import CapabilitySettings, CapabilityStore, PostRequest, read_inbox
from skills_core.capabilities.notify.inbox import post_once
from skills_core.capabilities.notify.ledger import PostLedger
from skills_core.capabilities.notify.messages import PostResult


def test_messages_are_found_by_id_through_the_store_url(store: CapabilityStore) -> None:
    request = PostRequest(channel="inbox", text="hi", dedupe_key="k", run_id="run-1")
    posted = post_once(store, "skill-a", request, "inbox")
    ledger = PostLedger(store, lease_s=30)
    ledger.claim("skill-b", "d", "slack")
    slack = PostResult(channel="slack", requested_channel="slack", message_id="17.5", run_id="r2")
    ledger.record("skill-b", "d", slack)

    messages = CapabilityMessages(store.url)
    found = messages.find(posted.message_id)
    assert (found.skill_id, found.run_id, found.channel) == ("skill-a", "run-1", "inbox")
    by_ts = messages.find("slack:17.5")
    assert (by_ts.skill_id, by_ts.run_id, by_ts.channel) == ("skill-b", "r2", "slack")
    with pytest.raises(UnknownMessage):
        messages.find("inbox:999")
    with pytest.raises(UnknownMessage):
        messages.find("slack:17")  # a prefix of a recorded ts is not that message


def test_a_store_url_in_the_environment_reaches_the_services(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'platform.db'}"
    settings = CapabilitySettings.from_env({"LOOPWRIGHT_CAPABILITIES_DB": url})
    assert settings.db_url == url
    path = CapabilitySettings.from_env({"LOOPWRIGHT_CAPABILITIES_DB": str(tmp_path / "c.db")})
    assert (path.db_url, path.db_path) == (None, tmp_path / "c.db")


def test_a_shared_store_is_not_closed_by_the_capabilities(tmp_path: Path) -> None:
    platform = open_store(tmp_path / "platform.db")
    caps = CapabilityStore(platform)
    post_once(caps, "s", PostRequest(channel="inbox", text="x", dedupe_key="1"), "inbox")
    caps.close()
    again = CapabilityStore(platform)  # still open: the owner closes it
    assert [m.text for m in read_inbox(again)] == ["x"]
    platform.close()
