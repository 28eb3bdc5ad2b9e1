"""Slack reactions become labels: a message posted through the real notify service to the
scripted Slack Web API, a signed reaction_added event, the label stored with the run id.
A forged or stale event stores nothing."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import fastapi
from fastapi.testclient import TestClient

from review import feedback
from review.messages import CapabilityMessages
from review.reactions import slack_router
from review.runner import Review
from skills_core.capabilities.grant import Grant
from skills_core.capabilities.notify import NotifyService
from skills_core.capabilities.notify.messages import PostRequest
from skills_core.capabilities.scripted_slack import ScriptedSlack
from skills_core.capabilities.settings import InboxChannel, NotifySettings
from tests.capabilities.factories import make_settings
from tests.review._history import START

SECRET = "s3cret"


def signed(body: dict[str, Any], secret: str = SECRET, at: float | None = None) -> dict[str, Any]:
    raw = json.dumps(body).encode()
    stamp = str(int(time.time() if at is None else at))
    sig = (
        "v0=" + hmac.new(secret.encode(), f"v0:{stamp}:".encode() + raw, hashlib.sha256).hexdigest()
    )
    headers = {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": sig,
        "Content-Type": "application/json",
    }
    return {"content": raw, "headers": headers}


def reaction(ts: str, name: str) -> dict[str, Any]:
    return {
        "type": "event_callback",
        "event": {
            "type": "reaction_added",
            "user": "U42",
            "reaction": name,
            "item": {"type": "message", "channel": "C1", "ts": ts},
        },
    }


def test_reaction_labels_the_slack_message_and_forgeries_change_nothing(
    history: Any, tmp_path: Any
) -> None:
    run_id = history.tick(START, {})
    with ScriptedSlack() as slack:
        settings = make_settings(
            tmp_path,
            notify=NotifySettings(channels={"inbox": InboxChannel(), "slack": slack.api_channel()}),
        )
        notify = NotifyService(settings, history.caps)
        grant = Grant(skill_id="health-check", notify_channels=("slack",))
        posted = notify.post(
            grant,
            PostRequest(
                channel="slack", text="checkout degraded", dedupe_key=f"{run_id}:n:0", run_id=run_id
            ),
        )
    api = fastapi.FastAPI()
    api.include_router(
        slack_router(
            lambda: Review(history.store, history.ledger),
            lambda: CapabilityMessages(history.caps_path),
            SECRET,
        )
    )
    client = TestClient(api)

    forged = client.post("/v1/slack/events", **signed(reaction(posted.message_id, "x"), "wrong"))
    stale = client.post(
        "/v1/slack/events", **signed(reaction(posted.message_id, "x"), at=time.time() - 3600)
    )
    assert forged.status_code == 401 and stale.status_code == 401
    assert feedback.labels(history.store, 0, 2e9) == []

    ok = client.post("/v1/slack/events", **signed(reaction(posted.message_id, "x")))
    assert ok.json() == {
        "ok": True,
        "label": "false-alarm",
        "message_id": f"slack:{posted.message_id}",
    }
    [item] = feedback.labels(history.store, 0, 2e9)
    assert (item.run_id, item.by, item.source) == (run_id, "slack:U42", "slack")
    assert client.post("/v1/slack/events", **signed(reaction(posted.message_id, "tada"))).json()[
        "ignored"
    ]
    challenge = client.post(
        "/v1/slack/events", **signed({"type": "url_verification", "challenge": "c1"})
    )
    assert challenge.json() == {"challenge": "c1"}
