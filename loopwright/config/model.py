"""``loopwright.toml``: every setting of the platform in one file, validated once.

Precedence, highest first: environment variables (each key has exactly one, listed in
docs/configuration.md), the file (``$LOOPWRIGHT_CONFIG``, else ``./loopwright.toml``), the
defaults. Unknown keys are refused with their name, so a typo never goes unnoticed.
"""

from __future__ import annotations

import contextvars
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import pydantic
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEFAULT_FILE = Path("loopwright.toml")
PATH_VARIABLE = "LOOPWRIGHT_CONFIG"


class ConfigError(ValueError):
    """The file or a variable is unusable; the message names the key and the variable."""


def setting(default: Any, env: str, doc: str) -> Any:
    return pydantic.Field(default=default, description=doc, json_schema_extra={"env": env})


class _Section(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")


class EngineSection(_Section):
    kind: Literal["embedded", "inngest"] | None = setting(
        None,
        "LOOPWRIGHT_ENGINE_KIND",
        "`embedded` (Loopwright's engine) or `inngest` (self-hosted or Cloud); unset: decided "
        "from the URLs and keys below",
    )
    url: str | None = setting(
        None, "LOOPWRIGHT_ENGINE_URL", "The embedded engine's URL (default http://127.0.0.1:8288)"
    )
    inngest_url: str | None = setting(
        None,
        "INNGEST_BASE_URL",
        "Real Inngest's URL (self-hosted); unset with a signing key: Cloud",
    )
    signing_key: pydantic.SecretStr | None = setting(
        None, "INNGEST_SIGNING_KEY", "Signing key: signed mode (engine, apps and clients)"
    )
    event_key: pydantic.SecretStr | None = setting(
        None, "INNGEST_EVENT_KEY", "Event key used to send events (and the only one `up` accepts)"
    )


class LLMRole(_Section):
    base_url: str | None = setting(None, "LOOPWRIGHT_LLM_{ROLE}_BASE_URL", "Endpoint for this role")
    api_key: pydantic.SecretStr | None = setting(None, "LOOPWRIGHT_LLM_{ROLE}_API_KEY", "Its key")
    model: str | None = setting(None, "LOOPWRIGHT_LLM_{ROLE}_MODEL", "Model for this role")
    fallback_model: str | None = setting(
        None, "LOOPWRIGHT_LLM_{ROLE}_FALLBACK_MODEL", "Tried when the first model fails"
    )
    fallback_base_url: str | None = setting(
        None,
        "LOOPWRIGHT_LLM_{ROLE}_FALLBACK_BASE_URL",
        "The fallback's endpoint (default: base_url)",
    )
    fallback_api_key: pydantic.SecretStr | None = setting(
        None, "LOOPWRIGHT_LLM_{ROLE}_FALLBACK_API_KEY", "The fallback's key (default: api_key)"
    )


class LLMSection(_Section):
    base_url: str | None = setting(
        None, "LOOPWRIGHT_LLM_BASE_URL", "OpenAI-compatible endpoint for every role (…/v1)"
    )
    api_key: pydantic.SecretStr | None = setting(
        None, "LOOPWRIGHT_LLM_API_KEY", "Its key (any non-empty string for keyless local servers)"
    )
    model: str | None = setting(None, "LOOPWRIGHT_LLM_MODEL", "Model for every role")
    fallback_model: str | None = setting(
        None, "LOOPWRIGHT_LLM_FALLBACK_MODEL", "Tried when a role's model fails"
    )
    agent: LLMRole = LLMRole()
    critic: LLMRole = LLMRole()
    classifier: LLMRole = LLMRole()
    skills: LLMRole = LLMRole()


class MetricsSection(_Section):
    prometheus_url: str | None = setting(
        None, "LOOPWRIGHT_PROMETHEUS_URL", "Your Prometheus (metrics source `prometheus`)"
    )


class DeploysSection(_Section):
    log: Path | None = setting(
        None, "LOOPWRIGHT_DEPLOY_LOG", "JSON-lines deploy log (source `log`)"
    )
    git_repo: Path | None = setting(
        None, "LOOPWRIGHT_DEPLOY_GIT_REPO", "Repository whose history is deploys (source `git`)"
    )
    git_service: str | None = setting(
        None, "LOOPWRIGHT_DEPLOY_GIT_SERVICE", "The service that repository deploys"
    )


class SlackSection(_Section):
    bot_token: pydantic.SecretStr | None = setting(
        None, "LOOPWRIGHT_SLACK_BOT_TOKEN", "Bot token: posts with threads (needs `channel`)"
    )
    channel: str | None = setting(None, "LOOPWRIGHT_SLACK_CHANNEL", "Channel id, e.g. C0123456789")
    webhook_url: pydantic.SecretStr | None = setting(
        None, "LOOPWRIGHT_SLACK_WEBHOOK_URL", "Incoming webhook (no threads); the token wins"
    )
    api_url: str | None = setting(
        None, "LOOPWRIGHT_SLACK_API_URL", "Web API base (default https://slack.com/api/)"
    )


class ServicesSection(_Section):
    watch: list[str] = setting(
        [],
        "LOOPWRIGHT_WATCH_SERVICES",
        "Services the health check watches (comma-separated in the variable); empty: all",
    )
    label: str = setting(
        "service", "LOOPWRIGHT_SERVICE_LABEL", "The metric label that names the service"
    )


class SignalsSection(_Section):
    """The health check's signals in your metric names (or PromQL), per service."""

    requests: str = setting(
        "http_requests_total", "LOOPWRIGHT_SIGNAL_REQUESTS", "Counter of requests"
    )
    errors: str = setting(
        'status=~"5.."',
        "LOOPWRIGHT_SIGNAL_ERRORS",
        "Label matcher that marks failed requests among `requests`",
    )
    latency_histogram: str = setting(
        "http_request_duration_seconds",
        "LOOPWRIGHT_SIGNAL_LATENCY_HISTOGRAM",
        "Histogram of request durations in seconds (its `_bucket` series)",
    )
    cpu: str = setting(
        "service_cpu_utilization_ratio",
        "LOOPWRIGHT_SIGNAL_CPU",
        "CPU used, 0 to 1 of the limit: a metric name or PromQL",
    )
    memory: str = setting(
        "service_memory_usage_bytes / service_memory_limit_bytes",
        "LOOPWRIGHT_SIGNAL_MEMORY",
        "Memory used, 0 to 1 of the limit: a metric name or PromQL",
    )


class IncidentsSection(_Section):
    """The incidents' lifecycle (skills_core/capabilities/incidents): unset, its defaults."""

    resolve_after: int | None = setting(
        None, "LOOPWRIGHT_INCIDENT_RESOLVE_AFTER",
        "Consecutive normal checks that resolve an open incident (default 3)",
    )  # fmt: skip
    reopen_within_minutes: float | None = setting(
        None, "LOOPWRIGHT_INCIDENT_REOPEN_WITHIN_MINUTES",
        "A resolved incident that turns bad again this soon reopens (default 60)",
    )  # fmt: skip

    @pydantic.field_validator("resolve_after", "reopen_within_minutes")
    @classmethod
    def _at_least_one(cls, value: float | None) -> float | None:
        if value is not None and value < 1:
            raise ValueError("must be at least 1")
        return value


_SOURCES: contextvars.ContextVar[tuple[Mapping[str, str], Path | None]] = contextvars.ContextVar(
    "loopwright_config_sources"
)


class LoopwrightConfig(BaseSettings):
    model_config = SettingsConfigDict(frozen=True, extra="forbid")

    engine: EngineSection = EngineSection()
    llm: LLMSection = LLMSection()
    metrics: MetricsSection = MetricsSection()
    deploys: DeploysSection = DeploysSection()
    slack: SlackSection = SlackSection()
    services: ServicesSection = ServicesSection()
    signals: SignalsSection = SignalsSection()
    incidents: IncidentsSection = IncidentsSection()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        environ, path = _SOURCES.get(({}, None))
        sources: list[PydanticBaseSettingsSource] = [
            init_settings,
            _Variables(settings_cls, environ),
        ]
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)


def variables(
    model: type[pydantic.BaseModel] = LoopwrightConfig, prefix: str = ""
) -> list[tuple[str, str, FieldInfo]]:
    """Every key: (dotted key, environment variable, field), in declaration order."""
    found: list[tuple[str, str, FieldInfo]] = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
            role = name.upper() if annotation is LLMRole else ""
            for sub_key, env, sub in variables(annotation, f"{key}."):
                found.append((sub_key, env.replace("{ROLE}", role), sub))
            continue
        extra = field.json_schema_extra
        env = str(extra["env"]) if isinstance(extra, dict) else ""
        found.append((key, env, field))
    return found


class _Variables(PydanticBaseSettingsSource):
    """Each key's one environment variable (empty counts as unset)."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        super().__init__(settings_cls)
        self.environ = environ

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for key, env, field in variables():
            raw = (self.environ.get(env) or "").strip()
            if not raw:
                continue
            value: Any = (
                [s.strip() for s in raw.split(",") if s.strip()]
                if field.annotation == list[str]
                else raw
            )
            *sections, name = key.split(".")
            node = values
            for section in sections:
                node = node.setdefault(section, {})
            node[name] = value
        return values


def config_path(environ: Mapping[str, str]) -> tuple[Path | None, bool]:
    """The file to read and whether it was named explicitly (then it must exist)."""
    named = (environ.get(PATH_VARIABLE) or "").strip()
    if named:
        return Path(named), True
    return (DEFAULT_FILE if DEFAULT_FILE.is_file() else None), False


def load_config(
    path: Path | None = None, environ: Mapping[str, str] | None = None
) -> LoopwrightConfig:
    """The configuration; raises ConfigError naming the key (and its variable) at fault."""
    env = os.environ if environ is None else environ
    explicit = path is not None
    if path is None:
        path, explicit = config_path(env)
    if path is not None and explicit and not path.is_file():
        raise ConfigError(
            f"config file {path} does not exist (named by {PATH_VARIABLE} or --config)"
        )
    token = _SOURCES.set((env, path))
    try:
        return LoopwrightConfig()
    except pydantic.ValidationError as err:
        raise ConfigError(_explain(err, path)) from None
    except ValueError as err:  # TOML syntax
        raise ConfigError(f"{path}: {err}") from None
    finally:
        _SOURCES.reset(token)


def _explain(err: pydantic.ValidationError, path: Path | None) -> str:
    envs = {key: env for key, env, _ in variables()}
    lines = [f"invalid configuration ({path or 'no file'}; variables override the file):"]
    for problem in err.errors():
        key = ".".join(str(p) for p in problem["loc"])
        where = f" (or ${envs[key]})" if key in envs else ""
        message = problem["msg"]
        if problem["type"] == "extra_forbidden":
            message = "unknown key; every key is listed in docs/configuration.md"
        lines.append(f"  {key}{where}: {message}")
    return "\n".join(lines)
