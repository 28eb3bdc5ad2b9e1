"""Capability settings: read once (``CapabilitySettings.from_env``), validated, frozen.

Every outside system a capability talks to is named here, so one object passed down decides
where metrics, deploys, messages and model calls go. Secrets (Slack token, LLM key) live only
in this object on the platform side; skill workers never see them.

Environment variables (all optional; the defaults give a working local setup):

=================================  ========================================================
``LOOPWRIGHT_CAPABILITIES_DB``     store for inbox, dedupe, threads, hints, deploy events,
                                   LLM ledger: a SQLite path or a store URL such as
                                   ``postgresql+psycopg://...`` (default ``var/capabilities.db``)
``LOOPWRIGHT_METRICS_SOURCES``     JSON ``{name: {"kind": "prometheus"|"scrape"|"host",...}}``
``LOOPWRIGHT_PROMETHEUS_URL``      shortcut: source ``prometheus`` at this URL
``LOOPWRIGHT_DEPLOY_LOG``          JSONL deploy log: source ``log``
``LOOPWRIGHT_DEPLOY_GIT_REPO``     git repository whose first-parent history is deploys:
``LOOPWRIGHT_DEPLOY_GIT_SERVICE``  source ``git``, attributed to this service
``LOOPWRIGHT_SLACK_WEBHOOK_URL``   channel ``slack`` through an incoming webhook
``LOOPWRIGHT_SLACK_BOT_TOKEN``     channel ``slack`` through ``chat.postMessage`` (threads);
``LOOPWRIGHT_SLACK_CHANNEL``       needs the channel id; wins over the webhook
``LOOPWRIGHT_SLACK_API_URL``       Web API base (default ``https://slack.com/api``)
``LOOPWRIGHT_LLM_BASE_URL``        OpenAI-compatible endpoint, e.g. ``http://127.0.0.1:11434/v1``
``LOOPWRIGHT_LLM_API_KEY``         its key (any non-empty string for keyless local servers)
``LOOPWRIGHT_LLM_MODEL``           default model
``LOOPWRIGHT_LLM_SKILLS_*``        the skills' own endpoint/key/model (over the three above)
``LOOPWRIGHT_LLM_CLASSIFIER_MODEL`` model of ``classify`` calls (``LOOPWRIGHT_LLM_MODEL_<ROLE>``
                                   for other capability roles, e.g. ``_WRITER``)
``LOOPWRIGHT_LLM_PRICES``          JSON ``{model: {"input": usd_per_1M, "output": usd_per_1M}}``
``LOOPWRIGHT_LLM_TIMEOUT_S``       per-request timeout (default 30)
=================================  ========================================================
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, Self

import pydantic

from . import llm_variables as llm_vars

LLM_FIELDS = ("BASE_URL", "API_KEY", "MODEL")
LLM_ENV = ("LOOPWRIGHT_LLM_BASE_URL", "LOOPWRIGHT_LLM_API_KEY", "LOOPWRIGHT_LLM_MODEL")
#: Price used for a model missing from the price table: deliberately high, so an unpriced
#: model exhausts budgets early instead of spending silently.
UNKNOWN_MODEL_PRICE = (15.0, 60.0)


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable to fix."""


class _Frozen(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")


# --- metrics -----------------------------------------------------------------------------


class PrometheusSource(_Frozen):
    kind: Literal["prometheus"] = "prometheus"
    url: str
    timeout_s: float = pydantic.Field(default=10.0, gt=0)
    headers: dict[str, str] = {}


class ScrapeSource(_Frozen):
    kind: Literal["scrape"] = "scrape"
    #: Target name (becomes the ``instance`` label) → exposition URL.
    targets: dict[str, str] = pydantic.Field(min_length=1)
    timeout_s: float = pydantic.Field(default=5.0, gt=0)


class HostSource(_Frozen):
    kind: Literal["host"] = "host"
    disk_path: str = "/"


MetricsSource = Annotated[
    PrometheusSource | ScrapeSource | HostSource, pydantic.Field(discriminator="kind")
]

# --- deploys -----------------------------------------------------------------------------


class JsonlDeploySource(_Frozen):
    kind: Literal["jsonl"] = "jsonl"
    path: Path


class GitDeploySource(_Frozen):
    kind: Literal["git"] = "git"
    repo: Path
    service: str
    ref: str = "HEAD"


class EventDeploySource(_Frozen):
    """Deploys posted to the platform as ``deploy/created`` events (stored in SQLite)."""

    kind: Literal["events"] = "events"


DeploySource = Annotated[
    JsonlDeploySource | GitDeploySource | EventDeploySource, pydantic.Field(discriminator="kind")
]

# --- notify ------------------------------------------------------------------------------


class InboxChannel(_Frozen):
    kind: Literal["inbox"] = "inbox"


class SlackWebhookChannel(_Frozen):
    kind: Literal["slack-webhook"] = "slack-webhook"
    url: pydantic.SecretStr
    timeout_s: float = pydantic.Field(default=10.0, gt=0)


class SlackApiChannel(_Frozen):
    kind: Literal["slack-api"] = "slack-api"
    token: pydantic.SecretStr
    channel: str = pydantic.Field(min_length=1)
    api_url: str = "https://slack.com/api"
    timeout_s: float = pydantic.Field(default=10.0, gt=0)


NotifyChannel = Annotated[
    InboxChannel | SlackWebhookChannel | SlackApiChannel, pydantic.Field(discriminator="kind")
]


class NotifySettings(_Frozen):
    channels: dict[str, NotifyChannel] = {"inbox": InboxChannel()}
    #: A granted channel this platform has not configured posts here instead (None: refuse).
    #: This is what makes the inbox "the default when Slack is not configured".
    fallback_channel: str | None = "inbox"
    #: How long a claimed-but-unrecorded post blocks a retry before it is reconciled.
    claim_lease_s: float = pydantic.Field(default=30.0, ge=0)


# --- llm ---------------------------------------------------------------------------------


class ModelPrice(_Frozen):
    input_per_mtok: float = pydantic.Field(ge=0)
    output_per_mtok: float = pydantic.Field(ge=0)


class LLMSettings(_Frozen):
    base_url: str
    api_key: pydantic.SecretStr
    model: str
    role_models: dict[str, str] = {}
    prices: dict[str, ModelPrice] = {}
    timeout_s: float = pydantic.Field(default=30.0, gt=0)
    #: A reservation older than this is treated as abandoned (its caller crashed).
    reservation_ttl_s: float = pydantic.Field(default=600.0, gt=0)

    def model_for(self, role: str) -> str:
        return self.role_models.get(role, self.model)

    def price(self, model: str) -> ModelPrice:
        unknown = ModelPrice(
            input_per_mtok=UNKNOWN_MODEL_PRICE[0], output_per_mtok=UNKNOWN_MODEL_PRICE[1]
        )
        return self.prices.get(model, unknown)


# --- http --------------------------------------------------------------------------------


class HttpSettings(_Frozen):
    max_bytes: int = pydantic.Field(default=1024 * 1024, gt=0)
    max_timeout_s: float = pydantic.Field(default=30.0, gt=0)
    #: Off in production: a granted public name that resolves to a private address is refused.
    allow_private_addresses: bool = False
    allowed_ports: tuple[int, ...] = (80, 443)


# --- all ---------------------------------------------------------------------------------


CAPABILITIES_DB_ENV = "LOOPWRIGHT_CAPABILITIES_DB"
DEFAULT_CAPABILITIES_DB = "var/capabilities.db"


def capabilities_db(environ: Mapping[str, str] | None = None) -> str:
    """Where the capabilities' tables are: a SQLite path or a store URL (``loopwright.store``)."""
    env = os.environ if environ is None else environ
    return env.get(CAPABILITIES_DB_ENV) or DEFAULT_CAPABILITIES_DB


class CapabilitySettings(_Frozen):
    db_path: Path = Path(DEFAULT_CAPABILITIES_DB)
    #: A store URL (e.g. the PostgreSQL replicas share); wins over ``db_path`` when set.
    db_url: str | None = None
    metrics: dict[str, MetricsSource] = {"host": HostSource()}
    deploys: dict[str, DeploySource] = {"events": EventDeploySource()}
    notify: NotifySettings = NotifySettings()
    llm: LLMSettings | None = None
    #: When ``llm`` is None: which variables were missing (named in LLMUnavailable).
    llm_missing_env: tuple[str, ...] = LLM_ENV
    http: HttpSettings = HttpSettings()
    #: Retry hint for outages that did not say when to come back.
    default_retry_after_s: float = pydantic.Field(default=10.0, gt=0)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Self:
        env = os.environ if environ is None else environ
        try:
            fields: dict[str, Any] = {
                "metrics": _metrics_from_env(env),
                "deploys": _deploys_from_env(env),
                "notify": NotifySettings(channels=_channels_from_env(env)),
                **_llm_from_env(env),
            }
            location = capabilities_db(env)
            fields["db_url" if "://" in location else "db_path"] = location
            return cls(**{**fields, **overrides})
        except pydantic.ValidationError as err:
            raise SettingsError(f"invalid capability settings: {err}") from None


def _json_env(env: Mapping[str, str], name: str) -> Any:
    try:
        return json.loads(env[name])
    except json.JSONDecodeError as err:
        raise SettingsError(f"{name} is not valid JSON: {err}") from None


def _metrics_from_env(env: Mapping[str, str]) -> dict[str, Any]:
    sources: dict[str, Any] = {"host": HostSource()}
    if env.get("LOOPWRIGHT_PROMETHEUS_URL"):
        sources["prometheus"] = PrometheusSource(url=env["LOOPWRIGHT_PROMETHEUS_URL"])
    if env.get("LOOPWRIGHT_METRICS_SOURCES"):
        extra = _json_env(env, "LOOPWRIGHT_METRICS_SOURCES")
        if not isinstance(extra, dict):
            raise SettingsError("LOOPWRIGHT_METRICS_SOURCES must be a JSON object")
        sources.update(extra)
    return sources


def _deploys_from_env(env: Mapping[str, str]) -> dict[str, Any]:
    sources: dict[str, Any] = {"events": EventDeploySource()}
    if env.get("LOOPWRIGHT_DEPLOY_LOG"):
        sources["log"] = JsonlDeploySource(path=Path(env["LOOPWRIGHT_DEPLOY_LOG"]))
    if env.get("LOOPWRIGHT_DEPLOY_GIT_REPO"):
        service = env.get("LOOPWRIGHT_DEPLOY_GIT_SERVICE")
        if not service:
            raise SettingsError(
                "LOOPWRIGHT_DEPLOY_GIT_REPO is set: also set LOOPWRIGHT_DEPLOY_GIT_SERVICE "
                "(the service that repository deploys)"
            )
        sources["git"] = GitDeploySource(
            repo=Path(env["LOOPWRIGHT_DEPLOY_GIT_REPO"]), service=service
        )
    return sources


def _channels_from_env(env: Mapping[str, str]) -> dict[str, Any]:
    channels: dict[str, Any] = {"inbox": InboxChannel()}
    token = env.get("LOOPWRIGHT_SLACK_BOT_TOKEN")
    if token:
        if not env.get("LOOPWRIGHT_SLACK_CHANNEL"):
            raise SettingsError(
                "LOOPWRIGHT_SLACK_BOT_TOKEN is set: also set LOOPWRIGHT_SLACK_CHANNEL "
                "(the channel id to post to, e.g. C0123456789)"
            )
        channels["slack"] = SlackApiChannel(
            token=pydantic.SecretStr(token),
            channel=env["LOOPWRIGHT_SLACK_CHANNEL"],
            api_url=env.get("LOOPWRIGHT_SLACK_API_URL") or "https://slack.com/api",
        )
    elif env.get("LOOPWRIGHT_SLACK_WEBHOOK_URL"):
        channels["slack"] = SlackWebhookChannel(
            url=pydantic.SecretStr(env["LOOPWRIGHT_SLACK_WEBHOOK_URL"])
        )
    return channels


def _llm_from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    env = llm_vars.with_current_names(environ)
    base, key, model = (llm_vars.lookup(env, field, "skills") for field in LLM_FIELDS)
    missing = tuple(
        llm_vars.name(f) for f, v in zip(LLM_FIELDS, (base, key, model), strict=True) if not v
    )
    if missing:
        return {"llm": None, "llm_missing_env": missing}
    prefix = "LOOPWRIGHT_LLM_MODEL_"  # per capability role, e.g. _WRITER
    roles = {k[len(prefix) :].lower(): v for k, v in env.items() if k.startswith(prefix) and v}
    classifier = env.get(llm_vars.name("MODEL", "classifier"))
    if classifier:  # the classifier role's model also serves the skills' classify calls
        roles["classifier"] = classifier
    prices = _json_env(env, "LOOPWRIGHT_LLM_PRICES") if env.get("LOOPWRIGHT_LLM_PRICES") else {}
    llm = LLMSettings(
        base_url=base,
        api_key=pydantic.SecretStr(key),
        model=model,
        role_models=roles,
        prices=_prices(prices),
        timeout_s=float(env.get("LOOPWRIGHT_LLM_TIMEOUT_S") or 30.0),
    )
    return {"llm": llm, "llm_missing_env": ()}


def _prices(raw: Any) -> dict[str, ModelPrice]:
    try:
        return {
            model: ModelPrice(input_per_mtok=p["input"], output_per_mtok=p["output"])
            for model, p in raw.items()
        }
    except (AttributeError, KeyError, TypeError):
        raise SettingsError(
            'LOOPWRIGHT_LLM_PRICES must look like {"MODEL": {"input": 0.15, "output": 0.6}} '
            "(USD per million tokens)"
        ) from None


def capabilities_store_location(settings: CapabilitySettings) -> str | Path:
    return settings.db_url or settings.db_path
