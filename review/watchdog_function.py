"""``cron-watchdog``: the watchdog as a trusted platform function, every minute.

It reads the run ledger (read only) and posts each finding once to the inbox, with the
finding's key as the dedupe key. Like ``weekly-review`` it lives in the sidecar's app, not in
the sandbox: the ledger is a platform store that no skill capability exposes yet.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import inngest

from .watchdog import Finding, watch

FN_ID = "cron-watchdog"
CRON = "* * * * *"
ALERT_SKILL = "cron-watchdog"


def post_alerts(
    findings: list[Finding], caps_path: Path | str, run_id: str | None = None
) -> list[str]:
    """Post each finding once; the message ids (a repeated finding answers its first id)."""
    from skills_core.capabilities.notify.inbox import post_once
    from skills_core.capabilities.notify.messages import PostRequest
    from skills_core.capabilities.store import CapabilityStore

    store = CapabilityStore(caps_path)
    try:
        ids = []
        for f in findings:
            request = PostRequest(
                channel="inbox",
                text=f"cron watchdog: {f.detail}",
                dedupe_key=f.key,
                thread_key=f"watchdog:{f.skill_id}",
                run_id=run_id,
            )
            ids.append(post_once(store, ALERT_SKILL, request, "inbox").message_id)
        return ids
    finally:
        store.close()


def check_and_alert(
    ledger: Any, caps_path: Path | str, now: float, run_id: str | None = None
) -> dict[str, Any]:
    findings = watch(ledger, now, exclude=frozenset({FN_ID}))
    ids = post_alerts(findings, caps_path, run_id)
    return {"findings": [f.to_json() for f in findings], "messages": ids}


def watchdog_function(
    client: inngest.Inngest, ledger: Callable[[], Any], caps_path: Path | str
) -> inngest.Function[Any]:
    @client.create_function(
        fn_id=FN_ID, name="Cron watchdog", trigger=inngest.TriggerCron(cron=CRON)
    )
    def cron_watchdog(ctx: inngest.ContextSync) -> dict[str, Any]:
        now = float(ctx.step.run("now", time.time))
        return dict(
            ctx.step.run(
                "check-and-alert", lambda: check_and_alert(ledger(), caps_path, now, ctx.run_id)
            )
        )

    return cron_watchdog
