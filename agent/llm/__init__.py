"""The LLM layer: the ``openai`` client against any OpenAI-compatible endpoint.

``ALLOW_MODEL_REQUESTS`` is the kill switch checked before every request. When it is False
only loopback endpoints (the scripted test servers) can be reached; the test suite's conftest
turns it off, and subprocesses read ``LOOPWRIGHT_ALLOW_MODEL_REQUESTS=0`` at import.
"""

from __future__ import annotations

import ipaddress
import os
import urllib.parse

from agent.errors import ModelRequestsBlocked

ALLOW_MODEL_REQUESTS: bool = os.environ.get("LOOPWRIGHT_ALLOW_MODEL_REQUESTS", "1") not in (
    "0",
    "false",
    "no",
)


def is_loopback(base_url: str) -> bool:
    host = urllib.parse.urlsplit(base_url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_model_request_allowed(base_url: str) -> None:
    """Raise unless requests are allowed or ``base_url`` is a loopback address."""
    if not ALLOW_MODEL_REQUESTS and not is_loopback(base_url):
        raise ModelRequestsBlocked(
            f"model requests are disabled (ALLOW_MODEL_REQUESTS is False) and {base_url} "
            "is not a loopback address"
        )


from .client import ChatModel, ChatRequest, FallbackChatModel, OpenAIChatModel  # noqa: E402
from .messages import Message, canonical_json  # noqa: E402
from .reply import ModelReply, ToolCall, Usage  # noqa: E402
from .roles import ModelRoles  # noqa: E402
from .settings import ROLES, ClientSettings, Endpoint, Role, RoleSettings  # noqa: E402

__all__ = [
    "ALLOW_MODEL_REQUESTS",
    "ROLES",
    "ChatModel",
    "ChatRequest",
    "ClientSettings",
    "Endpoint",
    "FallbackChatModel",
    "Message",
    "ModelReply",
    "ModelRoles",
    "OpenAIChatModel",
    "Role",
    "RoleSettings",
    "ToolCall",
    "Usage",
    "canonical_json",
    "check_model_request_allowed",
    "is_loopback",
]
