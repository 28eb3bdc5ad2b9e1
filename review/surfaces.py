"""Wiring: a Review on the platform's store, sidecar and inbox; the weekly function and the
routes, attached to the sidecar.

The weekly review is a *trusted platform function* in the sidecar's Inngest app, not a
sandboxed core skill: it must read the platform store and write new versions through the
sidecar's write path (validation, approval policy, audit), which no skill capability grants.
It is still a durable Inngest function: each phase is a step, so a crash resumes after the
last finished phase, and ids derived from content keep a repeated phase from duplicating.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from skills_core.capabilities.llm_variables import lookup, with_current_names

from .messages import CapabilityMessages
from .outcomes import IncidentSource, NoIncidents
from .platform import SidecarPlatform
from .rewrite import OpenAIRewriter, Rewriter
from .runner import Review

REPORT_SKILL = "weekly-review"


def inbox_publisher(caps_path: Path | str) -> Any:
    def publish(report_id: str, markdown: str) -> None:
        from skills_core.capabilities.notify.inbox import post_once
        from skills_core.capabilities.notify.messages import MAX_TEXT, PostRequest
        from skills_core.capabilities.store import CapabilityStore

        store = CapabilityStore(caps_path)
        try:
            text = markdown if len(markdown) <= MAX_TEXT else markdown[: MAX_TEXT - 20] + "\n…"
            request = PostRequest(channel="inbox", text=text, dedupe_key=report_id)
            post_once(store, REPORT_SKILL, request, "inbox")
        finally:
            store.close()

    return publish


def rewriter_from_env(env: dict[str, str] | None = None) -> Rewriter | None:
    """The LLM path's model: LOOPWRIGHT_LLM_REVIEW_* or every role's LOOPWRIGHT_LLM_* (the
    old LOOPWRIGHT_REVIEW_LLM_* still work, with a deprecation line)."""
    env = with_current_names(os.environ if env is None else env)
    base, model = lookup(env, "BASE_URL", "review"), lookup(env, "MODEL", "review")
    if not base or not model:
        return None
    return OpenAIRewriter(base, model, lookup(env, "API_KEY", "review"))


def build_review(
    store: Any,
    sidecar_url: str,
    caps_path: Path | str,
    *,
    incidents: IncidentSource | None = None,
    rewriter: Rewriter | None = None,
) -> Review:
    from loopwright.ledger import LedgerReader

    return Review(
        store,
        LedgerReader(store),
        SidecarPlatform(sidecar_url),
        incidents or _incidents(store),
        rewriter if rewriter is not None else rewriter_from_env(),
        publish=inbox_publisher(caps_path),
    )


def _incidents(store: Any) -> IncidentSource:
    """The platform's incidents (derived signals), or none where the store cannot say."""
    from loopwright.ledger import LedgerReader
    from skills_core.capabilities.incidents import IncidentStore

    from .incidents import LedgerIncidents

    try:
        return LedgerIncidents(IncidentStore(store), LedgerReader(store))
    except Exception:  # a store double in tests: no derived signals, and the report says so
        return NoIncidents()


def caps_path_from_env() -> Path | str:
    """The capabilities' store: a SQLite path, or a URL (``$LOOPWRIGHT_CAPABILITIES_DB``)."""
    from skills_core.capabilities.settings import capabilities_db

    location = capabilities_db()
    return location if "://" in location else Path(location)


def attach(sidecar: Any, api: Any) -> None:
    """Add the weekly function to the sidecar's app and the review's routes to its API.

    The cron watchdog is not here: it is the core skill ``cron-watchdog``
    (``skills_core/skills/cron_watchdog.py``), sandboxed like any skill."""
    from loopwright.store import open_store

    from .api import feedback_router
    from .weekly import weekly_function

    store = getattr(sidecar, "store", None) or open_store(None)
    store.ensure()
    caps = caps_path_from_env()
    url = sidecar.settings.origin

    def build() -> Review:
        return build_review(store, url, caps)

    sidecar.platform_functions.append(lambda client: weekly_function(client, build))
    api.include_router(feedback_router(build, lambda: CapabilityMessages(caps)))
    secret = os.environ.get("LOOPWRIGHT_SLACK_SIGNING_SECRET")
    if secret:  # reactions come in only when Slack can sign them
        from .reactions import slack_router

        api.include_router(slack_router(build, lambda: CapabilityMessages(caps), secret))
