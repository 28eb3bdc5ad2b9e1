"""The approval policy's safe default, and its configuration."""

from __future__ import annotations

from typing import Any

import pytest

from sidecar.approval import ApprovalPolicy
from sidecar.validation import Manifest


def manifest(**extra: Any) -> Manifest:
    return Manifest.model_validate({
        "id": "policy-test", "description": "d", "author": "agent",
        "triggers": [{"cron": "0 * * * *"}], **extra,
    })  # fmt: skip


@pytest.mark.parametrize(
    "capabilities",
    [
        {},
        {"metrics": {"sources": ["prometheus", "host"]}, "deploys": {"sources": ["log"]}},
        {"notify": {"channels": ["inbox"]}},
        {"llm": {"per_run_usd": 0.05, "per_week_usd": 1.0}},
    ],
)
def test_reading_and_the_inbox_go_live_alone(capabilities: dict[str, Any]) -> None:
    decision = ApprovalPolicy().decide(manifest(capabilities=capabilities))
    assert (decision.needs_approval, decision.reasons) == (False, ())


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ({"capabilities": {"notify": {"channels": ["inbox", "slack"]}}}, "channels ['slack']"),
        ({"capabilities": {"http": {"hosts": ["status.example.com"]}}}, "HTTP hosts"),
        ({"capabilities": {"llm": {"per_run_usd": 0.1, "per_week_usd": 1.0}}}, "$0.1/run"),
        ({"capabilities": {"llm": {"per_run_usd": 0.01, "per_week_usd": 5.0}}}, "$5.0/week"),
        ({"emits": ["health/escalated"]}, "sends events"),
        ({"invokes": ["other-skill"]}, "invokes functions"),
        (
            {"capabilities": {"ledger": {"skills": ["billing"]}}},
            "run history and schedules of ['billing']",
        ),
        (
            {"capabilities": {"ledger": {"skills": ["*"]}}},
            "run history and schedules of every skill",
        ),
    ],
)
def test_reaching_out_waits_for_a_person(extra: dict[str, Any], reason: str) -> None:
    decision = ApprovalPolicy().decide(manifest(**extra))
    assert decision.needs_approval
    assert reason in " ".join(decision.reasons)


def test_the_policy_is_configurable() -> None:
    policy = ApprovalPolicy.from_json(
        {"auto_notify_channels": ["inbox", "slack"], "max_llm_per_run_usd": 1.0}
    )
    slack = manifest(capabilities={"notify": {"channels": ["slack"]}})
    assert not policy.decide(slack).needs_approval
    assert ApprovalPolicy(always_ask=True).decide(manifest()).needs_approval
    with pytest.raises(ValueError, match="unknown approval policy keys"):
        ApprovalPolicy.from_json({"auto_everything": True})
    assert ApprovalPolicy.from_json(policy.to_json()) == policy
