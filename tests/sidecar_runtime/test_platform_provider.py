"""The platform's real capabilities behind the sidecar's provider seam."""

from __future__ import annotations

from pathlib import Path

import pytest

from sidecar.capabilities.platform import PlatformCapabilityProvider
from sidecar.facade import errors as facade_errors
from sidecar.facade.grants import CapabilityGrants
from sidecar.workers.remote import describe_failure
from skills_core.capabilities.notify.inbox import read_inbox
from skills_core.capabilities.services import CapabilityServices
from skills_core.capabilities.settings import CapabilitySettings

GRANTS = CapabilityGrants.model_validate(
    {
        "metrics": {"sources": ["host"]},
        "notify": {"channels": ["inbox"]},
        "llm": {"per_run_usd": 0.01, "per_week_usd": 0.1},
    }
)


@pytest.fixture
def provider(tmp_path: Path) -> PlatformCapabilityProvider:
    settings = CapabilitySettings.from_env({"LOOPWRIGHT_CAPABILITIES_DB": str(tmp_path / "c.db")})
    return PlatformCapabilityProvider(CapabilityServices.build(settings))


def test_inbox_posts_land_in_the_platform_inbox_once(provider: PlatformCapabilityProvider) -> None:
    notify = provider.backends("health-check", GRANTS, "run-1").notify
    assert notify is not None
    first = notify.post("inbox", "checkout degraded", thread="inc-1", dedupe_key="run-1:notify:0")
    again = notify.post("inbox", "checkout degraded", thread="inc-1", dedupe_key="run-1:notify:0")
    assert isinstance(first, dict) and isinstance(again, dict) and again["duplicate"] is True
    messages = read_inbox(provider.services.store)
    assert [(m.skill_id, m.text, m.thread_key) for m in messages] == [
        ("health-check", "checkout degraded", "inc-1")
    ]


def test_no_llm_configured_is_the_catchable_llm_unavailable(
    provider: PlatformCapabilityProvider,
) -> None:
    llm = provider.backends("health-check", GRANTS, "run-1").llm
    assert llm is not None
    with pytest.raises(facade_errors.LLMUnavailable, match="LOOPWRIGHT_LLM_BASE_URL"):
        llm.classify("p95 1.2s", labels=["normal", "critical"], instructions=None, budget_usd=0.01)


def test_ungranted_channel_is_a_violation_not_a_catchable_error(
    provider: PlatformCapabilityProvider,
) -> None:
    notify = provider.backends("health-check", GRANTS, "run-1").notify
    assert notify is not None
    with pytest.raises(facade_errors.CapabilityDenied):
        notify.post("slack", "hello", thread=None, dedupe_key="k")


def test_host_metrics_come_back_as_json(provider: PlatformCapabilityProvider) -> None:
    metrics = provider.backends("health-check", GRANTS, "run-1").metrics
    assert metrics is not None
    host = metrics.host()
    assert isinstance(host, dict) and 0 <= host["cpu_percent"] <= 100


def test_an_oversized_post_is_refused_naming_the_limit_and_never_retried(
    provider: PlatformCapabilityProvider,
) -> None:
    notify = provider.backends("health-check", GRANTS, "run-1").notify
    assert notify is not None
    text = "x" * (3 * 1000 * 1000)
    with pytest.raises(facade_errors.CapabilityRefused) as caught:
        notify.post("inbox", text, thread=None, dedupe_key="run-1:notify:0")
    assert str(caught.value) == (
        "notify text is 2.9 MB; the limit is 40,000 characters "
        "(post a summary, or split it into several posts)"
    )
    assert read_inbox(provider.services.store) == []  # nothing was posted
    # Skills that fall back on CapabilityError still catch it; the run is not retried for it.
    assert isinstance(caught.value, facade_errors.CapabilityError)
    failure = describe_failure(caught.value, "skill.py")
    assert failure["kind"] == "non_retriable" and "2.9 MB" in failure["message"]
