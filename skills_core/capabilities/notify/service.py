"""The notify capability: post once to a granted channel, threading posts by ``thread_key``.

Delivery guarantees, by channel:

* **inbox** — exactly once: message and dedupe record share one SQLite transaction.
* **Slack Web API** — exactly once as long as Slack's history can be read: the claim is
  committed before sending, the message carries its dedupe key, and an attempt that finds
  an expired claim looks the message up before sending again.
* **Slack webhook** — at most once: a webhook cannot be asked what arrived, so after a crash
  or an unanswered request between sending and recording, the post is *not* repeated and the
  result says ``uncertain``. (Configure the Web API to get exactly once and threads.)

A thread is created by the first post with a given ``thread_key`` on a channel; posts for
the same key from any run or skill land in that thread. A lock per (channel, key) stops two
concurrent first posts from opening two threads in this process.
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING

from ..errors import CapabilityNotConfigured, NotifyDeliveryUnknown, NotifyFailed
from ..grant import Grant
from ..settings import (
    CapabilitySettings,
    InboxChannel,
    NotifyChannel,
    SlackApiChannel,
    SlackWebhookChannel,
)
from ..store import CapabilityStore
from . import inbox
from .hints import with_hint
from .ledger import PostLedger
from .messages import PostRequest, PostResult

if TYPE_CHECKING:
    from .slack import Transport


class NotifyService:
    def __init__(self, settings: CapabilitySettings, store: CapabilityStore) -> None:
        self._store = store
        self._channels = dict(settings.notify.channels)
        self._fallback = settings.notify.fallback_channel
        self._ledger = PostLedger(store, settings.notify.claim_lease_s)
        retry = settings.default_retry_after_s
        self._transports: dict[str, Transport] = {}
        if any(
            isinstance(c, SlackApiChannel | SlackWebhookChannel) for c in self._channels.values()
        ):
            # Imported only when Slack is configured: slack_sdk costs ~0.3 s at start-up.
            from .slack import SlackWebApi, SlackWebhook
        for name, config in self._channels.items():
            if isinstance(config, SlackApiChannel):
                self._transports[name] = SlackWebApi(config, retry)
            elif isinstance(config, SlackWebhookChannel):
                self._transports[name] = SlackWebhook(config, retry)
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def post(self, grant: Grant, request: PostRequest) -> PostResult:
        requested = grant.notify_channel(request.channel)
        name, config = self._resolve(requested)
        if request.hint is not None:
            text = with_hint(
                self._store, request.text, request.hint, channel=name, dedupe_key=request.dedupe_key
            )
            request = request.model_copy(update={"text": text, "hint": None})
        if isinstance(config, InboxChannel):
            return inbox.post_once(self._store, grant.skill_id, request, requested)
        transport = self._transports[name]
        with self._thread_lock(name, request.thread_key if transport.threads else None):
            return self._post_remote(grant.skill_id, request, requested, name, transport)

    def _post_remote(
        self,
        skill_id: str,
        request: PostRequest,
        requested: str,
        name: str,
        transport: Transport,
    ) -> PostResult:
        key = request.dedupe_key
        claim = self._ledger.claim(skill_id, key, name)
        if claim.state in ("done", "uncertain") and claim.result is not None:
            return claim.result.model_copy(update={"duplicate": True})
        if claim.state == "busy":
            raise NotifyFailed(
                f"post {key!r} is already being sent by another attempt", retry_after=claim.wait_s
            )
        root = None
        if request.thread_key and transport.threads:
            root = self._ledger.thread_root(name, request.thread_key)
        result = PostResult(
            channel=name,
            requested_channel=requested,
            message_id="",
            thread=request.thread_key,
            thread_root=root,
            run_id=request.run_id,
        )
        if claim.state == "stale":
            if not transport.reconciles:
                uncertain = result.model_copy(update={"uncertain": True, "duplicate": True})
                self._ledger.record(skill_id, key, uncertain, state="uncertain")
                return uncertain
            try:
                found = transport.find(key, since=claim.claimed_at - 5, thread_root=root)
            except NotifyFailed:
                self._ledger.expire(skill_id, key)  # still unknown: the next attempt looks again
                raise
            if found:
                return self._record(skill_id, request, name, result, found, duplicate=True)
        try:
            message_id = transport.send(request.text, thread_root=root, dedupe_key=key)
        except NotifyDeliveryUnknown:
            self._ledger.expire(skill_id, key)
            raise
        except NotifyFailed:
            self._ledger.release(skill_id, key)
            raise
        return self._record(skill_id, request, name, result, message_id, duplicate=False)

    def _record(
        self,
        skill_id: str,
        request: PostRequest,
        name: str,
        result: PostResult,
        message_id: str,
        *,
        duplicate: bool,
    ) -> PostResult:
        new_thread = bool(request.thread_key) and result.thread_root is None
        if new_thread and self._transports[name].threads:
            result = result.model_copy(update={"thread_root": message_id})
            thread = (name, str(request.thread_key), message_id)
        else:
            thread = None
        result = result.model_copy(update={"message_id": message_id})
        self._ledger.record(skill_id, request.dedupe_key, result, thread=thread)
        return result.model_copy(update={"duplicate": duplicate})

    def _resolve(self, requested: str) -> tuple[str, NotifyChannel]:
        config = self._channels.get(requested)
        if config is not None:
            return requested, config
        if self._fallback and self._fallback in self._channels:
            return self._fallback, self._channels[self._fallback]
        raise CapabilityNotConfigured(
            f"notify channel {requested!r} is granted but not configured on this platform "
            "(LOOPWRIGHT_SLACK_BOT_TOKEN + LOOPWRIGHT_SLACK_CHANNEL, or "
            "LOOPWRIGHT_SLACK_WEBHOOK_URL)"
        )

    def _thread_lock(self, channel: str, thread_key: str | None) -> AbstractContextManager[object]:
        if thread_key is None:
            return nullcontext()
        with self._locks_guard:
            return self._locks.setdefault((channel, thread_key), threading.Lock())

    def close(self) -> None:
        for transport in self._transports.values():
            transport.close()
