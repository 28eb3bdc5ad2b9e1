"""Every error a capability raises, in one tree, each with a stable code.

The codes cross a wire: the loopback API that serves these capabilities to skill workers
sends ``error.to_wire()`` and the worker rebuilds the skill-facing error named by
``skill_error`` (see ``sidecar/facade/errors.py``). Run history counts failures by code, so a
code never changes meaning once shipped.

    CapabilityError                       (abstract; never raised itself)
    ├── CapabilityDenied                  capability-denied          outside the skill's grant
    ├── CapabilityNotConfigured           capability-not-configured  granted, but this platform
    │                                                                has no such source/channel
    ├── MetricsError
    │   ├── MetricsUnavailable            metrics-unavailable        retriable: retry_after
    │   └── MetricsQueryInvalid           metrics-query-invalid      bad or unsupported query
    ├── DeploysUnavailable                deploys-unavailable
    ├── NotifyFailed                      notify-failed              retriable on 429/5xx
    │   └── NotifyDeliveryUnknown         notify-delivery-unknown    sent, but no answer came
    ├── LLMError
    │   ├── LLMUnavailable                llm-unavailable            reason: not-configured,
    │   │   │                                                        blocked, failed, rejected,
    │   │   │                                                        bad-reply
    │   │   └── LLMTimeout                llm-timeout
    │   └── LLMBudgetExceeded             llm-budget-exceeded        scope: run or week
    └── HttpFailed                        http-failed                retriable on timeouts/5xx
        └── HttpTooLarge                  http-too-large

``retriable`` says whether trying the same call again can succeed; ``retry_after`` (seconds)
says when, so a step can raise ``RetryAfterError`` with it instead of hammering a service that
is already down.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal


class CapabilityError(Exception):
    """Base of every capability error; carries a stable code and a retry hint."""

    code: ClassVar[str] = "capability-error"
    #: The class name the skill sees (``skill.<name>``) once the error crosses to a worker.
    skill_error: ClassVar[str] = "CapabilityError"
    default_retriable: ClassVar[bool] = False

    def __init__(
        self, message: str, *, retry_after: float | None = None, retriable: bool | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after
        if retriable is None:
            retriable = self.default_retriable or retry_after is not None
        self.retriable = retriable

    def details(self) -> dict[str, Any]:
        """Extra structured fields for the wire; subclasses add theirs."""
        return {}

    def to_wire(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "skill_error": self.skill_error,
            "message": self.message,
            "retriable": self.retriable,
            "retry_after": self.retry_after,
            "details": self.details(),
        }

    @staticmethod
    def from_wire(data: dict[str, Any]) -> CapabilityError:
        """Rebuild the error ``to_wire`` produced (unknown codes become the base class)."""
        cls = ERRORS_BY_CODE.get(str(data.get("code")), CapabilityError)
        err = cls.__new__(cls)
        CapabilityError.__init__(
            err,
            str(data.get("message", "")),
            retry_after=data.get("retry_after"),
            retriable=bool(data.get("retriable", False)),
        )
        for key, value in (data.get("details") or {}).items():
            setattr(err, key, value)
        return err

    def __repr__(self) -> str:
        hint = f", retry_after={self.retry_after}" if self.retry_after is not None else ""
        return f"{type(self).__name__}({self.message!r}{hint})"


class CapabilityDenied(CapabilityError):
    """The call asks for something the skill's grant does not include."""

    code = "capability-denied"
    skill_error = "CapabilityDenied"


class CapabilityNotConfigured(CapabilityError):
    """The grant allows a source or channel that this platform has not configured."""

    code = "capability-not-configured"


class MetricsError(CapabilityError):
    code = "metrics-error"
    skill_error = "MetricsUnavailable"


class MetricsUnavailable(MetricsError):
    """The metrics backend did not answer (down, 5xx, timeout); try again after retry_after."""

    code = "metrics-unavailable"
    default_retriable = True


class MetricsQueryInvalid(MetricsError):
    """The query is malformed or this kind of source cannot answer it; retrying will not help."""

    code = "metrics-query-invalid"


class DeploysUnavailable(CapabilityError):
    code = "deploys-unavailable"
    skill_error = "DeploysUnavailable"


class NotifyFailed(CapabilityError):
    """The message was not delivered; retriable (with retry_after) on 429 and 5xx."""

    code = "notify-failed"
    skill_error = "NotifyFailed"


class NotifyDeliveryUnknown(NotifyFailed):
    """The request went out but no answer came back: the message may or may not exist."""

    code = "notify-delivery-unknown"
    default_retriable = True


class LLMError(CapabilityError):
    code = "llm-error"
    skill_error = "LLMError"


LLMUnavailableReason = Literal["not-configured", "blocked", "failed", "rejected", "bad-reply"]


class LLMUnavailable(LLMError):
    """No LLM answer: not configured, blocked by the kill switch, failed, or unusable reply."""

    code = "llm-unavailable"
    skill_error = "LLMUnavailable"
    reason: LLMUnavailableReason = "failed"

    def __init__(
        self,
        message: str,
        *,
        reason: LLMUnavailableReason = "failed",
        retry_after: float | None = None,
        retriable: bool | None = None,
    ) -> None:
        super().__init__(message, retry_after=retry_after, retriable=retriable)
        self.reason = reason

    def details(self) -> dict[str, Any]:
        return {"reason": self.reason}


class LLMTimeout(LLMUnavailable):
    code = "llm-timeout"
    skill_error = "LLMTimeout"
    default_retriable = True

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message, reason="failed", retry_after=retry_after)


class LLMBudgetExceeded(LLMError):
    """The per-run or per-week budget cannot cover the call; nothing was sent."""

    code = "llm-budget-exceeded"
    skill_error = "LLMBudgetExceeded"
    scope: Literal["run", "week"] = "run"

    def __init__(self, message: str, *, scope: Literal["run", "week"] = "run") -> None:
        super().__init__(message, retriable=False)
        self.scope = scope

    def details(self) -> dict[str, Any]:
        return {"scope": self.scope}


class HttpFailed(CapabilityError):
    code = "http-failed"
    skill_error = "HttpFailed"


class HttpTooLarge(HttpFailed):
    code = "http-too-large"


def _all_subclasses(cls: type[CapabilityError]) -> list[type[CapabilityError]]:
    found: list[type[CapabilityError]] = []
    for sub in cls.__subclasses__():
        found += [sub, *_all_subclasses(sub)]
    return found


#: Every concrete error by its wire code (tests pin that the codes are unique).
_ALL: list[type[CapabilityError]] = [CapabilityError, *_all_subclasses(CapabilityError)]
ERRORS_BY_CODE: dict[str, type[CapabilityError]] = {cls.code: cls for cls in _ALL}
