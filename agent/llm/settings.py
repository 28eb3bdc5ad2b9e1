"""Where each role's model lives: endpoint, key and model name, primary and fallback.

Roles: ``agent`` writes skills, ``critic`` reviews them (a different model by default),
``classifier`` does the cheap work (compaction summaries). Built once by ``agent.config``.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

Role = Literal["agent", "critic", "classifier"]
ROLES: tuple[Role, ...] = ("agent", "critic", "classifier")


@dataclasses.dataclass(frozen=True)
class Endpoint:
    """One OpenAI-compatible endpoint and the model to ask there."""

    base_url: str
    model: str
    api_key: str = dataclasses.field(default="", repr=False)

    def describe(self) -> str:
        return f"{self.model} @ {self.base_url}"


@dataclasses.dataclass(frozen=True)
class RoleSettings:
    """A role's primary endpoint, the fallback tried when it fails, and what is missing."""

    role: Role
    primary: Endpoint | None
    fallback: Endpoint | None = None
    #: Variables to set when ``primary`` is None, in the order a person would set them.
    missing: tuple[str, ...] = ()

    @property
    def configured(self) -> bool:
        return self.primary is not None

    def models(self) -> tuple[str, ...]:
        return tuple(e.model for e in (self.primary, self.fallback) if e is not None)


@dataclasses.dataclass(frozen=True)
class ClientSettings:
    """How the ``openai`` client behaves for every role."""

    timeout_s: float = 120.0
    #: The client's own retries (connection errors, 408/409/429/5xx) before the fallback.
    max_retries: int = 2
    temperature: float | None = 0.2
    max_output_tokens: int = 2048
    seed: int | None = None
