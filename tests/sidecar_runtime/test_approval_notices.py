"""A version that waits for a person posts one notice with the exact command to approve it,
once per version: not again when the sidecar restarts, nor when asked again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sidecar.approval_notices import ApprovalNotices
from sidecar.capabilities import FakeCapabilityProvider, Inbox, LocalCapabilityProvider
from sidecar.capabilities.platform import PlatformCapabilityProvider
from sidecar.server import running
from skills_core.capabilities import CapabilityServices, read_inbox
from skills_core.capabilities.notify.hints import HINTS

from ..capabilities.factories import make_settings
from ._harness import Harness, skill_source
from .conftest import settings_for

SLACK = {"notify": {"channels": ["inbox", "slack"]}}
APPROVE = "loopwright skills approve an-poster --version 1"


def notices(inbox: Inbox) -> list[dict[str, Any]]:
    return [m for m in inbox.messages() if m["skill_id"] == "loopwright"]


def test_a_waiting_version_is_announced_once_even_across_restarts(
    engine_url: str, tmp_path: Path
) -> None:
    settings = settings_for(tmp_path, engine_url, "lw-notices")
    source = skill_source("an-poster", "return 1", capabilities=SLACK)
    with running(settings, provider=FakeCapabilityProvider(inbox=Inbox(settings.inbox))) as sc:
        first = Harness(sc, engine_url, Inbox(settings.inbox))
        assert first.submit("an-poster", source)["state"] == "awaiting_approval"
        [notice] = notices(Inbox(settings.inbox))
        assert APPROVE in notice["text"].splitlines()[2]
        assert "posts to notification channels ['slack']" in notice["text"]
        first.close()

    inbox = Inbox(settings.inbox)  # read back from its file, as after a real restart
    with running(settings, provider=FakeCapabilityProvider(inbox=inbox)) as sc:
        again = Harness(sc, engine_url, inbox)
        assert again.skill("an-poster")["awaiting_approval"] == [1]  # type: ignore[index]
        assert len(notices(inbox)) == 1
        again.close()

    settings.inbox.unlink()  # a crash between the decision and the post lost the notice
    inbox = Inbox(settings.inbox)
    with running(settings, provider=FakeCapabilityProvider(inbox=inbox)):
        assert [APPROVE in n["text"] for n in notices(inbox)] == [True]  # posted at start


def test_on_the_platform_without_slack_the_inbox_gets_it_once(tmp_path: Path) -> None:
    with CapabilityServices.build(make_settings(tmp_path)) as services:
        sender = ApprovalNotices(PlatformCapabilityProvider(services))
        reasons = ["posts to notification channels ['slack']"]
        assert sender.post("an-poster", 1, reasons) == ["inbox"]
        assert sender.post("an-poster", 1, reasons) == ["inbox"]  # replay: nothing new
        sender.post("an-poster", 2, reasons)
        posted = read_inbox(services.store)
    assert [m.text.splitlines()[2] for m in posted] == [
        f"Approve: {APPROVE}",
        "Approve: loopwright skills approve an-poster --version 2",
    ]
    assert {(m.skill_id, m.delivered) for m in posted} == {
        ("loopwright", "inbox — Slack not configured")
    }


def test_the_local_inbox_gets_it_when_slack_is_absent(tmp_path: Path) -> None:
    inbox = Inbox(tmp_path / "inbox.jsonl")
    sender = ApprovalNotices(LocalCapabilityProvider(inbox))
    assert sender.post("an-poster", 1, []) == ["inbox"]
    assert sender.post("an-poster", 1, []) == ["inbox"]
    [notice] = notices(inbox)
    assert "the approval policy asks a person" in notice["text"] and APPROVE in notice["text"]


def test_a_hint_crosses_the_worker_boundary_and_goes_out_once(harness: Harness) -> None:
    """A skill's notify.post(..., hint=...) from an isolated worker: the platform appends the
    hint to the first post only."""
    body = """
    for n in range(2):
        ctx.step.run("post", lambda: ctx.capabilities.notify.post(
            "inbox", "summary", hint="llm-not-configured"))
    return "posted"
    """
    source = skill_source("an-hinter", body, capabilities={"notify": {"channels": ["inbox"]}})
    assert harness.submit("an-hinter", source)["state"] == "active"
    assert harness.trigger("test/an-hinter")["output"] == "posted"
    texts = [m["text"] for m in harness.inbox.messages() if m["skill_id"] == "an-hinter"]
    assert texts == [f"summary\n{HINTS['llm-not-configured']}", "summary"]
