"""Request signing and API auth in Inngest's cloud mode (protocol 1.2 and 4.16)."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import re
import time

import jcs

from . import jsonio

_PREFIX = re.compile(r"^signkey-[\w]+-")


def strip_prefix(key: str) -> str:
    return _PREFIX.sub("", key)


def sign_body(body: bytes, signing_key: str, now: int | None = None) -> str:
    stamp = str(int(time.time()) if now is None else now)
    canonical = jcs.canonicalize(jsonio.loads(body)) if body else b""
    mac = hmac.new(strip_prefix(signing_key).encode(), canonical + stamp.encode(), hashlib.sha256)
    return f"t={stamp}&s={mac.hexdigest()}"


def hashed_key(signing_key: str) -> str:
    return hashlib.sha256(bytes.fromhex(strip_prefix(signing_key))).hexdigest()


def bearer_ok(authorization: str | None, signing_keys: list[str]) -> bool:
    """Accept the raw key or its hash, with or without the `signkey-…-` prefix."""
    if not authorization or not authorization.lower().startswith("bearer "):
        return False
    token = strip_prefix(authorization[7:].strip())
    for key in signing_keys:
        raw = strip_prefix(key)
        candidates = {raw}
        with contextlib.suppress(ValueError):
            candidates.add(hashed_key(key))
        if any(hmac.compare_digest(token, c) for c in candidates):
            return True
    return False
