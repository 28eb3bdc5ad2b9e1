"""Slack reactions as labels: the Events API pushes ``reaction_added``; we map and store it.

Slack signs each request (``X-Slack-Signature`` = ``v0=`` HMAC-SHA256 of
``v0:{timestamp}:{body}`` with the app's signing secret); a request with a bad signature or a
timestamp more than five minutes off is refused before anything is read. Reactions that are
not in ``REACTIONS`` are acknowledged and ignored.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import fastapi

from .errors import ReviewError
from .runner import Review

REACTIONS = {
    "white_check_mark": "useful",
    "+1": "useful",
    "thumbsup": "useful",
    "x": "false-alarm",
    "-1": "false-alarm",
    "thumbsdown": "false-alarm",
    "no_bell": "false-alarm",
    "warning": "missed",
    "rotating_light": "missed",
}
MAX_SKEW_S = 300


def signature_ok(secret: str, timestamp: str, body: bytes, signature: str, now: float) -> bool:
    try:
        stamp = int(timestamp)
    except ValueError:
        return False
    if abs(now - stamp) > MAX_SKEW_S:
        return False
    base = f"v0:{timestamp}:".encode() + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


def slack_router(
    build: Callable[[], Review], messages: Callable[[], Any], secret: str
) -> fastapi.APIRouter:
    router = fastapi.APIRouter()

    @router.post("/v1/slack/events")
    async def events(request: fastapi.Request) -> dict[str, Any]:
        body = await request.body()
        ok = signature_ok(
            secret,
            request.headers.get("X-Slack-Request-Timestamp", ""),
            body,
            request.headers.get("X-Slack-Signature", ""),
            time.time(),
        )
        if not ok:
            raise fastapi.HTTPException(401, "bad or stale Slack signature")
        payload = json.loads(body)
        if payload.get("type") == "url_verification":
            return {"challenge": payload.get("challenge")}
        event = payload.get("event") or {}
        label = REACTIONS.get(str(event.get("reaction")))
        item = event.get("item") or {}
        if event.get("type") != "reaction_added" or label is None or item.get("type") != "message":
            return {"ok": True, "ignored": True}
        from .feedback import record_feedback

        review = build()
        try:
            stored = record_feedback(
                review.store,
                messages(),
                review.ledger,
                f"slack:{item.get('ts')}",
                label,
                by=f"slack:{event.get('user')}",
                source="slack",
            )
        except ReviewError as err:  # a reaction on a message no skill posted
            return {"ok": True, "ignored": True, "reason": str(err)}
        return {"ok": True, "label": stored.label, "message_id": stored.message_id}

    return router
