# ruff: noqa: F821, E402 - a skill file: `skill` is injected, MANIFEST comes first
"""Incident triage: why is this service unhealthy, and what should on-call do about it?

Started by health-check's health/incident.opened event. Announces the incident in its own
thread (thread key = incident id), reads detailed metrics around the onset and the recent
deploys, asks the LLM for a root-cause hypothesis tied to numbered evidence (documented rules
decide when it cannot), and posts the summary in the thread. When the metrics API is down the
run backs off and retries; if it finally gives up, triage_gave_up says so in the thread.
"""

MANIFEST = {
    "id": "incident-triage",
    "description": (
        "Triages an incident opened by health-check: metrics around the onset and recent "
        "deploys, an LLM (or rule-based) root-cause hypothesis with its evidence, and a summary "
        "with recommended actions posted in the incident's thread."
    ),
    "author": "human",
    "owner": "loopwright",
    "triggers": [
        {
            "event": "health/incident.opened",
            "example": {
                "incident_id": "checkout-20240101T0000Z",
                "service": "checkout",
                "severity": "critical",
                "reason": "error rate 30.2% >= 5.0%",
                "onset": 1704067500,
                "detected_at": 1704067800,
                "decided_by": "rules",
                "revision": 1,
                "triage_key": "checkout-20240101T0000Z#1",
                "features": {"error_rate": {"now": 0.302, "baseline": 0.004, "since": 1704067500}},
            },
        },
        {
            "event": "health/incident.updated",
            "example": {
                "incident_id": "checkout-20240101T0000Z",
                "service": "checkout",
                "severity": "critical",
                "reason": "p95 1.2s >= 3.0x baseline",
                "onset": 1704067500,
                "detected_at": 1704068400,
                "decided_by": "rules",
                "revision": 2,
                "triage_key": "checkout-20240101T0000Z#2",
                "features": {"p95": {"now": 1.2, "baseline": 0.2, "since": 1704068100}},
            },
        },
    ],
    "capabilities": {
        "metrics": {"sources": ["prometheus"]},
        "deploys": {"sources": ["log", "events"]},
        "notify": {"channels": ["slack"]},
        "llm": {"per_run_usd": 0.05, "per_week_usd": 1.0},
    },
}

import datetime
import json
import re
import statistics

CHANNEL = "slack"  # the platform posts to the inbox when Slack is not configured
DEPLOY_SOURCES = ["log", "events"]
SERVICE_NAME = r"[A-Za-z0-9_.:-]{1,64}"  # also keeps the PromQL below well-formed
# The service's signals at a finer resolution than health-check's (SERVICE is replaced).
DETAIL_SIGNALS = {
    "rps": 'sum(rate(http_requests_total{service="SERVICE"}[2m]))',
    "error_rate": (
        'sum(rate(http_requests_total{service="SERVICE",status=~"5.."}[2m]))'
        ' / sum(rate(http_requests_total{service="SERVICE"}[2m]))'
    ),
    "p95": (
        "histogram_quantile(0.95, "
        'sum by (le) (rate(http_request_duration_seconds_bucket{service="SERVICE"}[2m])))'
    ),
    "cpu": 'max(service_cpu_utilization_ratio{service="SERVICE"})',
    "memory": (
        'max(service_memory_usage_bytes{service="SERVICE"}'
        ' / service_memory_limit_bytes{service="SERVICE"})'
    ),
}
DETAIL_STEP_SECONDS = 30
DETAIL_RATE_MINUTES = 2  # the [2m] of DETAIL_SIGNALS, named in the summary
PRE_ONSET_MINUTES = 30
MAX_DETAIL_MINUTES = 360
DEPLOY_LOOKBACK_HOURS = 6
HISTORY_HOURS = 168  # a week: how far back to look for the version a rollback returns to
MAX_DEPLOYS = 5

# Thresholds of the rule-based hypothesis (docs/CORE_SKILLS.md).
DEPLOY_WINDOW_MINUTES = 30  # a deploy this long before the onset is a suspect...
ONSET_SLACK_MINUTES = 2  # ...or this long after it (onsets are measured coarsely)
ERROR_SPIKE_RATE = 0.02  # an error spike: at least this error rate...
ERROR_SPIKE_RATIO = 3.0  # ...and this many times the level before the onset
CPU_SATURATED = 0.85
MEMORY_SATURATED = 0.85
LATENCY_RISE_RATIO = 1.5

CAUSES = ["deploy", "capacity", "downstream", "errors", "unknown"]
MAX_ACTIONS = 4
# How to configure an LLM is the platform's hint, posted at most once a day, not every time.
NOT_CONFIGURED = "LLM unavailable: no LLM is configured"
NOT_CONFIGURED_HINT = "llm-not-configured"
RETRY_BASE_MS = 30000
RETRY_MAX_MS = 300000
SYSTEM = (
    "You are the on-call engineer triaging an incident. Use only the numbered evidence. "
    "Reply with one JSON object and nothing else."
)


def detail_query(service):
    tagged = [
        f'label_replace({q.replace("SERVICE", service)}, "signal", "{name}", "", "")'
        for name, q in DETAIL_SIGNALS.items()
    ]
    return " or ".join(tagged)


def window_minutes(onset, now):
    """From PRE_ONSET_MINUTES before the onset until now, capped."""
    return int(min(MAX_DETAIL_MINUTES, PRE_ONSET_MINUTES + max(0, now - onset) / 60 + 1))


def around(series, onset):
    """Per signal: its level before the onset, now (last 3 points) and its peak since."""
    signals = {}
    for item in series:
        signal = (item.get("labels") or {}).get("signal")
        points = [p for p in item.get("values") or [] if p[1] is not None]
        if signal not in DETAIL_SIGNALS or not points:
            continue
        before = [p[1] for p in points if p[0] < onset]
        after = [p[1] for p in points if p[0] >= onset] or [points[-1][1]]
        signals[signal] = {
            "before": statistics.median(before) if before else None,
            "now": statistics.median(after[-3:]),
            "peak": max(after),
        }
    return signals


def unique_deploys(deploys, onset):
    """Newest first, each (service, version, time) once, at most MAX_DEPLOYS of the last
    DEPLOY_LOOKBACK_HOURS before the onset; each names the version it replaced (`previous`,
    from the whole history), the target of a rollback."""
    seen, history = set(), []
    for d in sorted(deploys, key=lambda d: d.get("at") or "", reverse=True):
        key = (d.get("service"), d.get("version"), d.get("at"))
        if key not in seen:
            seen.add(key)
            history.append(d)
    out = []
    for i, d in enumerate(history):
        minutes = minutes_before(d, onset)
        if minutes is not None and minutes > DEPLOY_LOOKBACK_HOURS * 60:
            continue
        older = [o for o in history[i + 1 :] if o.get("service") == d.get("service")]
        changed = [o["version"] for o in older if o.get("version") != d.get("version")]
        out.append({**d, "previous": changed[0] if changed else None})
    return out[:MAX_DEPLOYS]


def rollback_action(service, deploy):
    version = deploy["version"]
    if deploy.get("previous"):
        return f"Roll {service} back to {deploy['previous']} (the version before {version})"
    return (
        f"Roll {service} back to the version before {deploy['version']} (none deployed in the "
        f"last {HISTORY_HOURS // 24} days: check your deploy history)"
    )


def minutes_before(deploy, onset):
    """How many minutes the deploy happened before the onset (negative: after it)."""
    try:
        at = datetime.datetime.fromisoformat(deploy.get("at") or "")
    except ValueError:
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=datetime.UTC)
    return (onset - at.timestamp()) / 60


def llm_trouble(err):
    message = str(err)
    if "no LLM is configured" in message or "not configured" in message:
        return NOT_CONFIGURED
    return f"LLM unavailable: {message}"


def backoff_ms(attempt):
    """How long a run waits before retrying when the metrics API is down."""
    return min(RETRY_BASE_MS * 2**attempt, RETRY_MAX_MS)


def show(signal, value):
    if value is None:
        return "n/a"
    if signal in ("error_rate", "cpu", "memory"):
        return f"{value:.1%}"
    if signal == "rps":
        return f"{value:.1f} req/s"
    return f"{value:.3f}s"


def evidence(signals, deploys, onset):
    """Numbered facts (E1, E2...) the hypothesis must cite."""
    facts = []
    for signal in DETAIL_SIGNALS:
        if signal in signals:
            s = signals[signal]
            text = (
                f"{signal}: {show(signal, s['before'])} before the onset, "
                f"{show(signal, s['now'])} now (peak {show(signal, s['peak'])})"
            )
            facts.append({"id": f"E{len(facts) + 1}", "kind": signal, "text": text})
    for d in deploys:
        minutes = minutes_before(d, onset)
        when = "at an unknown time" if minutes is None else f"{minutes:.0f} min before the onset"
        after = f" (after {d['previous']})" if d.get("previous") else ""
        who = d.get("author") or "?"
        text = f"deploy {d.get('service')} {d.get('version')}{after} by {who} {when}"
        if d.get("description"):
            text = f"{text}: {d['description']}"
        fact = {"id": f"E{len(facts) + 1}", "kind": "deploy", "text": text}
        facts.append(
            {**fact, "version": d.get("version"), "at": d.get("at"), "previous": d.get("previous")}
        )
    return facts


def cite(facts, kind):
    return [f["id"] for f in facts if f["kind"] == kind]


def rose(signals, signal, ratio, floor):
    """The signal is at least `floor` now and `ratio` times its level before the onset."""
    s = signals.get(signal) or {}
    now, before = s.get("now"), s.get("before")
    if now is None or now < floor:
        return False
    return before is None or now >= before * ratio


def suspect_deploy(facts, onset):
    """The deploy closest before the onset, within DEPLOY_WINDOW_MINUTES."""
    suspects = []
    for f in facts:
        minutes = minutes_before(f, onset) if f["kind"] == "deploy" else None
        if minutes is not None and -ONSET_SLACK_MINUTES <= minutes <= DEPLOY_WINDOW_MINUTES:
            suspects.append((abs(minutes), f["id"], f))
    return min(suspects)[2] if suspects else None


def rule_hypothesis(service, signals, facts, onset):
    """The documented fallback: a deploy just before errors or slowness, then saturation, then
    latency alone (downstream), then errors alone."""
    errors = rose(signals, "error_rate", ERROR_SPIKE_RATIO, ERROR_SPIKE_RATE)
    slower = rose(signals, "p95", LATENCY_RISE_RATIO, 0)
    deploy = suspect_deploy(facts, onset)
    if deploy and (errors or slower):
        symptom = "error_rate" if errors else "p95"
        return {
            "cause": "deploy",
            "hypothesis": f"Deploy {deploy['version']} of {service} shortly before the onset "
            f"{'introduced the errors' if errors else 'made it slower'}.",
            "evidence": [*cite(facts, symptom), deploy["id"]],
            "actions": [
                rollback_action(service, deploy),
                f"Compare the changes in {deploy['version']} with the failing requests' logs",
                f"Hold further deploys of {service} until it is healthy",
            ],
        }
    for signal, limit in (("memory", MEMORY_SATURATED), ("cpu", CPU_SATURATED)):
        now = (signals.get(signal) or {}).get("now")
        if now is not None and now >= limit:
            return {
                "cause": "capacity",
                "hypothesis": f"{service} is running out of {signal} ({show(signal, now)} of "
                "its limit); the other symptoms follow from that.",
                "evidence": cite(facts, signal) + cite(facts, "rps"),
                "actions": [
                    f"Scale {service} out, or restart it to win time",
                    "Check whether traffic grew or usage leaks (heap profile before a restart)",
                    f"Raise the {signal} limit if the growth is expected",
                ],
            }
    if slower and not errors:
        return {
            "cause": "downstream",
            "hypothesis": f"{service} got slower with few or no extra errors: a slow dependency "
            "(database, cache, downstream service) is the likely cause.",
            "evidence": cite(facts, "p95") + cite(facts, "error_rate"),
            "actions": [
                f"Check the latency of {service}'s dependencies",
                "Look at traces of the slowest requests",
                "Shed or rate-limit non-critical traffic if it gets worse",
            ],
        }
    if errors:
        return {
            "cause": "errors",
            "hypothesis": f"{service} fails more requests with no deploy just before: a failing "
            "dependency, a config change or bad input.",
            "evidence": cite(facts, "error_rate"),
            "actions": [
                f"Find the most frequent error in {service}'s logs",
                "Check the health of its dependencies and recent config changes",
            ],
        }
    return {
        "cause": "unknown",
        "hypothesis": "No single signal explains the incident.",
        "evidence": [f["id"] for f in facts],
        "actions": [f"Look at {service}'s dashboards and logs around the onset"],
    }


def prompt(incident, facts):
    lines = [
        f"Incident {incident['incident_id']}: {incident['service']} is {incident['severity']} "
        f"({incident.get('reason') or 'no reason given'}).",
        "Evidence:",
        *[f"{f['id']} {f['text']}" for f in facts],
        f'Reply as JSON: {{"cause": one of {CAUSES}, "hypothesis": one or two sentences, '
        f'"evidence": the ids you used, "actions": up to {MAX_ACTIONS} recommended actions}}',
    ]
    return "\n".join(lines)


def parse_answer(text, facts):
    """The LLM's JSON answer, checked; None when it is unusable."""
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end < start:
        return None
    try:
        answer = json.loads(text[start : end + 1])
    except json.JSONDecodeError:
        return None
    if not isinstance(answer, dict) or answer.get("cause") not in CAUSES:
        return None
    ids = [f["id"] for f in facts]
    cited = answer.get("evidence") if isinstance(answer.get("evidence"), list) else []
    actions = answer.get("actions") if isinstance(answer.get("actions"), list) else []
    actions = [a for a in actions if isinstance(a, str) and a.strip()][:MAX_ACTIONS]
    hypothesis = answer.get("hypothesis")
    if not isinstance(hypothesis, str) or not hypothesis.strip() or not actions:
        return None
    return {
        "cause": answer["cause"],
        "hypothesis": hypothesis.strip(),
        "evidence": [e for e in cited if e in ids],
        "actions": actions,
    }


def alert_quote(incident):
    """The alert's own figures, labelled with the alert's window: the summary repeats them
    rather than its finer ones, so the alert and the summary agree on the same window."""
    features, window = incident.get("features") or {}, incident.get("window") or {}
    names = [s for s in incident.get("signals") or [] if s in features] or [
        s for s in DETAIL_SIGNALS if s in features
    ]
    figures = [
        f"{s} {show(s, features[s].get('now'))} (baseline {show(s, features[s].get('baseline'))})"
        for s in names
    ]
    text = f"Alert: {incident.get('reason') or 'no reason given'}"
    if figures:
        text = f"{text} - {', '.join(figures)}"
    if window.get("recent_seconds") and window.get("baseline_minutes"):
        rate = (
            f"{round(window['rate_seconds'] / 60)}-min rates, "
            if window.get("rate_seconds")
            else ""
        )
        text = (
            f"{text} (health-check: {rate}last {window['recent_seconds']} s vs the "
            f"{window['baseline_minutes']} min before)"
        )
    return text


def renumbered(cited):
    """The summary numbers the evidence it shows E1, E2... with no gaps; returns the new ids
    by old id, and a function rewriting references (E6 -> E2) in the hypothesis and actions."""
    new_ids = {f["id"]: f"E{n}" for n, f in enumerate(cited, start=1)}

    def rewrite(text):
        return re.sub(r"\bE\d+\b", lambda m: new_ids.get(m.group(0), m.group(0)), text)

    return new_ids, rewrite


def summary(incident, verdict, facts):
    cited = [f for f in facts if f["id"] in verdict["evidence"]] or facts
    new_ids, rewrite = renumbered(cited)
    by = "LLM" if verdict["decided_by"] == "llm" else f"rules ({verdict['llm_error']})"
    lines = [
        f"[{incident['severity']}] {incident['service']}: suspected cause {verdict['cause']} "
        f"(incident {incident['incident_id']})",
        alert_quote(incident),
        rewrite(verdict["hypothesis"]),
        f"Evidence (triage: {DETAIL_RATE_MINUTES}-min rates every {DETAIL_STEP_SECONDS} s, "
        f"from {PRE_ONSET_MINUTES} min before the onset):",
        *[f"- {new_ids[f['id']]} {f['text']}" for f in cited],
        "Recommended actions:",
        *[f"- {rewrite(a)}" for a in verdict["actions"]],
        f"Hypothesis by: {by}",
    ]
    return "\n".join(lines)


def triage_gave_up(ctx):
    """on_failure: the run failed after its retries; say so in the incident's thread."""
    incident = (ctx.event.data.get("event") or {}).get("data") or {}
    error = (ctx.event.data.get("error") or {}).get("message") or "unknown error"
    text = (
        f"Triage of incident {incident.get('incident_id', '?')} ({incident.get('service', '?')}) "
        f"gave up after retries: {error}. Please investigate by hand."
    )
    thread = incident.get("incident_id")
    ctx.step.run("tell-channel", lambda: ctx.capabilities.notify.post(CHANNEL, text, thread=thread))
    return {"gave_up": True, "incident_id": thread, "error": error}


@skill.function(
    fn_id="incident-triage",
    trigger=[skill.event("health/incident.opened"), skill.event("health/incident.updated")],
    retries=4,
    # One triage per incident revision: health-check opens an incident once and updates it only
    # when a new kind of signal appears, so a storm of checks cannot start a storm of triages.
    rate_limit=skill.rate_limit(1, datetime.timedelta(hours=1), key="event.data.triage_key"),
    on_failure=triage_gave_up,
)
def incident_triage(ctx):
    incident = ctx.event.data
    service, incident_id = incident.get("service") or "", incident.get("incident_id")
    if not re.fullmatch(SERVICE_NAME, service) or not incident_id:
        raise skill.NonRetriableError(f"malformed incident: service {service}, id {incident_id}")
    reported_onset = incident.get("onset") or incident.get("detected_at")

    again = ctx.event.name == "health/incident.updated"
    opened = (
        f"[{incident.get('severity')}] {service}: {incident.get('reason')} "
        f"(incident {incident_id}). "
        + (
            "Triaging again: a new kind of signal."
            if again
            else "Triage is looking at metrics and deploys."
        )
    )
    ctx.step.run(
        "announce", lambda: ctx.capabilities.notify.post(CHANNEL, opened, thread=incident_id)
    )

    def fetch_metrics():
        now = datetime.datetime.now(datetime.UTC).timestamp()
        onset = reported_onset or now
        try:
            series = ctx.capabilities.metrics.query_range(
                detail_query(service),
                minutes=window_minutes(onset, now),
                step_seconds=DETAIL_STEP_SECONDS,
            )
        except skill.MetricsUnavailable as err:
            wait = backoff_ms(ctx.attempt)
            raise skill.RetryAfterError(f"metrics unavailable: {err}", wait) from err
        return {"onset": onset, "signals": around(series, onset)}

    def fetch_deploys():
        found, problems = [], []
        for source in DEPLOY_SOURCES:
            try:
                found += ctx.capabilities.deploys.recent(
                    service=service, hours=HISTORY_HOURS, source=source
                )
            except skill.CapabilityError as err:
                problems.append(f"{source}: {err}")
        onset = reported_onset or datetime.datetime.now(datetime.UTC).timestamp()
        return {"deploys": unique_deploys(found, onset), "problems": problems}

    metrics = ctx.step.run("fetch-metrics", fetch_metrics)
    deploys = ctx.step.run("fetch-deploys", fetch_deploys)
    onset, signals = metrics["onset"], metrics["signals"]
    facts = evidence(signals, deploys["deploys"], onset)

    def hypothesize():
        rules = rule_hypothesis(service, signals, facts, onset)
        try:
            answer = ctx.capabilities.llm.complete(
                prompt(incident, facts), system=SYSTEM, max_tokens=400
            )
            parsed = parse_answer(answer["text"], facts)
            error = None if parsed else "the LLM's answer was not usable JSON"
        except skill.LLMError as err:
            parsed, error = None, llm_trouble(err)
        if parsed:
            return {**parsed, "decided_by": "llm", "fallback": False}
        return {**rules, "decided_by": "rules", "fallback": True, "llm_error": error}

    verdict = ctx.step.run("hypothesize", hypothesize)
    text = summary(incident, verdict, facts)
    hint = NOT_CONFIGURED_HINT if verdict.get("llm_error") == NOT_CONFIGURED else None
    ctx.step.run(
        "post-summary",
        lambda: ctx.capabilities.notify.post(CHANNEL, text, thread=incident_id, hint=hint),
    )
    return {
        "incident_id": incident_id,
        "service": service,
        "severity": incident.get("severity"),
        **verdict,
        "facts": facts,
        "deploy_problems": deploys["problems"],
    }
