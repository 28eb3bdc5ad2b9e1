"""Skill sources the scripted agent writes: broken, repaired, and variations."""

from __future__ import annotations

GOOD = '''"""Flags p95 latency spikes overnight; the LLM explains, rules decide when it cannot."""

MANIFEST = {
    "id": "latency-watch",
    "description": "Flags p95 latency spikes overnight.",
    "author": "agent",
    "triggers": [{"cron": "TZ=Europe/Paris */30 * * * *"}],
    "capabilities": {
        "metrics": {"sources": ["prometheus"]},
        "notify": {"channels": ["inbox"]},
        "llm": {"per_run_usd": 0.02, "per_week_usd": 0.5},
    },
}

import statistics

P95_QUERY = "histogram_quantile(0.95, sum(rate(http_request_duration_seconds_bucket[5m])) by (le))"
CRITICAL_SECONDS = 1.0


def rule_based(current, baseline):
    if current >= CRITICAL_SECONDS:
        return {"label": "critical", "reason": "p95 above the critical threshold"}
    if baseline > 0 and current > baseline * 1.5:
        return {"label": "degraded", "reason": "p95 above 1.5x baseline"}
    return {"label": "normal", "reason": "within baseline"}


@skill.function(
    fn_id="latency-watch",
    trigger=skill.cron("TZ=Europe/Paris */30 * * * *"),
    retries=3,
)
def latency_watch(ctx):
    series = ctx.step.run(
        "fetch-latency",
        lambda: ctx.capabilities.metrics.query_range(P95_QUERY, minutes=120, step_seconds=300),
    )
    values = [point[1] for s in series for point in s["values"]]
    if not values:
        return {"status": "no-data"}
    current = values[-1]
    baseline = statistics.median(values)

    def classify():
        try:
            verdict = ctx.capabilities.llm.classify(
                f"p95 now {current:.3f}s, baseline {baseline:.3f}s",
                labels=["normal", "degraded", "critical"],
            )
            return {"label": verdict["label"], "reason": verdict["reason"]}
        except skill.LLMError:
            return rule_based(current, baseline)

    verdict = ctx.step.run("classify", classify)
    if verdict["label"] != "normal":
        text = f"Latency {verdict['label']}: {verdict['reason']}"
        ctx.step.run("notify", lambda: ctx.capabilities.notify.post("inbox", text))
    return {"p95": current, "verdict": verdict}
'''

# Two errors the validator reports at once: an import and a clock outside a step.
BROKEN = (
    GOOD.replace("import statistics\n", "import statistics\nimport os\n")
    .replace(
        "    current = values[-1]\n",
        "    current = values[-1]\n    started = datetime.datetime.now()\n",
    )
    .replace("import statistics\n", "import datetime\nimport statistics\n", 1)
)

# Valid, but a second version (the critic's revision).
REVISED = GOOD.replace("retries=3,", "retries=2,")

STILL_BROKEN = BROKEN.replace("retries=3,", "retries=4,")
BROKEN_AGAIN = BROKEN.replace("retries=3,", "retries=5,")
