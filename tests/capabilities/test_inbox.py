"""The local inbox: default channel without Slack, threads, and the reader the CLI uses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from loopwright.cli import app
from skills_core.capabilities import (
    CapabilityDenied,
    CapabilityNotConfigured,
    CapabilityStore,
    NotifyService,
    PostRequest,
    read_inbox,
)
from skills_core.capabilities.settings import NotifySettings

from .factories import grant, make_settings


def test_slack_falls_back_to_the_inbox_when_not_configured(
    tmp_path: Path, store: CapabilityStore
) -> None:
    notify = NotifyService(make_settings(tmp_path), store)
    skill = grant(notify={"channels": ["slack"]})
    result = notify.post(skill, PostRequest(channel="slack", text="hi", dedupe_key="k"))
    assert (result.channel, result.requested_channel) == ("inbox", "slack")
    assert result.delivered == "inbox — Slack not configured"
    assert result.model_dump()["delivered"] == "inbox — Slack not configured"  # what skills get
    (message,) = read_inbox(store)
    assert (message.channel, message.skill_id, message.text) == ("slack", "test-skill", "hi")
    assert message.delivered == "inbox — Slack not configured"


def test_the_inbox_command_says_where_a_message_was_delivered(
    tmp_path: Path, store: CapabilityStore
) -> None:
    notify = NotifyService(make_settings(tmp_path), store)
    notify.post(
        grant(notify={"channels": ["slack"]}),
        PostRequest(channel="slack", text="a", dedupe_key="1"),
    )
    notify.post(
        grant(notify={"channels": ["inbox"]}),
        PostRequest(channel="inbox", text="b", dedupe_key="2"),
    )
    db = store.url
    out = CliRunner().invoke(app, ["inbox", "--db", str(db)])
    assert out.exit_code == 0, out.output
    heads = [line for line in out.output.splitlines() if "test-skill" in line]
    assert heads[0].endswith("test-skill → inbox — Slack not configured")
    assert heads[1].endswith("test-skill → inbox")
    assert "#slack" not in out.output
    as_json = CliRunner().invoke(app, ["inbox", "--db", str(db), "--json"])
    rows = [json.loads(line) for line in as_json.output.splitlines() if line.strip()]
    assert "inbox — Slack not configured" in [r["delivered"] for r in rows]


def test_without_fallback_an_unconfigured_channel_is_an_error(
    tmp_path: Path, store: CapabilityStore
) -> None:
    settings = make_settings(tmp_path, notify=NotifySettings(fallback_channel=None))
    notify = NotifyService(settings, store)
    with pytest.raises(CapabilityNotConfigured, match="LOOPWRIGHT_SLACK_BOT_TOKEN"):
        notify.post(
            grant(notify={"channels": ["slack"]}),
            PostRequest(channel="slack", text="hi", dedupe_key="k"),
        )


def test_channel_outside_the_grant_is_denied(tmp_path: Path, store: CapabilityStore) -> None:
    notify = NotifyService(make_settings(tmp_path), store)
    with pytest.raises(CapabilityDenied, match="notify channel 'slack' is not granted"):
        notify.post(
            grant(notify={"channels": ["inbox"]}),
            PostRequest(channel="slack", text="hi", dedupe_key="k"),
        )


def test_threads_and_paging(tmp_path: Path, store: CapabilityStore) -> None:
    notify = NotifyService(make_settings(tmp_path), store)
    skill = grant(notify={"channels": ["inbox"]})
    for i, thread in enumerate(["inc-1", None, "inc-1", "inc-2"]):
        notify.post(
            skill,
            PostRequest(channel="inbox", text=f"m{i}", dedupe_key=f"r:s:{i}", thread_key=thread),
        )
    messages = read_inbox(store.url)  # by location, as the CLI reads it
    first, unthreaded, reply, other = messages
    assert first.thread_root == reply.thread_root == first.id
    assert unthreaded.thread_root is None and other.thread_root == other.id
    assert [m.text for m in read_inbox(store, thread_key="inc-1")] == ["m0", "m2"]
    assert [m.text for m in read_inbox(store, after_id=reply.id)] == ["m3"]
    assert [m.text for m in read_inbox(store, limit=1)] == ["m0"]


def test_an_incidents_thread_reads_at_80_columns(tmp_path: Path, store: CapabilityStore) -> None:
    from loopwright.store import open_store
    from skills_core.capabilities.incidents import IncidentStore, Observation

    platform = str(tmp_path / "platform.db")
    seen = Observation("checkout", "critical", ("error_rate",), "errors", 1.7e9, 1.7e9 + 60)
    incident_id = IncidentStore(open_store(platform)).observe(seen)["incident"]["id"]
    summary = (
        "Evidence:\n- E1 deploy checkout v2.14.1 (after v2.14.0) by demo-bot 1 min before the onset"
    )
    NotifyService(make_settings(tmp_path), store).post(
        grant(notify={"channels": ["slack"]}),
        PostRequest(channel="slack", text=summary, dedupe_key="t", thread_key=incident_id),
    )
    out = CliRunner().invoke(
        app, ["incidents", "show", incident_id, "--store", platform, "--inbox", str(store.url)],
        env={"COLUMNS": "80"},
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert max(len(line) for line in lines) <= 80, out.output
    # a wrapped line stays under its message, a list item's under its text
    assert "  Evidence:" in lines
    assert "  - E1 deploy checkout v2.14.1 (after v2.14.0) by demo-bot 1 min before the" in lines
    assert "    onset" in lines
