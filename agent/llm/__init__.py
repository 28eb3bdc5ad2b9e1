"""The LLM layer: the ``openai`` client against any OpenAI-compatible endpoint.

The kill switch is the platform's one ``skills_core.capabilities.llm.kill_switch``: when
``ALLOW_MODEL_REQUESTS`` is False only loopback endpoints (scripted test servers, a local
model) can be reached. The test suite turns it off, and subprocesses read
``LOOPWRIGHT_ALLOW_MODEL_REQUESTS=0`` at import.
"""

from __future__ import annotations

from agent.errors import ModelRequestsBlocked
from skills_core.capabilities.llm import kill_switch
from skills_core.capabilities.llm.kill_switch import is_loopback


def check_model_request_allowed(base_url: str) -> None:
    """Raise unless requests are allowed or ``base_url`` is a loopback address."""
    if not kill_switch.ALLOW_MODEL_REQUESTS and not kill_switch.is_loopback(base_url):
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
