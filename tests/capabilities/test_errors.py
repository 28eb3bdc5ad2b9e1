"""The error tree: stable codes, retry hints, and a wire format that round-trips."""

from __future__ import annotations

import pytest

from sidecar.facade import errors as skill_errors
from skills_core.capabilities import errors
from skills_core.capabilities.errors import ERRORS_BY_CODE, CapabilityError

#: Shipped codes never change meaning; add new ones, never rename these.
STABLE_CODES = {
    "capability-error",
    "capability-denied",
    "capability-not-configured",
    "metrics-error",
    "metrics-unavailable",
    "metrics-query-invalid",
    "deploys-unavailable",
    "notify-failed",
    "notify-delivery-unknown",
    "llm-error",
    "llm-unavailable",
    "llm-timeout",
    "llm-budget-exceeded",
    "http-failed",
    "http-too-large",
}


def test_codes_are_unique_and_stable() -> None:
    assert set(ERRORS_BY_CODE) == STABLE_CODES
    assert len({cls.code for cls in ERRORS_BY_CODE.values()}) == len(ERRORS_BY_CODE)


def test_every_code_is_drawn_in_the_module_docstring() -> None:
    for code in STABLE_CODES - {"capability-error", "metrics-error", "llm-error"}:
        assert code in (errors.__doc__ or "")


def test_each_error_names_a_skill_facing_error_that_exists() -> None:
    facing = {cls.__name__ for cls in (*skill_errors.SKILL_ERRORS, *skill_errors.VIOLATIONS)}
    for cls in ERRORS_BY_CODE.values():
        assert cls.skill_error in facing, cls


@pytest.mark.parametrize(
    "error",
    [
        errors.MetricsUnavailable("prometheus down", retry_after=7),
        errors.LLMUnavailable("no key", reason="not-configured", retriable=False),
        errors.LLMTimeout("slow", retry_after=3),
        errors.LLMBudgetExceeded("spent", scope="week"),
        errors.NotifyFailed("slack 429", retry_after=30),
        errors.CapabilityDenied("no"),
    ],
)
def test_wire_round_trip(error: CapabilityError) -> None:
    wire = error.to_wire()
    back = CapabilityError.from_wire(wire)
    assert type(back) is type(error)
    assert back.to_wire() == wire


def test_retriable_follows_the_retry_hint() -> None:
    assert errors.MetricsUnavailable("x").retriable
    assert errors.NotifyFailed("x", retry_after=1).retriable
    assert not errors.NotifyFailed("x").retriable
    assert not errors.LLMBudgetExceeded("x").retriable
    assert errors.LLMTimeout("x").to_wire()["details"] == {"reason": "failed"}


def test_unknown_codes_become_the_base_class() -> None:
    back = CapabilityError.from_wire({"code": "from-the-future", "message": "m"})
    assert type(back) is CapabilityError and back.message == "m"
