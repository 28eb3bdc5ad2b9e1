"""Errors that cross the boundary between skill code and the platform.

Two trees, on purpose:

    Exception
    └── SkillError                      raised to or by skill code; skills may catch these
        ├── NonRetriableError           raise to fail the run without retries (mirrors inngest)
        ├── RetryAfterError             raise to retry the run later (mirrors inngest)
        ├── StepError                   a step failed after all retries (mirrors inngest)
        └── CapabilityError             a capability could not do its job: catch it to fall back
            ├── CapabilityRefused       the call can never succeed as made (over a limit,
            │                           invalid): the run fails without retries
            ├── MetricsUnavailable
            ├── DeploysUnavailable
            ├── NotifyFailed
            ├── HttpFailed
            └── LLMError
                ├── LLMUnavailable      no LLM configured, or the service is down
                ├── LLMTimeout
                └── LLMBudgetExceeded   the per-run or per-week budget is spent

    BaseException
    └── SkillViolation                  the skill broke the contract; skill code cannot catch it
        ├── CapabilityDenied            capability-denied
        ├── CapabilityOutsideStep       runtime-capability-outside-step
        ├── NondeterministicCall        runtime-nondeterministic-call
        ├── EmitDenied                  runtime-emit-undeclared
        ├── StepMisuse                  step-misuse
        ├── StepOutputInvalid           step-output-invalid
        ├── StepOutputTooLarge          step-output-too-large
        ├── ReplayDiverged              dry-run-nondeterministic
        ├── LimitExceeded               limit-exceeded
        ├── GuardedAccessError          guarded-access
        ├── GuardedWriteError           guarded-write
        ├── ImportDenied                import-denied
        ├── ModuleAttributeDenied       module-attribute-denied
        └── RegexRejected               runtime-regex-rejected

Violations derive from ``BaseException`` for the same reason inngest's step interrupts do: skill
code (written by an agent) must not be able to swallow them with ``except Exception``. Bare
``except:`` is refused by the AST policy and ``BaseException`` is not a builtin in the sandbox,
so nothing in skill code can catch a violation. Every violation carries a stable ``code`` that
is also a rule id of the validation report (see ``sidecar/validation/rules.py``).
"""

from __future__ import annotations

import datetime
from typing import ClassVar


class SkillError(Exception):
    """Base of every error skill code may raise or catch."""


class NonRetriableError(SkillError):
    """Fail the run now, without retries (translated to ``inngest.NonRetriableError``)."""


class RetryAfterError(SkillError):
    """Retry the run after a delay: milliseconds, a timedelta or a datetime (as in inngest)."""

    def __init__(
        self, message: str, retry_after: int | datetime.timedelta | datetime.datetime
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class StepError(SkillError):
    """A step's callback kept failing; raised by ``ctx.step.run`` once retries are exhausted."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message


class CapabilityError(SkillError):
    """A capability could not complete the call (outage, timeout, budget)."""


class CapabilityRefused(CapabilityError, NonRetriableError):
    """The call can never succeed as made (e.g. over a size limit; the message names it).

    Also a ``NonRetriableError``: retrying the same call cannot help, so the run is not
    retried for it. Skills catching ``CapabilityError`` to fall back still catch it.
    """


class MetricsUnavailable(CapabilityError):
    pass


class DeploysUnavailable(CapabilityError):
    pass


class NotifyFailed(CapabilityError):
    pass


class HttpFailed(CapabilityError):
    pass


class LLMError(CapabilityError):
    """Any LLM failure; catch this one to fall back to a rule-based decision."""


class LLMUnavailable(LLMError):
    pass


class LLMTimeout(LLMError):
    pass


class LLMBudgetExceeded(LLMError):
    pass


#: The errors skill code can reach as ``skill.<Name>``.
SKILL_ERRORS: tuple[type[SkillError], ...] = (
    SkillError,
    NonRetriableError,
    RetryAfterError,
    StepError,
    CapabilityError,
    CapabilityRefused,
    MetricsUnavailable,
    DeploysUnavailable,
    NotifyFailed,
    HttpFailed,
    LLMError,
    LLMUnavailable,
    LLMTimeout,
    LLMBudgetExceeded,
)


class SkillViolation(BaseException):
    """The skill did something the contract forbids. Never catchable by skill code."""

    code: ClassVar[str] = "violation"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CapabilityDenied(SkillViolation):
    code = "capability-denied"


class CapabilityOutsideStep(SkillViolation):
    code = "runtime-capability-outside-step"


class NondeterministicCall(SkillViolation):
    code = "runtime-nondeterministic-call"


class EmitDenied(SkillViolation):
    code = "runtime-emit-undeclared"


class StepMisuse(SkillViolation):
    code = "step-misuse"


class StepOutputInvalid(SkillViolation):
    code = "step-output-invalid"


class StepOutputTooLarge(SkillViolation):
    code = "step-output-too-large"


class ReplayDiverged(SkillViolation):
    code = "dry-run-nondeterministic"


class LimitExceeded(SkillViolation):
    code = "limit-exceeded"


class GuardedAccessError(SkillViolation):
    code = "guarded-access"


class GuardedWriteError(SkillViolation):
    code = "guarded-write"


class ImportDenied(SkillViolation):
    code = "import-denied"


class ModuleAttributeDenied(SkillViolation):
    code = "module-attribute-denied"


class RegexRejected(SkillViolation):
    code = "runtime-regex-rejected"


#: Every violation class, so the rule catalog can check that each code is documented.
VIOLATIONS: tuple[type[SkillViolation], ...] = (
    CapabilityDenied,
    CapabilityOutsideStep,
    NondeterministicCall,
    EmitDenied,
    StepMisuse,
    StepOutputInvalid,
    StepOutputTooLarge,
    ReplayDiverged,
    LimitExceeded,
    GuardedAccessError,
    GuardedWriteError,
    ImportDenied,
    ModuleAttributeDenied,
    RegexRejected,
)
