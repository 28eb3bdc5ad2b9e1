"""The http capability: GET a URL on a host the skill's grant names, within size and time caps.

Checks, in order, each refusing with ``CapabilityDenied``: plain ``http(s)``, no credentials
in the URL, a granted host, an allowed port, and — since DNS can point a public name anywhere
— a resolved address that is globally routable (not loopback, private, link-local: the
platform's own APIs and cloud metadata endpoints live there). Redirects are not followed: a
redirect could leave the granted host, so the skill sees the 3xx and its ``location``.

A non-2xx answer is a result, not an error (the skill decides what a 404 means). No answer
is ``HttpFailed`` with a retry hint; a body over ``max_bytes`` is ``HttpTooLarge``.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import urllib.parse
from typing import Any

import httpx
import pydantic

from .errors import CapabilityDenied, HttpFailed, HttpTooLarge
from .grant import Grant
from .settings import CapabilitySettings

USER_AGENT = "loopwright-http-capability/1"


class HttpResponse(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(frozen=True, populate_by_name=True)

    status: int
    headers: dict[str, str]
    text: str
    #: The parsed body when the server said it is JSON (dumped as ``json``).
    body_json: Any = pydantic.Field(default=None, alias="json")


class FetchService:
    def __init__(self, settings: CapabilitySettings) -> None:
        self._settings = settings.http
        self._retry_after = settings.default_retry_after_s
        self._http = httpx.Client(follow_redirects=False, headers={"User-Agent": USER_AGENT})

    def get(
        self,
        grant: Grant,
        url: str,
        *,
        params: dict[str, str] | None = None,
        timeout_s: float = 10.0,
    ) -> HttpResponse:
        host, port = self._check_url(grant, url)
        self._check_address(host, port)
        timeout = min(max(timeout_s, 0.1), self._settings.max_timeout_s)
        try:
            with self._http.stream("GET", url, params=params, timeout=timeout) as response:
                body = self._read_capped(response, url)
        except httpx.TimeoutException:
            raise HttpFailed(
                f"GET {url}: no answer within {timeout}s", retry_after=self._retry_after
            ) from None
        except httpx.TransportError as err:
            raise HttpFailed(
                f"GET {url}: {type(err).__name__}", retry_after=self._retry_after
            ) from None
        text = body.decode(response.encoding or "utf-8", errors="replace")
        return HttpResponse.model_validate(
            {
                "status": response.status_code,
                "headers": {k.lower(): v for k, v in response.headers.items()},
                "text": text,
                "json": _json_body(response, text),
            }
        )

    def _check_url(self, grant: Grant, url: str) -> tuple[str, int]:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise CapabilityDenied(f"{url!r}: only absolute http(s) URLs")
        if parts.username or parts.password:
            raise CapabilityDenied(f"{url!r}: credentials in URLs are not allowed")
        host = grant.http_host(parts.hostname)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        if port not in self._settings.allowed_ports:
            raise CapabilityDenied(f"{url!r}: port {port} is not allowed")
        return host, port

    def _check_address(self, host: str, port: int) -> None:
        if self._settings.allow_private_addresses:
            return
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as err:
            raise HttpFailed(
                f"cannot resolve {host!r}: {err}", retry_after=self._retry_after
            ) from None
        for info in infos:
            address = ipaddress.ip_address(info[4][0])
            if not address.is_global:
                raise CapabilityDenied(
                    f"{host!r} resolves to {address}, which is not a public address"
                )

    def _read_capped(self, response: httpx.Response, url: str) -> bytes:
        limit = self._settings.max_bytes
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > limit:
                raise HttpTooLarge(f"GET {url}: body is larger than {limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    def close(self) -> None:
        self._http.close()


def _json_body(response: httpx.Response, text: str) -> Any:
    if "json" not in response.headers.get("content-type", ""):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None
