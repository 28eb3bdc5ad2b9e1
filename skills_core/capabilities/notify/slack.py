"""Slack transports over the official ``slack_sdk``: incoming webhooks (``WebhookClient``) and
the Web API (``WebClient``: ``chat.postMessage``, ``conversations.history``/``.replies``).

Retries are the SDK's own handlers, used where a retry cannot post a message twice:

* a **429** never posted anything: the SDK's rate-limit handler waits and retries once inline
  when Slack asks for a short wait (``MAX_INLINE_WAIT_S``); a longer ``Retry-After`` comes back
  as a retriable ``NotifyFailed`` carrying it, so the step sleeps durably instead of blocking;
* **server errors and dropped connections** are retried by the SDK only for reads (history,
  replies). A post that fails that way may exist: it is ``NotifyDeliveryUnknown`` (5xx, no
  answer) and the notify service looks it up before posting again (its idempotency);
* other refusals (bad token, unknown or archived channel) are final.

The two transports differ in what they can promise:

* a **webhook** answers ``ok`` and nothing else: no message id, so no threads, and no way to
  check afterwards whether an unanswered post arrived;
* the **Web API** returns the message ``ts`` (threads reply with ``thread_ts``), and every
  post carries the dedupe key in Slack message metadata, so after a crash the platform finds
  its own message with ``conversations.history`` / ``conversations.replies`` instead of
  posting it again.
"""

from __future__ import annotations

import http.client
import socket
import time
import urllib.error
import uuid
from typing import Any, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import HttpRequest, HttpResponse, RetryHandler, RetryState
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.webhook import WebhookClient

from ..errors import NotifyDeliveryUnknown, NotifyFailed
from ..retry_hints import parse_retry_after
from ..settings import SlackApiChannel, SlackWebhookChannel

METADATA_EVENT = "loopwright_post"
#: Slack errors that a later retry can get past; every other ``error`` is final.
_RETRIABLE_ERRORS = {"internal_error", "fatal_error", "service_unavailable", "request_timeout"}
#: A 429 asking for at most this long is retried inline by the SDK; longer waits are durable.
MAX_INLINE_WAIT_S = 2.0
#: Transport errors after which the request may have reached Slack.
_NO_ANSWER = (TimeoutError, socket.timeout, http.client.RemoteDisconnected, ConnectionResetError)


class Transport(Protocol):
    """A channel that sends over the network; ``send`` returns the message id."""

    threads: bool
    reconciles: bool

    def send(self, text: str, *, thread_root: str | None, dedupe_key: str) -> str: ...

    def find(self, dedupe_key: str, *, since: float, thread_root: str | None) -> str | None: ...

    def close(self) -> None: ...


class ShortRateLimitRetry(RateLimitErrorRetryHandler):
    """The SDK's 429 handler, for short waits only (a long one is the step's to sleep)."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return (
            super()._can_retry(state=state, request=request, response=response, error=error)
            and _retry_after(response, MAX_INLINE_WAIT_S + 1) <= MAX_INLINE_WAIT_S
        )

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        # The SDK's own version parses Retry-After with int(): "1.5" would crash it.
        state.next_attempt_requested = True
        time.sleep(_retry_after(response, 1.0))
        state.increment_current_attempt()


def _retry_after(response: HttpResponse | None, default: float) -> float:
    headers = {k.lower(): v for k, v in (response.headers if response else {}).items()}
    value = headers.get("retry-after")
    first = value[0] if isinstance(value, list) and value else value
    return parse_retry_after(first if isinstance(first, str) else None, default)


def _post_handlers() -> list[RetryHandler]:
    return [ShortRateLimitRetry(max_retry_count=1)]


def _read_handlers() -> list[RetryHandler]:
    return [
        ShortRateLimitRetry(max_retry_count=1),
        ServerErrorRetryHandler(max_retry_count=2),
        ConnectionErrorRetryHandler(max_retry_count=1),
    ]


def _transport_error(err: Exception, what: str, retry: float) -> NotifyFailed:
    reason = err.reason if isinstance(err, urllib.error.URLError) else err
    if isinstance(reason, _NO_ANSWER) or isinstance(err, _NO_ANSWER):
        return NotifyDeliveryUnknown(
            f"{what}: sent, but no answer ({type(reason).__name__}); it may have been posted",
            retry_after=retry,
        )
    return NotifyFailed(f"{what}: cannot connect ({type(reason).__name__})", retry_after=retry)


def _status_error(what: str, status: int, headers: Any, body: str, retry: float) -> NotifyFailed:
    if status == 429:
        hint = _retry_after(HttpResponse(status_code=status, headers=headers), retry)
        return NotifyFailed(f"{what}: Slack answered HTTP 429", retry_after=hint)
    if status >= 500:  # the request reached Slack: the message may exist
        return NotifyDeliveryUnknown(f"{what}: Slack answered HTTP {status}", retry_after=retry)
    return NotifyFailed(f"{what} refused: HTTP {status} {body[:200]!r}", retriable=False)


class SlackWebhook:
    threads = False
    reconciles = False

    def __init__(self, config: SlackWebhookChannel, default_retry_after: float) -> None:
        self._retry = default_retry_after
        self._client = WebhookClient(
            config.url.get_secret_value(),
            timeout=config.timeout_s,  # type: ignore[arg-type]  # urllib takes a float
            retry_handlers=_post_handlers(),
        )

    def send(self, text: str, *, thread_root: str | None, dedupe_key: str) -> str:
        what = "Slack webhook"
        try:
            answer = self._client.send(text=text, unfurl_links=False)
        except (urllib.error.URLError, OSError) as err:
            raise _transport_error(err, what, self._retry) from None
        if answer.status_code != 200:
            raise _status_error(what, answer.status_code, answer.headers, answer.body, self._retry)
        return f"webhook:{uuid.uuid4().hex[:16]}"

    def find(self, dedupe_key: str, *, since: float, thread_root: str | None) -> str | None:
        return None

    def close(self) -> None:
        """Nothing to release: the SDK opens one connection per request."""


class SlackWebApi:
    threads = True
    reconciles = True

    def __init__(self, config: SlackApiChannel, default_retry_after: float) -> None:
        self._channel = config.channel
        self._retry = default_retry_after
        options: dict[str, Any] = {
            "token": config.token.get_secret_value(),
            "base_url": config.api_url.rstrip("/") + "/",
            "timeout": config.timeout_s,
        }
        self._poster = WebClient(**options, retry_handlers=_post_handlers())
        self._reader = WebClient(**options, retry_handlers=_read_handlers())

    def send(self, text: str, *, thread_root: str | None, dedupe_key: str) -> str:
        metadata = {"event_type": METADATA_EVENT, "event_payload": {"dedupe_key": dedupe_key}}
        answer = self._call(
            "chat.postMessage",
            lambda: self._poster.chat_postMessage(
                channel=self._channel,
                text=text,
                unfurl_links=False,
                metadata=metadata,
                thread_ts=thread_root,
            ),
        )
        return str(answer["ts"])

    def find(self, dedupe_key: str, *, since: float, thread_root: str | None) -> str | None:
        """The ts of the message this platform posted under ``dedupe_key`` since ``since``."""
        params: dict[str, Any] = {
            "channel": self._channel,
            "oldest": f"{since:.6f}",
            "limit": 200,
            "include_all_metadata": "true",
        }
        if thread_root:
            answer = self._call(
                "conversations.replies",
                lambda: self._reader.conversations_replies(ts=thread_root, **params),
            )
        else:
            answer = self._call(
                "conversations.history", lambda: self._reader.conversations_history(**params)
            )
        for message in answer.get("messages", []):
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if (
                metadata.get("event_type") == METADATA_EVENT
                and payload.get("dedupe_key") == dedupe_key
            ):
                return str(message["ts"])
        return None

    def _call(self, method: str, call: Any) -> dict[str, Any]:
        what = f"Slack {method}"
        try:
            response = call()
        except SlackApiError as err:
            raise self._refusal(what, err) from None
        except (urllib.error.URLError, OSError) as err:
            raise _transport_error(err, what, self._retry) from None
        data = response.data
        return data if isinstance(data, dict) else {}

    def _refusal(self, what: str, err: SlackApiError) -> NotifyFailed:
        response = err.response
        data = response.data if isinstance(response.data, dict) else {}
        if response.status_code != 200 or not data:
            body = str(response.data)
            return _status_error(what, response.status_code, response.headers, body, self._retry)
        error = str(data.get("error", "unknown_error"))
        retriable = error in _RETRIABLE_ERRORS
        return NotifyFailed(
            f"{what} failed: {error}", retry_after=self._retry if retriable else None
        )

    def close(self) -> None:
        """Nothing to release: the SDK opens one connection per request."""
