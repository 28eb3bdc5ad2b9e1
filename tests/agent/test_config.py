"""Configuration: read once, validated, frozen; missing values name the variable to set."""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import pytest

from agent.config import AgentSettings
from agent.errors import ConfigError
from skills_core.capabilities import llm_variables
from skills_core.capabilities.settings import CapabilitySettings

BASE = {"LOOPWRIGHT_LLM_BASE_URL": "http://127.0.0.1:9/v1", "LOOPWRIGHT_LLM_MODEL": "m1"}


def test_no_llm_lists_exactly_what_to_set() -> None:
    settings = AgentSettings.from_env({})
    assert not settings.llm_configured
    assert settings.roles["agent"].missing == ("LOOPWRIGHT_LLM_BASE_URL", "LOOPWRIGHT_LLM_MODEL")
    hint = settings.setup_hint()
    assert "LOOPWRIGHT_LLM_BASE_URL" in hint and "LOOPWRIGHT_LLM_MODEL" in hint


def test_roles_default_to_the_agent_endpoint_and_the_critic_to_another_model() -> None:
    settings = AgentSettings.from_env(
        {**BASE, "LOOPWRIGHT_LLM_API_KEY": "k", "LOOPWRIGHT_LLM_FALLBACK_MODEL": "m2"}
    )
    agent = settings.roles["agent"]
    assert agent.primary is not None and agent.fallback is not None
    assert agent.fallback.model == "m2" and agent.fallback.api_key == "k"
    critic = settings.roles["critic"]
    assert critic.primary is not None and critic.primary.model == "m2"
    assert critic.primary.base_url == agent.primary.base_url
    classifier = settings.roles["classifier"]
    assert classifier.primary is not None and classifier.primary.model == "m1"


def test_a_role_on_another_endpoint_does_not_inherit_the_key() -> None:
    settings = AgentSettings.from_env(
        {
            **BASE,
            "LOOPWRIGHT_LLM_API_KEY": "secret",
            "LOOPWRIGHT_LLM_CRITIC_BASE_URL": "http://127.0.0.1:10/v1",
            "LOOPWRIGHT_LLM_CRITIC_MODEL": "c",
        }
    )
    critic = settings.roles["critic"].primary
    assert critic is not None and critic.api_key == "" and critic.model == "c"


def test_platform_llm_settings_are_the_defaults() -> None:
    settings = AgentSettings.from_env(
        {"LOOPWRIGHT_LLM_BASE_URL": "http://127.0.0.1:9/v1", "LOOPWRIGHT_LLM_MODEL": "shared"}
    )
    primary = settings.roles["agent"].primary
    assert primary is not None and primary.model == "shared"


def test_one_family_for_every_role_with_per_role_overrides() -> None:
    env = {
        **BASE,
        "LOOPWRIGHT_LLM_API_KEY": "k",
        "LOOPWRIGHT_LLM_CLASSIFIER_MODEL": "small",
        "LOOPWRIGHT_LLM_SKILLS_MODEL": "skills-model",
    }
    roles = AgentSettings.from_env(env).roles
    models = {role: r.primary.model for role, r in roles.items() if r.primary}
    assert models == {"agent": "m1", "critic": "m1", "classifier": "small"}
    capability = CapabilitySettings.from_env(env).llm
    assert capability is not None and capability.model == "skills-model"
    assert capability.model_for("classifier") == "small"
    assert capability.api_key.get_secret_value() == "k"


def test_old_names_still_work_with_one_deprecation_line(caplog: pytest.LogCaptureFixture) -> None:
    llm_variables._warned.clear()
    old = {
        "LOOPWRIGHT_AGENT_BASE_URL": "http://127.0.0.1:9/v1",
        "LOOPWRIGHT_AGENT_MODEL": "old-agent",
        "LOOPWRIGHT_CRITIC_MODEL": "old-critic",
    }
    with caplog.at_level(logging.WARNING, logger="loopwright.config"):
        roles = AgentSettings.from_env(old).roles
        AgentSettings.from_env(old)
    assert roles["agent"].primary is not None and roles["agent"].primary.model == "old-agent"
    assert roles["critic"].primary is not None and roles["critic"].primary.model == "old-critic"
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3  # once per name and process, not per read
    assert (
        "LOOPWRIGHT_AGENT_MODEL is deprecated: use LOOPWRIGHT_LLM_AGENT_MODEL (it still works for now)"
        in lines
    )
    newer = AgentSettings.from_env({**old, "LOOPWRIGHT_LLM_AGENT_MODEL": "new"}).roles["agent"]
    assert newer.primary is not None and newer.primary.model == "new"


def test_malformed_values_name_the_variable() -> None:
    with pytest.raises(ConfigError, match="LOOPWRIGHT_BUDGET_TURN_USD must be a number"):
        AgentSettings.from_env({"LOOPWRIGHT_BUDGET_TURN_USD": "lots"})
    with pytest.raises(ConfigError, match="LOOPWRIGHT_LLM_AGENT_BASE_URL must be an http"):
        AgentSettings.from_env({"LOOPWRIGHT_LLM_AGENT_BASE_URL": "ftp://x"})
    with pytest.raises(ConfigError, match="LOOPWRIGHT_CRITIC_ENABLED"):
        AgentSettings.from_env({"LOOPWRIGHT_CRITIC_ENABLED": "maybe"})


def test_budgets_can_be_removed_and_prices_extended(tmp_path: Path) -> None:
    table = tmp_path / "prices.json"
    table.write_text(json.dumps({"models": {"local": {"input": 0, "output": 0}}}))
    settings = AgentSettings.from_env(
        {"LOOPWRIGHT_BUDGET_DAY_USD": "off", "LOOPWRIGHT_PRICE_TABLE": str(table)}
    )
    assert settings.budget.per_day_usd is None
    assert settings.prices.price("local").input == 0
    assert settings.prices.price("gpt-4o-mini").input > 0


def test_settings_are_frozen() -> None:
    settings = AgentSettings.from_env({})
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.budget = settings.budget  # type: ignore[misc]
