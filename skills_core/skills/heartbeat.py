# ruff: noqa: F821, E402 - a skill file: `skill` is injected, MANIFEST comes first
"""Heartbeat: every 30 minutes, record that the platform is alive and how many skills are active.

That this run happens at all is the proof: the engine fired the cron, the sidecar served the
function and a worker ran it. The run returns `overdue_after`; whoever reads the history (the
console, the review loop, `loopwright runs --skill heartbeat`) knows a heartbeat was missed
when that time has passed without a newer heartbeat run.
"""

MANIFEST = {
    "id": "heartbeat",
    "description": (
        "Every 30 minutes by default: records that the engine and the sidecar are alive, how many skills "
        "are active and the platform host's resources; a missed heartbeat is detectable."
    ),
    "author": "human",
    "owner": "loopwright",
    "triggers": [{"cron": "*/30 * * * *"}],
    "capabilities": {"metrics": {"sources": ["platform", "host"]}},
}

import datetime

# The sidecar's own /metrics, read through the metrics source named "platform".
SKILLS_ACTIVE = "loopwright_skills_active"
MISSED_AFTER_MINUTES = 65  # two 30-minute beats plus slack; change it with the schedule


@skill.function(
    fn_id="heartbeat",
    trigger=skill.cron("*/30 * * * *"),
    retries=1,
    singleton=skill.singleton("skip"),
)
def heartbeat(ctx):
    def beat():
        now = datetime.datetime.now(datetime.UTC)
        overdue = now + datetime.timedelta(minutes=MISSED_AFTER_MINUTES)
        scheduled = ctx.event.ts / 1000 if ctx.event.ts else now.timestamp()
        return {
            "at": now.isoformat(),
            "overdue_after": overdue.isoformat(),
            "lag_seconds": round(now.timestamp() - scheduled, 3),
        }

    def count_skills():
        try:
            samples = ctx.capabilities.metrics.query(SKILLS_ACTIVE, source="platform")
        except skill.CapabilityError as err:
            return {"skills_active": None, "problem": f"platform metrics unavailable: {err}"}
        return {"skills_active": round(sum(s["value"] or 0 for s in samples))}

    def host():
        try:
            return ctx.capabilities.metrics.host()
        except skill.CapabilityError as err:
            return {"problem": f"host metrics unavailable: {err}"}

    record = ctx.step.run("beat", beat)
    skills = ctx.step.run("count-skills", count_skills)
    resources = ctx.step.run("host", host)
    ctx.log("heartbeat", skills_active=skills["skills_active"], lag_seconds=record["lag_seconds"])
    return {
        "alive": True,
        "run_id": ctx.run_id,
        **record,
        **skills,
        "host": resources,
    }
