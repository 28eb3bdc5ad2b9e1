"""Every error the agent raises, in one tree, each with a stable code.

Codes cross the wire (tool results the model reads, HTTP answers the console reads, turn
records the eval counts), so a code never changes meaning once shipped.

    AgentError                          agent-error (abstract)
    ├── ConfigError                     config-invalid        a setting is malformed
    ├── LLMError                        llm-error
    │   ├── LLMNotConfigured            llm-not-configured    no base URL / model for a role
    │   ├── ModelRequestsBlocked        llm-blocked           the kill switch refused the URL
    │   ├── LLMRequestFailed            llm-failed            every model of the role failed
    │   └── LLMBadReply                 llm-bad-reply         the reply could not be read
    ├── ToolError                       tool-error
    │   ├── ToolUnknown                 tool-unknown          the model named no such tool
    │   ├── ToolArgumentsInvalid        tool-args-invalid     pydantic refused the arguments
    │   └── ToolFailed                  tool-failed           the tool's service failed
    │       └── ServiceUnavailable          service-unavailable   sidecar/engine not reachable
    └── ConversationNotFound            conversation-not-found

Tool errors never escape a tool call: the dispatcher turns them into a tool result the model
can act on. LLM errors escape the LLM step so the engine retries it; the turn ends gracefully
once retries are spent.
"""

from __future__ import annotations

from typing import ClassVar


class AgentError(Exception):
    """Base of every agent error: a message plus a stable code."""

    code: ClassVar[str] = "agent-error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


class ConfigError(AgentError):
    """A configuration value is present but unusable; the message names the variable."""

    code = "config-invalid"


class LLMError(AgentError):
    code = "llm-error"


class LLMNotConfigured(LLMError):
    """A role has no endpoint or model; the message lists the variables to set."""

    code = "llm-not-configured"


class ModelRequestsBlocked(LLMError):
    """ALLOW_MODEL_REQUESTS is off and the base URL is not a loopback address."""

    code = "llm-blocked"


class LLMRequestFailed(LLMError):
    """The primary model failed after its retries, and so did the fallback (if any)."""

    code = "llm-failed"


class LLMBadReply(LLMError):
    """The endpoint answered, but not with a chat completion we can read."""

    code = "llm-bad-reply"


class ToolError(AgentError):
    code = "tool-error"


class ToolUnknown(ToolError):
    code = "tool-unknown"


class ToolArgumentsInvalid(ToolError):
    code = "tool-args-invalid"


class ToolFailed(ToolError):
    code = "tool-failed"


class ServiceUnavailable(ToolFailed):
    """The sidecar or the engine did not answer; tools fall back where they can."""

    code = "service-unavailable"


class ConversationNotFound(AgentError):
    code = "conversation-not-found"
