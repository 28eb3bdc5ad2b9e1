"""The public surface of skills_core.capabilities, pinned; and building it all at once."""

from __future__ import annotations

from pathlib import Path

import skills_core.capabilities as capabilities
from skills_core.capabilities import CapabilityServices, Grant

from .factories import make_settings

EXPORTED = {
    "CapabilityDenied",
    "CapabilityError",
    "CapabilityNotConfigured",
    "CapabilityServices",
    "CapabilitySettings",
    "CapabilityStore",
    "Classification",
    "ClassifyRequest",
    "CompleteRequest",
    "Completion",
    "Deploy",
    "DeployEvent",
    "DeploysService",
    "DeploysUnavailable",
    "FetchService",
    "Grant",
    "HostResources",
    "HttpFailed",
    "HttpResponse",
    "HttpTooLarge",
    "InboxMessage",
    "LLMBudget",
    "LLMBudgetExceeded",
    "LLMError",
    "LLMService",
    "LLMTimeout",
    "LLMUnavailable",
    "MetricsError",
    "MetricsQueryInvalid",
    "MetricsService",
    "MetricsUnavailable",
    "NotifyDeliveryUnknown",
    "NotifyFailed",
    "NotifyService",
    "PostRequest",
    "PostResult",
    "Sample",
    "Series",
    "SettingsError",
    "Usage",
    "read_inbox",
}


def test_exported_names_are_pinned() -> None:
    assert set(capabilities.__all__) == EXPORTED
    assert all(hasattr(capabilities, name) for name in EXPORTED)


def test_services_build_from_settings_and_close(tmp_path: Path) -> None:
    with CapabilityServices.build(make_settings(tmp_path)) as services:
        skill = Grant.from_manifest("s", {"metrics": {"sources": ["host"]}})
        assert 0 <= services.metrics.host(skill).cpu_percent <= 100
    assert (tmp_path / "capabilities.db").exists()
