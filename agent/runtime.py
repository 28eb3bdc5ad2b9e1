"""Everything a turn needs, built once from the frozen settings and passed down.

``Runtime.build`` is the composition root shared by the HTTP app and the eval harness; tests
build it with a temporary database and the scripted model server's URL in the settings.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from agent.config import REPO_ROOT, AgentSettings
from agent.durable import InlineSteps
from agent.effects import Effects
from agent.llm import ModelRoles
from agent.loop.budget import Ledger
from agent.store import AgentStore
from agent.tools import (
    EngineClient,
    MetricsTools,
    RunTools,
    SidecarClient,
    SkillGuide,
    SkillTools,
    ToolBox,
    build_toolbox,
)
from agent.turn import Turn
from loopwright.ledger import LedgerReader
from loopwright.store import Store, open_store


@dataclasses.dataclass
class Runtime:
    settings: AgentSettings
    store: AgentStore
    models: ModelRoles
    toolbox: ToolBox
    effects: Effects
    sidecar: SidecarClient
    engine: EngineClient
    #: The platform store: the run ledger this app writes and the skill_runs tool reads.
    platform: Store

    @classmethod
    def build(
        cls, settings: AgentSettings, *, models: ModelRoles | None = None, offline: bool = False
    ) -> Runtime:
        """``offline``: skills are validated locally, never registered; no events are sent."""
        service = settings.service
        platform = open_store(service.store)
        store = AgentStore(platform)  # conversations live on the platform store too
        models = models or ModelRoles.build(dict(settings.roles), settings.client)
        sidecar = SidecarClient(service.sidecar_url, timeout_s=60.0)
        engine = EngineClient(
            service.engine_url, event_key=service.event_key, signing_key=service.signing_key
        )
        toolbox = build_toolbox(
            guide=SkillGuide(
                service.skills_doc, extra_examples=(REPO_ROOT / "skills_core" / "skills",)
            ),
            skills=SkillTools(
                None if offline else sidecar, store, service.skills_dir, service.review_command
            ),
            metrics=MetricsTools(),
            runs=RunTools(None if offline else engine, LedgerReader(platform)),
        )
        ledger = Ledger(store, settings.prices, settings.budget)
        effects = Effects(settings, store, models, toolbox, ledger)
        return cls(settings, store, models, toolbox, effects, sidecar, engine, platform)

    def run_inline(
        self,
        text: str,
        conversation_id: str | None = None,
        on_send: Callable[[str, dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        """One turn, now, in this process, without the engine (eval, tests, no-LLM answers)."""
        cid = conversation_id or self.store.create_conversation(text)
        queued = self.store.add_turn(cid, text)
        turn = Turn(InlineSteps(on_send=on_send), self.effects, cid, queued["turn_id"])
        return turn.run()

    def close(self) -> None:
        self.sidecar.close()
        self.engine.close()
        self.store.close()
        self.platform.close()
