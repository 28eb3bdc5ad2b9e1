"""The agent's configuration: read once from the environment, validated, frozen.

``AgentSettings.from_env()`` is the only place that reads ``LOOPWRIGHT_*`` variables; the
result is passed down. A malformed value raises ``ConfigError`` naming the variable; a
missing LLM is not an error (the platform keeps running) but ``RoleSettings.missing`` lists
exactly what to set. Every variable is listed in ``agent/README.md``.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

from agent.errors import ConfigError
from agent.llm.settings import ClientSettings, Endpoint, Role, RoleSettings
from agent.loop.budget import BudgetLimits
from agent.loop.compaction import CompactionPolicy
from agent.loop.pricing import PriceTable
from loopwright.store import STORE_URL_ENV, store_url
from skills_core.capabilities import llm_variables as llm_vars

REPO_ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class LoopSettings:
    """The knobs of the ReAct loop's guards."""

    max_iterations: int = 40
    max_repairs: int = 2
    max_stale: int = 3
    critic_enabled: bool = True
    critic_bar: float = 0.7
    critic_revisions: int = 1
    compaction: CompactionPolicy = dataclasses.field(default_factory=CompactionPolicy)


@dataclasses.dataclass(frozen=True)
class ServiceSettings:
    """Where the agent lives and what it talks to."""

    #: Anchor of the platform store when no URL is set (``platform.db`` beside it), which
    #: holds the agent's conversations (``agent/tables.py``) and the run ledger.
    db_path: Path = Path("var/agent.db")
    host: str = "127.0.0.1"
    port: int = 8289
    #: How the engine and the CLI reach this app.
    public_url: str = "http://127.0.0.1:8289"
    app_id: str = "loopwright-agent"
    engine_url: str = "http://127.0.0.1:8288"
    sidecar_url: str = "http://127.0.0.1:8290"
    skills_dir: Path = REPO_ROOT / "skills_generated"
    skills_doc: Path = REPO_ROOT / "docs" / "SKILLS.md"
    event_key: str = dataclasses.field(default="", repr=False)
    signing_key: str = dataclasses.field(default="", repr=False)
    review_command: str = "loopwright skills approve {id} --version {version}"
    #: Engine-level retries of a failed turn step (a model or the process being down).
    turn_retries: int = 3
    #: The platform store (run ledger): a SQLAlchemy URL; empty: ``platform.db`` beside db_path.
    store_url: str = ""

    @property
    def store(self) -> str:
        return store_url(self.store_url or self.db_path.parent / "platform.db")


@dataclasses.dataclass(frozen=True)
class AgentSettings:
    roles: Mapping[Role, RoleSettings]
    client: ClientSettings = dataclasses.field(default_factory=ClientSettings)
    budget: BudgetLimits = dataclasses.field(default_factory=BudgetLimits)
    prices: PriceTable = dataclasses.field(default_factory=PriceTable.load)
    loop: LoopSettings = dataclasses.field(default_factory=LoopSettings)
    service: ServiceSettings = dataclasses.field(default_factory=ServiceSettings)

    @property
    def llm_configured(self) -> bool:
        return self.roles["agent"].configured

    def setup_hint(self) -> str:
        """Exactly what to set so the agent can answer (when it cannot)."""
        missing = self.roles["agent"].missing
        lines = ["The agent has no LLM configured. Set:"]
        lines += [f"  {name}" for name in missing]
        lines += [
            "Any OpenAI-compatible endpoint works (the base URL usually ends in /v1); "
            "LOOPWRIGHT_LLM_API_KEY is needed only when the endpoint asks for a key.",
            "Optional: LOOPWRIGHT_LLM_FALLBACK_MODEL (tried when the first model fails), "
            "LOOPWRIGHT_LLM_CRITIC_MODEL (the reviewer; a different model is best); "
            "LOOPWRIGHT_LLM_<ROLE>_* overrides one role (docs/configuration.md).",
            "Then restart the agent. The rest of the platform keeps running meanwhile.",
        ]
        return "\n".join(lines)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AgentSettings:
        env = _Env(llm_vars.with_current_names(os.environ if environ is None else environ))
        return cls(
            roles=_roles(env),
            client=ClientSettings(
                timeout_s=env.number("LOOPWRIGHT_LLM_TIMEOUT_S", float, 120.0, minimum=1),
                max_retries=env.number("LOOPWRIGHT_LLM_MAX_RETRIES", int, 2, minimum=0),
                temperature=env.optional_number("LOOPWRIGHT_LLM_TEMPERATURE", 0.2),
                max_output_tokens=env.number(
                    "LOOPWRIGHT_LLM_MAX_OUTPUT_TOKENS", int, 2048, minimum=16
                ),
                seed=env.optional_int("LOOPWRIGHT_LLM_SEED"),
            ),
            budget=BudgetLimits(
                per_turn_usd=env.limit("LOOPWRIGHT_BUDGET_TURN_USD", 0.5),
                per_conversation_usd=env.limit("LOOPWRIGHT_BUDGET_CONVERSATION_USD", 5.0),
                per_day_usd=env.limit("LOOPWRIGHT_BUDGET_DAY_USD", 20.0),
            ),
            prices=_prices(env),
            loop=LoopSettings(
                max_iterations=env.number("LOOPWRIGHT_AGENT_MAX_ITERATIONS", int, 40, minimum=1),
                max_repairs=env.number("LOOPWRIGHT_AGENT_MAX_REPAIRS", int, 2, minimum=0),
                max_stale=env.number("LOOPWRIGHT_LOOP_MAX_STALE", int, 3, minimum=1),
                critic_enabled=env.flag("LOOPWRIGHT_CRITIC_ENABLED", True),
                critic_bar=env.number("LOOPWRIGHT_CRITIC_BAR", float, 0.7, minimum=0),
                critic_revisions=env.number("LOOPWRIGHT_CRITIC_REVISIONS", int, 1, minimum=0),
                compaction=CompactionPolicy(
                    after_steps=env.number("LOOPWRIGHT_COMPACT_AFTER_STEPS", int, 30, minimum=2),
                    at_tokens=env.number("LOOPWRIGHT_COMPACT_AT_TOKENS", int, 8000, minimum=500),
                    keep_recent=env.number("LOOPWRIGHT_COMPACT_KEEP_RECENT", int, 4, minimum=1),
                    prompt_budget_tokens=env.number(
                        "LOOPWRIGHT_PROMPT_BUDGET_TOKENS", int, 16000, minimum=1000
                    ),
                ),
            ),
            service=_service(env),
        )


class _Env:
    """Typed reads that name the variable when a value is unusable."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ

    def text(self, name: str, default: str = "") -> str:
        return self.environ.get(name, "").strip() or default

    def number(
        self, name: str, kind: Callable[[str], T], default: T, *, minimum: float | None = None
    ) -> T:
        raw = self.text(name)
        if not raw:
            return default
        try:
            value = kind(raw)
        except ValueError:
            raise ConfigError(f"{name} must be a number, got {raw!r}") from None
        if minimum is not None and float(value) < minimum:  # type: ignore[arg-type]
            raise ConfigError(f"{name} must be at least {minimum}, got {raw!r}")
        return value

    def optional_number(self, name: str, default: float | None) -> float | None:
        raw = self.text(name)
        if raw.lower() in ("none", "default"):
            return None
        return self.number(name, float, default) if raw else default

    def optional_int(self, name: str) -> int | None:
        raw = self.text(name)
        return self.number(name, int, 0) if raw else None

    def limit(self, name: str, default: float) -> float | None:
        """A dollar limit; ``off`` or ``none`` removes it."""
        raw = self.text(name)
        if raw.lower() in ("off", "none", "unlimited"):
            return None
        return self.number(name, float, default, minimum=0)

    def flag(self, name: str, default: bool) -> bool:
        raw = self.text(name).lower()
        if not raw:
            return default
        if raw in ("1", "true", "yes", "on"):
            return True
        if raw in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{name} must be 1/0, true/false, yes/no or on/off, got {raw!r}")

    def url(self, name: str, default: str) -> str:
        value = self.text(name, default).rstrip("/")
        if value and not value.startswith(("http://", "https://")):
            raise ConfigError(f"{name} must be an http(s) URL, got {value!r}")
        return value


def _roles(env: _Env) -> dict[Role, RoleSettings]:
    # One family for every role (skills_core.capabilities.llm_variables): LOOPWRIGHT_LLM_*
    # for all, LOOPWRIGHT_LLM_<ROLE>_* for one; the older names still work.
    agent_base = env.url(llm_vars.name("BASE_URL", "agent"), env.url(llm_vars.name("BASE_URL"), ""))
    agent_model = llm_vars.lookup(env.environ, "MODEL", "agent")
    agent_fallback = llm_vars.lookup(env.environ, "FALLBACK_MODEL", "agent")
    # The critic defaults to a different model than the generator: the agent's fallback.
    defaults: dict[Role, str] = {
        "agent": agent_model,
        "critic": agent_fallback or agent_model,
        "classifier": agent_model,
    }
    roles: dict[Role, RoleSettings] = {}
    for role, default_model in defaults.items():
        base = env.url(llm_vars.name("BASE_URL", role), agent_base)
        key = env.text(llm_vars.name("API_KEY", role))
        if not key and base == agent_base:  # another endpoint does not inherit the key
            key = llm_vars.lookup(env.environ, "API_KEY", "agent")
        model = env.text(llm_vars.name("MODEL", role), default_model)
        missing = tuple(
            llm_vars.name(field)
            for field, value in (("BASE_URL", base), ("MODEL", model))
            if not value
        )
        fallback = (
            agent_fallback if role == "agent" else env.text(llm_vars.name("FALLBACK_MODEL", role))
        )
        roles[role] = _role(env, role, base, key, model, fallback, missing)
    return roles


def _role(
    env: _Env,
    role: Role,
    base: str,
    key: str,
    model: str,
    fallback_model: str,
    missing: tuple[str, ...],
) -> RoleSettings:
    if missing:
        return RoleSettings(role=role, primary=None, missing=missing)
    fallback = None
    if fallback_model:
        fallback_base = env.url(llm_vars.name("FALLBACK_BASE_URL", role), base)
        fallback_key = env.text(llm_vars.name("FALLBACK_API_KEY", role), key)
        fallback = Endpoint(fallback_base, fallback_model, fallback_key)
    return RoleSettings(role=role, primary=Endpoint(base, model, key), fallback=fallback)


def _prices(env: _Env) -> PriceTable:
    table = PriceTable.load()
    path = env.text("LOOPWRIGHT_PRICE_TABLE")
    if not path:
        return table
    try:
        extra = json.loads(Path(path).read_text(encoding="utf-8"))
        return table.merged(extra)
    except (OSError, ValueError) as err:
        raise ConfigError(f"LOOPWRIGHT_PRICE_TABLE ({path}): {err}") from None


def _service(env: _Env) -> ServiceSettings:
    port = env.number("LOOPWRIGHT_AGENT_PORT", int, 8289, minimum=1)
    host = env.text("LOOPWRIGHT_AGENT_HOST", "127.0.0.1")
    inngest_dev = env.text("INNGEST_DEV")
    engine_default = env.text("INNGEST_BASE_URL") or (
        inngest_dev if inngest_dev.startswith("http") else "http://127.0.0.1:8288"
    )
    return ServiceSettings(
        db_path=Path(env.text("LOOPWRIGHT_AGENT_DB", "var/agent.db")),
        host=host,
        port=port,
        public_url=env.url("LOOPWRIGHT_AGENT_URL", f"http://{host}:{port}"),
        app_id=env.text("LOOPWRIGHT_AGENT_APP_ID", "loopwright-agent"),
        engine_url=env.url("LOOPWRIGHT_ENGINE_URL", engine_default),
        sidecar_url=env.url("LOOPWRIGHT_SIDECAR_URL", "http://127.0.0.1:8290"),
        skills_dir=Path(env.text("LOOPWRIGHT_SKILLS_DIR", str(REPO_ROOT / "skills_generated"))),
        skills_doc=Path(env.text("LOOPWRIGHT_SKILLS_DOC", str(REPO_ROOT / "docs" / "SKILLS.md"))),
        event_key=env.text("INNGEST_EVENT_KEY"),
        signing_key=env.text("INNGEST_SIGNING_KEY"),
        review_command=env.text(
            "LOOPWRIGHT_REVIEW_COMMAND", "loopwright skills approve {id} --version {version}"
        ),
        turn_retries=env.number("LOOPWRIGHT_AGENT_TURN_RETRIES", int, 3, minimum=0),
        store_url=env.text(STORE_URL_ENV),
    )
