"""``weekly-review``: the review as a durable Inngest function, Monday 06:00 by default.

The time zone is ``LOOPWRIGHT_REVIEW_TZ`` (an IANA name, default UTC), the schedule
``LOOPWRIGHT_REVIEW_CRON`` (default ``0 6 * * 1``). The window's end is taken once, in the
first step, so a resumed run reviews the same window and finds the report and proposals its
first attempt made.
"""

from __future__ import annotations

import os
import time
import zoneinfo
from collections.abc import Callable
from typing import Any

import inngest

from .runner import DAY, Review

FN_ID = "weekly-review"
DEFAULT_CRON = "0 6 * * 1"


def schedule(env: dict[str, str] | None = None) -> str:
    env = dict(os.environ if env is None else env)
    tz = env.get("LOOPWRIGHT_REVIEW_TZ", "UTC")
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"LOOPWRIGHT_REVIEW_TZ={tz!r} is not a time zone: use an IANA name such as Europe/Paris"
        ) from None
    return f"TZ={tz} {env.get('LOOPWRIGHT_REVIEW_CRON', DEFAULT_CRON)}"


def weekly_function(
    client: inngest.Inngest, build: Callable[[], Review], cron: str | None = None
) -> inngest.Function[Any]:
    @client.create_function(
        fn_id=FN_ID,
        name="Weekly review",
        trigger=inngest.TriggerCron(cron=cron or schedule()),
        retries=3,
    )
    def weekly(ctx: inngest.ContextSync) -> dict[str, Any]:
        now = float(ctx.step.run("window-end", time.time))
        review = build()

        def step(name: str, fn: Callable[[], Any]) -> Any:
            return ctx.step.run(name, fn)

        data = review.run(now, 7 * DAY, step=step)
        return {
            "report": data["id"],
            "proposals": len(data["proposals"]),
            "actions": [a["action"] for a in data["actions"]],
        }

    return weekly
