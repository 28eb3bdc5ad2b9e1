"""One ``ChatModel`` per role, built once from the frozen settings."""

from __future__ import annotations

import dataclasses

from agent.errors import LLMNotConfigured

from .client import ChatModel, FallbackChatModel, OpenAIChatModel
from .settings import ClientSettings, Role, RoleSettings


def build_model(role: RoleSettings, client: ClientSettings) -> ChatModel | None:
    if role.primary is None:
        return None
    primary = OpenAIChatModel(role.primary, client)
    if role.fallback is None:
        return primary
    return FallbackChatModel(primary, OpenAIChatModel(role.fallback, client))


@dataclasses.dataclass(frozen=True)
class ModelRoles:
    """The agent's models; a role without configuration is None and says what to set."""

    agent: ChatModel | None
    critic: ChatModel | None
    classifier: ChatModel | None
    settings: dict[Role, RoleSettings] = dataclasses.field(default_factory=dict)

    @classmethod
    def build(cls, roles: dict[Role, RoleSettings], client: ClientSettings) -> ModelRoles:
        return cls(
            agent=build_model(roles["agent"], client),
            critic=build_model(roles["critic"], client),
            classifier=build_model(roles["classifier"], client),
            settings=dict(roles),
        )

    def require(self, role: Role) -> ChatModel:
        model: ChatModel | None = getattr(self, role)
        if model is None:
            missing = self.settings[role].missing if role in self.settings else ()
            raise LLMNotConfigured(
                f"no LLM configured for the {role} role; set " + ", ".join(missing)
            )
        return model
