"""`step.ai.infer` (protocol 4.12): the engine calls the model provider for the SDK.

The SDK answers an `AIGateway` op with the provider's URL, key, format and body; the engine
sends the request and saves the provider's JSON answer as the step's output. The paid-model
kill switch applies: with `LOOPWRIGHT_ALLOW_MODEL_REQUESTS=0` (the test suite sets it for every
process it starts) only loopback URLs are called, so no run can spend money by accident.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import urllib.parse
from typing import Any

import aiohttp

from . import jsonio

#: The same switch, read the same way, as skills_core's kill switch (the engine does not
#: import the platform: imports stay one-way).
ALLOW_MODEL_REQUESTS = os.environ.get("LOOPWRIGHT_ALLOW_MODEL_REQUESTS", "1").lower() not in (
    "0",
    "false",
    "no",
)
TIMEOUT_S = 300.0


@dataclasses.dataclass(frozen=True)
class Inference:
    """The provider's answer: `output` on success, else `message` (and whether to retry)."""

    output: Any = None
    message: str | None = None
    retriable: bool = False
    body_text: str = ""

    @property
    def ok(self) -> bool:
        return self.message is None

    def memo(self) -> dict[str, Any]:
        if self.ok:
            return {"data": self.output}
        return {
            "error": {
                "name": "AIGatewayError",
                "message": f"Error making AI request: {self.message}",
                "stack": self.body_text,
            }
        }


def _loopback(url: str) -> bool:
    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def request_of(opts: dict[str, Any]) -> tuple[str, dict[str, str], bytes]:
    """URL, headers and body for the provider, authenticated as its `format` expects."""
    url = str(opts.get("url") or "")
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"step.ai.infer needs an http(s) url, got {url!r}")
    key = str(opts.get("auth_key") or "")
    fmt = str(opts.get("format") or "openai-chat")
    headers = {"content-type": "application/json"}
    if fmt == "anthropic":
        headers["x-api-key"] = key
        headers.setdefault("anthropic-version", "2023-06-01")
    elif fmt == "gemini":
        sep = "&" if "?" in url else "?"
        url = f"{url}{sep}key={urllib.parse.quote(key)}"
    elif fmt == "bedrock":
        headers["authorization"] = key
    elif key:
        headers["authorization"] = f"Bearer {key}"
    for name, value in (opts.get("headers") or {}).items():
        headers[str(name).lower()] = str(value)
    return url, headers, jsonio.dumpb(opts.get("body") or {})


async def infer(session: aiohttp.ClientSession, opts: dict[str, Any]) -> Inference:
    try:
        url, headers, body = request_of(opts)
    except ValueError as exc:
        return Inference(message=str(exc))
    if not ALLOW_MODEL_REQUESTS and not _loopback(url):
        host = urllib.parse.urlsplit(url).netloc
        return Inference(
            message=(
                f"model requests are disabled (LOOPWRIGHT_ALLOW_MODEL_REQUESTS=0); refusing to "
                f"call {host}. Use a loopback model server, or enable model requests"
            )
        )
    try:
        timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
        async with session.post(url, data=body, headers=headers, timeout=timeout) as resp:
            raw = await resp.read()
            text = raw.decode("utf-8", errors="replace")
            if not 200 <= resp.status < 300:
                retriable = resp.status == 429 or resp.status >= 500
                return Inference(
                    message=f"the provider answered {resp.status}",
                    retriable=retriable,
                    body_text=text[:4000],
                )
            try:
                return Inference(output=jsonio.loads(raw))
            except jsonio.JSONDecodeError:
                return Inference(message="the provider's answer is not JSON", body_text=text[:4000])
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        return Inference(message=f"{type(exc).__name__}: {exc}", retriable=True)
