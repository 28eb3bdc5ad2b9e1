"""Grants: built from a manifest, and every capability's single gate."""

from __future__ import annotations

import pytest

from skills_core.capabilities import CapabilityDenied, Grant

MANIFEST_CAPABILITIES = {
    "metrics": {"sources": ["prometheus", "host"]},
    "deploys": {"sources": ["log"]},
    "notify": {"channels": ["inbox", "slack"]},
    "llm": {"per_run_usd": 0.02, "per_week_usd": 0.5},
    "http": {"hosts": ["status.example.com"]},
}


def test_from_manifest_keeps_order_and_budgets() -> None:
    grant = Grant.from_manifest("latency-watch", MANIFEST_CAPABILITIES)
    assert grant.metrics_source(None) == "prometheus"
    assert grant.metrics_source("host") == "host"
    assert grant.notify_channel("slack") == "slack"
    assert grant.llm_budget().per_week_usd == 0.5
    assert grant.http_host("status.example.com") == "status.example.com"


def test_nothing_granted_means_nothing_allowed() -> None:
    grant = Grant.from_manifest("quiet", None)
    with pytest.raises(CapabilityDenied, match="no metrics source granted"):
        grant.metrics_source(None)
    with pytest.raises(CapabilityDenied, match="no LLM budget"):
        grant.llm_budget()


def test_denial_names_skill_and_what_is_allowed() -> None:
    grant = Grant.from_manifest("latency-watch", MANIFEST_CAPABILITIES)
    with pytest.raises(CapabilityDenied) as caught:
        grant.deploy_source("git")
    assert "'latency-watch'" in caught.value.message and "['log']" in caught.value.message


def test_grants_are_frozen() -> None:
    grant = Grant.from_manifest("s", MANIFEST_CAPABILITIES)
    with pytest.raises(ValueError, match="frozen"):
        grant.skill_id = "other"  # type: ignore[misc]
