"""The kill switch for paid model calls, checked before every request.

``ALLOW_MODEL_REQUESTS = False`` (the test suite sets it) refuses every request to a model
endpoint that is not on this machine, so no test, however wired, can spend money. Loopback
endpoints stay allowed: they are the scripted test double or a local model, neither paid.
"""

from __future__ import annotations

import ipaddress
import os
import urllib.parse

from ..errors import LLMUnavailable

#: Off when the environment says ``LOOPWRIGHT_ALLOW_MODEL_REQUESTS=0`` (the test suite sets it
#: for every subprocess it starts).
ALLOW_MODEL_REQUESTS = os.environ.get("LOOPWRIGHT_ALLOW_MODEL_REQUESTS", "1").lower() not in (
    "0",
    "false",
    "no",
)


def is_loopback(url: str) -> bool:
    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_allowed(base_url: str) -> None:
    if not ALLOW_MODEL_REQUESTS and not is_loopback(base_url):
        raise LLMUnavailable(
            f"model requests are disabled (kill_switch.ALLOW_MODEL_REQUESTS is False); "
            f"refusing to call {urllib.parse.urlsplit(base_url).netloc}",
            reason="blocked",
            retriable=False,
        )
