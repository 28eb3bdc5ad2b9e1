"""Identifiers: ULIDs for events and runs, and the SDK's step-id hash.

Event ids may be *seeded* by the SDK (`x-inngest-event-id-seed`) so that a retried
POST yields the same internal ids; see protocol section 3.2.
"""

from __future__ import annotations

import base64
import hashlib
import os
import time
import uuid

from ulid import ULID

_APP_NAMESPACE = uuid.UUID("6f1c2e0a-5b7d-4c3e-9a41-2d8f0b6e7c15")


def new_ulid(ms: int | None = None) -> str:
    stamp = int(time.time() * 1000) if ms is None else ms
    return str(ULID.from_timestamp(stamp / 1000))


def seeded_ulids(seed_header: str | None, count: int) -> list[str]:
    """Internal ids for `count` events; deterministic when the seed header is valid."""
    seed = _parse_seed(seed_header)
    if seed is None:
        return [new_ulid() for _ in range(count)]
    millis, entropy = seed
    out = []
    for n in range(1, count + 1):
        tail = (int.from_bytes(entropy[6:10], "big") + n) & 0xFFFFFFFF
        rand = entropy[:6] + tail.to_bytes(4, "big")
        out.append(str(ULID.from_bytes(millis.to_bytes(6, "big") + rand)))
    return out


def _parse_seed(header: str | None) -> tuple[int, bytes] | None:
    if not header or "," not in header:
        return None
    millis_text, b64 = header.split(",", 1)
    try:
        millis = int(millis_text)
        entropy = base64.b64decode(b64, validate=True)
    except ValueError:
        return None
    if len(entropy) != 10 or not 0 <= millis < 2**48:
        return None
    return millis, entropy


def is_ulid(text: str) -> bool:
    try:
        ULID.from_str(text)
    except ValueError:
        return False
    return True


def ulid_ms(text: str) -> int:
    return int(ULID.from_str(text).milliseconds)


def step_hash(user_id: str) -> str:
    return hashlib.sha1(user_id.encode()).hexdigest()


def app_uuid(app_name: str) -> str:
    return str(uuid.uuid5(_APP_NAMESPACE, f"app/{app_name}"))


def function_uuid(app_name: str, slug: str) -> str:
    """Stable across re-syncs, so run history stays attached to the function."""
    return str(uuid.uuid5(_APP_NAMESPACE, f"fn/{app_name}/{slug}"))


def random_token(nbytes: int = 16) -> str:
    return os.urandom(nbytes).hex()
