"""When to come back: turn a service's ``Retry-After`` answer into seconds.

Every capability that talks HTTP maps "not now" answers (429, 503, other 5xx, timeouts) to a
retriable error carrying ``retry_after``, so the skill's step can raise ``RetryAfterError``
with the service's own hint instead of retrying on the engine's generic backoff.
"""

from __future__ import annotations

import email.utils
import time

import httpx

#: Never ask a step to wait longer than this, whatever a server says.
MAX_RETRY_AFTER_S = 3600.0


def parse_retry_after(value: str | None, default: float) -> float:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date)."""
    if not value:
        return default
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return default
        seconds = when.timestamp() - time.time()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def retry_after_for(response: httpx.Response, default: float) -> float | None:
    """The retry hint for a response, or None when retrying cannot help (other 4xx)."""
    status = response.status_code
    if status == 429 or status >= 500:
        return parse_retry_after(response.headers.get("retry-after"), default)
    return None
