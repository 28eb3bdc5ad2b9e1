"""Slack transports: incoming webhooks and the Web API's ``chat.postMessage``.

Both map Slack's answers the same way: 429 (with ``Retry-After``) and 5xx are retriable
``NotifyFailed``; other refusals (bad token, unknown channel, archived channel) are not; a
request that went out but got no answer is ``NotifyDeliveryUnknown``, because the message may
exist.

The two differ in what they can promise:

* a **webhook** answers ``ok`` and nothing else: no message id, so no threads, and no way to
  check afterwards whether an unanswered post arrived;
* the **Web API** returns the message ``ts`` (threads reply with ``thread_ts``), and every
  post carries the dedupe key in Slack message metadata, so after a crash the platform finds
  its own message with ``conversations.history`` / ``conversations.replies`` instead of
  posting it again.
"""

from __future__ import annotations

import uuid
from typing import Any, Protocol

import httpx

from ..errors import NotifyDeliveryUnknown, NotifyFailed
from ..retry_hints import retry_after_for
from ..settings import SlackApiChannel, SlackWebhookChannel

METADATA_EVENT = "loopwright_post"
#: Slack errors that a later retry can get past; every other ``error`` is final.
_RETRIABLE_ERRORS = {"internal_error", "fatal_error", "service_unavailable", "request_timeout"}


class Transport(Protocol):
    """A channel that sends over the network; ``send`` returns the message id."""

    threads: bool
    reconciles: bool

    def send(self, text: str, *, thread_root: str | None, dedupe_key: str) -> str: ...

    def find(self, dedupe_key: str, *, since: float, thread_root: str | None) -> str | None: ...

    def close(self) -> None: ...


def _post(http: httpx.Client, url: str, what: str, retry: float, **kwargs: Any) -> httpx.Response:
    try:
        response = http.post(url, **kwargs)
    except (httpx.ConnectError, httpx.ConnectTimeout) as err:
        raise NotifyFailed(
            f"{what}: cannot connect ({type(err).__name__})", retry_after=retry
        ) from None
    except httpx.TransportError as err:
        raise NotifyDeliveryUnknown(
            f"{what}: sent, but no answer ({type(err).__name__}); it may have been posted",
            retry_after=retry,
        ) from None
    hint = retry_after_for(response, retry)
    if hint is not None:
        raise NotifyFailed(f"{what}: Slack answered HTTP {response.status_code}", retry_after=hint)
    return response


class SlackWebhook:
    threads = False
    reconciles = False

    def __init__(self, config: SlackWebhookChannel, default_retry_after: float) -> None:
        self._url = config.url.get_secret_value()
        self._retry = default_retry_after
        self._http = httpx.Client(timeout=config.timeout_s)

    def send(self, text: str, *, thread_root: str | None, dedupe_key: str) -> str:
        response = _post(self._http, self._url, "Slack webhook", self._retry, json={"text": text})
        if response.status_code != 200:
            raise NotifyFailed(
                f"Slack webhook refused the post: HTTP {response.status_code} "
                f"{response.text[:200]!r}",
                retriable=False,
            )
        return f"webhook:{uuid.uuid4().hex[:16]}"

    def find(self, dedupe_key: str, *, since: float, thread_root: str | None) -> str | None:
        return None

    def close(self) -> None:
        self._http.close()


class SlackWebApi:
    threads = True
    reconciles = True

    def __init__(self, config: SlackApiChannel, default_retry_after: float) -> None:
        self._base = config.api_url.rstrip("/")
        self._channel = config.channel
        self._retry = default_retry_after
        self._http = httpx.Client(
            timeout=config.timeout_s,
            headers={"Authorization": f"Bearer {config.token.get_secret_value()}"},
        )

    def send(self, text: str, *, thread_root: str | None, dedupe_key: str) -> str:
        body: dict[str, Any] = {
            "channel": self._channel,
            "text": text,
            "unfurl_links": False,
            "metadata": {"event_type": METADATA_EVENT, "event_payload": {"dedupe_key": dedupe_key}},
        }
        if thread_root:
            body["thread_ts"] = thread_root
        answer = self._call("chat.postMessage", json=body)
        return str(answer["ts"])

    def find(self, dedupe_key: str, *, since: float, thread_root: str | None) -> str | None:
        """The ts of the message this platform posted under ``dedupe_key`` since ``since``."""
        params = {"channel": self._channel, "oldest": f"{since:.6f}", "limit": 200}
        params["include_all_metadata"] = "true"
        if thread_root:
            answer = self._call("conversations.replies", data={**params, "ts": thread_root})
        else:
            answer = self._call("conversations.history", data=params)
        for message in answer.get("messages", []):
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if (
                metadata.get("event_type") == METADATA_EVENT
                and payload.get("dedupe_key") == dedupe_key
            ):
                return str(message["ts"])
        return None

    def _call(self, method: str, **kwargs: Any) -> dict[str, Any]:
        what = f"Slack {method}"
        response = _post(self._http, f"{self._base}/{method}", what, self._retry, **kwargs)
        try:
            answer: dict[str, Any] = response.json()
        except ValueError:
            raise NotifyFailed(
                f"{what}: HTTP {response.status_code} without JSON", retriable=False
            ) from None
        if not answer.get("ok"):
            error = str(answer.get("error", "unknown_error"))
            retriable = error in _RETRIABLE_ERRORS
            raise NotifyFailed(
                f"{what} failed: {error}", retry_after=self._retry if retriable else None
            )
        return answer

    def close(self) -> None:
        self._http.close()
