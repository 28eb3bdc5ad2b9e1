"""Settings: read once from the environment, validated, frozen; problems name the variable."""

from __future__ import annotations

import pytest

from skills_core.capabilities import CapabilitySettings, SettingsError
from skills_core.capabilities.settings import (
    GitDeploySource,
    JsonlDeploySource,
    PrometheusSource,
    ScrapeSource,
    SlackApiChannel,
    SlackWebhookChannel,
)


def test_defaults_are_local_and_keyless() -> None:
    settings = CapabilitySettings.from_env({})
    assert set(settings.metrics) == {"host"}
    assert set(settings.deploys) == {"events"}
    assert set(settings.notify.channels) == {"inbox"}
    assert settings.llm is None and len(settings.llm_missing_env) == 3


def test_full_environment() -> None:
    env = {
        "LOOPWRIGHT_CAPABILITIES_DB": "/tmp/x.db",
        "LOOPWRIGHT_PROMETHEUS_URL": "http://prom:9090",
        "LOOPWRIGHT_METRICS_SOURCES": '{"demo": {"kind": "scrape", "targets": {"a": "http://a/metrics"}}}',
        "LOOPWRIGHT_DEPLOY_LOG": "var/deploys.jsonl",
        "LOOPWRIGHT_DEPLOY_GIT_REPO": "/srv/app",
        "LOOPWRIGHT_DEPLOY_GIT_SERVICE": "checkout",
        "LOOPWRIGHT_SLACK_BOT_TOKEN": "xoxb-1",
        "LOOPWRIGHT_SLACK_CHANNEL": "C1",
        "LOOPWRIGHT_SLACK_WEBHOOK_URL": "https://hooks.example/x",
        "LOOPWRIGHT_LLM_BASE_URL": "http://127.0.0.1:11434/v1",
        "LOOPWRIGHT_LLM_API_KEY": "ollama",
        "LOOPWRIGHT_LLM_MODEL": "big",
        "LOOPWRIGHT_LLM_MODEL_CLASSIFIER": "small",
        "LOOPWRIGHT_LLM_PRICES": '{"big": {"input": 3, "output": 15}}',
        "LOOPWRIGHT_LLM_TIMEOUT_S": "12",
    }
    settings = CapabilitySettings.from_env(env)
    assert str(settings.db_path) == "/tmp/x.db"
    assert isinstance(settings.metrics["prometheus"], PrometheusSource)
    assert isinstance(settings.metrics["demo"], ScrapeSource)
    assert isinstance(settings.deploys["log"], JsonlDeploySource)
    assert isinstance(settings.deploys["git"], GitDeploySource)
    assert isinstance(settings.notify.channels["slack"], SlackApiChannel)  # wins over webhook
    llm = settings.llm
    assert llm is not None and llm.timeout_s == 12
    assert (llm.model_for("classifier"), llm.model_for("writer")) == ("small", "big")
    assert llm.price("big").output_per_mtok == 15
    assert llm.price("unknown").input_per_mtok == 15.0  # unpriced models are priced high
    assert "xoxb-1" not in repr(settings)  # secrets stay out of logs


def test_webhook_alone_configures_slack() -> None:
    settings = CapabilitySettings.from_env({"LOOPWRIGHT_SLACK_WEBHOOK_URL": "https://h/x"})
    assert isinstance(settings.notify.channels["slack"], SlackWebhookChannel)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"LOOPWRIGHT_SLACK_BOT_TOKEN": "xoxb"}, "LOOPWRIGHT_SLACK_CHANNEL"),
        ({"LOOPWRIGHT_DEPLOY_GIT_REPO": "/r"}, "LOOPWRIGHT_DEPLOY_GIT_SERVICE"),
        ({"LOOPWRIGHT_METRICS_SOURCES": "{nope"}, "LOOPWRIGHT_METRICS_SOURCES"),
        ({"LOOPWRIGHT_METRICS_SOURCES": "[]"}, "LOOPWRIGHT_METRICS_SOURCES"),
        (
            {
                "LOOPWRIGHT_LLM_BASE_URL": "u",
                "LOOPWRIGHT_LLM_API_KEY": "k",
                "LOOPWRIGHT_LLM_MODEL": "m",
                "LOOPWRIGHT_LLM_PRICES": '{"m": 3}',
            },
            "LOOPWRIGHT_LLM_PRICES",
        ),
    ],
)
def test_problems_name_the_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        CapabilitySettings.from_env(env)


def test_bad_source_shape_is_a_settings_error() -> None:
    with pytest.raises(SettingsError, match="invalid capability settings"):
        CapabilitySettings.from_env({"LOOPWRIGHT_METRICS_SOURCES": '{"x": {"kind": "nope"}}'})


def test_settings_are_frozen() -> None:
    settings = CapabilitySettings.from_env({})
    with pytest.raises(ValueError, match="frozen"):
        settings.db_path = "elsewhere"  # type: ignore[assignment]
