"""Which engine the platform talks to, and with which keys: decided by configuration alone.

``embedded``: Loopwright's own engine (``loopwright engine``), which also serves a few
documented extensions (``/v1/apps/sync``, ``/invoke/{slug}``, run lists and step timelines).
``inngest``: real Inngest (self-hosted ``inngest start`` or Cloud): only the documented REST
API (``/e/{key}``, ``/v1/events…``, ``/v1/runs/{id}``, ``DELETE /v1/runs/{id}``) is used.

How the kind is chosen, first match wins:
1. ``LOOPWRIGHT_ENGINE_KIND`` = ``embedded`` or ``inngest``;
2. ``LOOPWRIGHT_ENGINE_URL`` set (or a URL passed in that is not ``INNGEST_BASE_URL``):
   embedded at that URL;
3. ``INNGEST_BASE_URL`` set: Inngest at that URL (self-hosted);
4. ``INNGEST_SIGNING_KEY`` set and no URL at all: Inngest Cloud;
5. otherwise the embedded engine at ``http://127.0.0.1:8288``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
from collections.abc import Callable, Mapping
from typing import Literal

EngineKind = Literal["embedded", "inngest"]
EMBEDDED_URL = "http://127.0.0.1:8288"
CLOUD_API_URL = "https://api.inngest.com"
CLOUD_EVENT_URL = "https://inn.gs"
_PREFIX = re.compile(r"^signkey-[A-Za-z0-9]+-")


class TargetError(ValueError):
    """A setting that decides the engine is malformed; the message names the variable."""


@dataclasses.dataclass(frozen=True)
class EngineTarget:
    kind: EngineKind = "embedded"
    api_url: str = EMBEDDED_URL
    event_api_url: str = EMBEDDED_URL
    signing_key: str | None = dataclasses.field(default=None, repr=False)
    signing_key_fallback: str | None = dataclasses.field(default=None, repr=False)
    event_key: str | None = dataclasses.field(default=None, repr=False)
    #: Inngest branch environment (``X-Inngest-Env``), if any.
    env: str | None = None

    @property
    def signed(self) -> bool:
        return self.signing_key is not None

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        url: str | None = None,
        signing_key: str | None = None,
    ) -> EngineTarget:
        """The target the environment describes; ``url``/``signing_key`` win over it."""
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            return (env.get(name) or "").strip() or None

        key = signing_key or get("INNGEST_SIGNING_KEY")
        kind, api = _kind_and_url(get, url, key)
        event_api = get("INNGEST_EVENT_API_BASE_URL") if kind == "inngest" else None
        if kind == "inngest" and api == CLOUD_API_URL:
            event_api = event_api or CLOUD_EVENT_URL
        return cls(
            kind=kind,
            api_url=api,
            event_api_url=(event_api or api).rstrip("/"),
            signing_key=key,
            signing_key_fallback=get("INNGEST_SIGNING_KEY_FALLBACK"),
            event_key=get("INNGEST_EVENT_KEY"),
            env=get("INNGEST_ENV"),
        )

    def authorization(self, fallback: bool = False) -> dict[str, str]:
        """The ``Authorization`` header the SDK itself sends (accepted by every Inngest)."""
        key = self.signing_key_fallback if fallback else self.signing_key
        return {"Authorization": f"Bearer {hashed_signing_key(key)}"} if key else {}


def _kind_and_url(
    read: Callable[[str], str | None], url: str | None, key: str | None
) -> tuple[EngineKind, str]:
    explicit = read("LOOPWRIGHT_ENGINE_KIND")
    if explicit not in (None, "embedded", "inngest"):
        raise TargetError(f"LOOPWRIGHT_ENGINE_KIND is 'embedded' or 'inngest', got {explicit!r}")
    own = url or read("LOOPWRIGHT_ENGINE_URL")
    inngest_url = read("INNGEST_API_BASE_URL") or read("INNGEST_BASE_URL")
    if explicit is None:
        # A URL that is Inngest's own variable (the agent defaults to it) still means Inngest.
        from_inngest = own is not None and own.rstrip("/") == (inngest_url or "").rstrip("/")
        mine = own is not None and bool(read("LOOPWRIGHT_ENGINE_URL") or not from_inngest)
        explicit = "embedded" if mine or not (inngest_url or key) else "inngest"
    if explicit == "inngest":
        return "inngest", _url(own or inngest_url or CLOUD_API_URL, "the Inngest URL")
    return "embedded", _url(own or EMBEDDED_URL, "LOOPWRIGHT_ENGINE_URL")


def _url(value: str, name: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise TargetError(f"{name} must be an http(s) URL, got {value!r}")
    return value.rstrip("/")


def hashed_signing_key(key: str) -> str:
    """sha256 of the key's hex bytes, prefix dropped: what Inngest SDKs send as the bearer."""
    raw = _PREFIX.sub("", key)
    try:
        return hashlib.sha256(bytes.fromhex(raw)).hexdigest()
    except ValueError:
        raise TargetError("INNGEST_SIGNING_KEY must be 'signkey-<env>-<hex>' or bare hex") from None
