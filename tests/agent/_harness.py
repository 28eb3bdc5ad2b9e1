"""Build an agent runtime for a test: temporary store, scripted models, optional sidecar."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from agent.config import AgentSettings
from agent.llm import ModelRoles
from agent.runtime import Runtime
from agent.testing.models import ScriptedModel
from agent.testing.script import AGENT_MODEL, CLASSIFIER_MODEL, CRITIC_MODEL, Script


def dead_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def settings_for(
    tmp_path: Path, *, base_url: str = "http://127.0.0.1:9/v1", llm: bool = True, **env: str
) -> AgentSettings:
    values = {
        "LOOPWRIGHT_AGENT_DB": str(tmp_path / "agent.db"),
        "LOOPWRIGHT_SKILLS_DIR": str(tmp_path / "skills"),
        "LOOPWRIGHT_SIDECAR_URL": dead_url(),
        "LOOPWRIGHT_ENGINE_URL": dead_url(),
        "LOOPWRIGHT_CRITIC_MODEL": CRITIC_MODEL,
        "LOOPWRIGHT_CLASSIFIER_MODEL": CLASSIFIER_MODEL,
        "LOOPWRIGHT_LLM_MAX_RETRIES": "0",
    }
    if llm:
        values |= {"LOOPWRIGHT_AGENT_BASE_URL": base_url, "LOOPWRIGHT_AGENT_MODEL": AGENT_MODEL}
    return AgentSettings.from_env(values | env)


class Models:
    """The scripted models of one test, by role."""

    def __init__(self, script: Script, fail: tuple[str, ...] = ()) -> None:
        self.agent = ScriptedModel(script, AGENT_MODEL, fail="agent" in fail)
        self.critic = ScriptedModel(script, CRITIC_MODEL, fail="critic" in fail)
        self.classifier = ScriptedModel(script, CLASSIFIER_MODEL, fail="classifier" in fail)

    def roles(self, settings: AgentSettings) -> ModelRoles:
        return ModelRoles(
            agent=self.agent if settings.llm_configured else None,
            critic=self.critic,
            classifier=self.classifier,
            settings=dict(settings.roles),
        )


def runtime_for(
    tmp_path: Path,
    script: Script,
    *,
    fail: tuple[str, ...] = (),
    llm: bool = True,
    **env: Any,
) -> tuple[Runtime, Models]:
    settings = settings_for(tmp_path, llm=llm, **env)
    models = Models(script, fail)
    return Runtime.build(settings, models=models.roles(settings)), models


def critic_json(score: float, note: str = "fine") -> str:
    keys = ("meets_requirement", "deterministic", "safe", "llm_fallback", "schedule_cost")
    scores = ", ".join(f'"{k}": {score}' for k in keys)
    return f'{{"scores": {{{scores}}}, "notes": ["{note}"]}}'
