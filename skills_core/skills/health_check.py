# ruff: noqa: F821, E402 - a skill file: `skill` is injected, MANIFEST comes first
"""Health check: each service's errors, latency and saturation against its own baseline.

The LLM classifies every service normal / degraded / critical with a one-line reason. When it
cannot (error, timeout, budget spent) the documented rules below decide, and the verdict says
so. Hard limits always win, whatever the LLM says. A degraded or critical service opens an
incident (event health/incident.opened), which starts incident-triage. Every run returns what
it saw and what it decided, for the review loop.
"""

MANIFEST = {
    "id": "health-check",
    "description": (
        "Every 30 minutes by default: error rate, latency p95/p99, CPU and memory of each "
        "service against its baseline; the LLM classifies, rules decide when it cannot; "
        "degraded or critical services open an incident for triage."
    ),
    "author": "human",
    "owner": "loopwright",
    "triggers": [{"cron": "*/30 * * * *"}],
    "capabilities": {
        "metrics": {"sources": ["prometheus"]},
        "notify": {"channels": ["slack"]},
        "incidents": {},
        "llm": {"per_run_usd": 0.05, "per_week_usd": 1.0},
    },
    "emits": ["health/incident.opened", "health/incident.updated"],
    # Another namespace than the skill's own ("health-check/"): granted, so a person approves it.
    "emit_grants": ["health/incident.opened", "health/incident.updated"],
}

import datetime
import statistics

# One PromQL per signal, each answering one number per service (the demo fleet's metric names;
# rewrite these for other metrics). They are sent as one query, each tagged with a `signal` label.
SIGNALS = {
    "rps": "sum by (service) (rate(http_requests_total[5m]))",
    "error_rate": (
        'sum by (service) (rate(http_requests_total{status=~"5.."}[5m]))'
        " / sum by (service) (rate(http_requests_total[5m]))"
    ),
    "p95": (
        "histogram_quantile(0.95, "
        "sum by (service, le) (rate(http_request_duration_seconds_bucket[5m])))"
    ),
    "p99": (
        "histogram_quantile(0.99, "
        "sum by (service, le) (rate(http_request_duration_seconds_bucket[5m])))"
    ),
    "cpu": "max by (service) (service_cpu_utilization_ratio)",
    "memory": "max by (service) (service_memory_usage_bytes / service_memory_limit_bytes)",
}
WATCHED_SERVICES = []  # empty: every service the queries return
MAX_SERVICES = 30

# Windows. "now" is the median of the last CURRENT_POINTS points, so a one-point blip is not an
# incident; the baseline is the median of the points before them.
BASELINE_MINUTES = 360
STEP_SECONDS = 60
CURRENT_POINTS = 3
MIN_BASELINE_POINTS = 10  # fewer (e.g. a fresh Prometheus): no baseline, absolute limits only
RATE_WINDOW_SECONDS = 300  # the [5m] of the queries, to count errors

# Thresholds of the rule-based classifier (docs/CORE_SKILLS.md). "Hard" ones always win.
ERROR_RATE_CRITICAL = 0.05  # hard
ERROR_RATE_DEGRADED = 0.02  # ... and at least ERROR_RATE_RATIO x the baseline
ERROR_RATE_RATIO = 2.0
MIN_ERRORS = 5  # fewer errors in the rate window are too few to judge (low traffic)
MIN_RPS_FOR_LATENCY = 0.2  # quantiles of fewer requests are noise
P95_DEGRADED_RATIO = 1.5
P95_CRITICAL_RATIO = 3.0
P99_DEGRADED_RATIO = 2.0
P99_CRITICAL_RATIO = 4.0
LATENCY_MIN_DELTA_SECONDS = 0.05  # slower by less than this is never an incident
CPU_DEGRADED = 0.80
CPU_CRITICAL = 0.95  # hard
MEMORY_DEGRADED = 0.85
MEMORY_CRITICAL = 0.95  # hard
SATURATION_RISE_RATIO = 1.5  # CPU or memory this far above its baseline...
SATURATION_RISE_FLOOR = 0.60  # ...and above this share of the limit: degraded

LABELS = ["normal", "degraded", "critical"]
SEVERITY = {"normal": 0, "degraded": 1, "critical": 2}
ONSET_BUCKET_SECONDS = 600  # incident ids round the onset, so re-detections share the id
RETRY_BASE_MS = 30000
RETRY_MAX_MS = 300000
INSTRUCTIONS = (
    "You are the on-call engineer. Classify the service's health from its signals: normal "
    "(usual variation, noise on low traffic, small drifts), degraded (users are affected or "
    "soon will be), critical (many requests fail or are very slow, or a resource is about to "
    "run out). Give a one-line reason that names the signals."
)


def label_of(service):
    """The service's name as a step label (the run's timeline then says `classify (checkout)`);
    None when the name cannot be one: a label is one printable line of at most 64 characters."""
    return service[:64] if service.isprintable() and service.strip() else None


def signals_query():
    """Every signal in one PromQL query; each series gets a `signal` label."""
    tagged = [f'label_replace({q}, "signal", "{name}", "", "")' for name, q in SIGNALS.items()]
    return " or ".join(tagged)


def trend(points):
    """A signal's recent level, its baseline, and since when it has been away from it."""
    values = [point[1] for point in points]
    now = statistics.median(values[-CURRENT_POINTS:])
    earlier = values[:-CURRENT_POINTS]
    baseline = statistics.median(earlier) if len(earlier) >= MIN_BASELINE_POINTS else None
    since = None
    if baseline is not None and now > baseline:
        mark = (now + baseline) / 2
        for at, value in reversed(points):
            if value < mark:
                break
            since = at
    return {"now": now, "baseline": baseline, "since": since}


def summarize(series):
    """{service: {signal: trend}} from the query_range answer; NaN points (None) skipped."""
    services = {}
    for item in series:
        labels = item.get("labels") or {}
        service, signal = labels.get("service"), labels.get("signal")
        if not service or signal not in SIGNALS:
            continue
        if WATCHED_SERVICES and service not in WATCHED_SERVICES:
            continue
        points = [p for p in item.get("values") or [] if p[1] is not None]
        if points:
            services.setdefault(service, {})[signal] = trend(points)
    return dict(sorted(services.items())[:MAX_SERVICES])


def level(features, signal, key="now"):
    return (features.get(signal) or {}).get(key)


def show(signal, value):
    if value is None:
        return "n/a"
    if signal in ("error_rate", "cpu", "memory"):
        return f"{value:.1%}"
    if signal == "rps":
        return f"{value:.1f} req/s"
    return f"{value:.3f}s"


def breach(signal, label, hard, text):
    return {"signal": signal, "label": label, "hard": hard, "reason": text}


def checks(features):
    """Every threshold the features cross, as breaches (signal, label, hard, reason)."""
    found = []
    rps = level(features, "rps") or 0
    error, error_base = level(features, "error_rate"), level(features, "error_rate", "baseline")
    if error is not None and rps * error * RATE_WINDOW_SECONDS >= MIN_ERRORS:
        text = f"error rate {show('error_rate', error)}"
        if error >= ERROR_RATE_CRITICAL:
            limit = show("error_rate", ERROR_RATE_CRITICAL)
            found.append(breach("error_rate", "critical", True, f"{text} >= {limit}"))
        elif error >= ERROR_RATE_DEGRADED and (
            error_base is None or error >= error_base * ERROR_RATE_RATIO
        ):
            found.append(breach("error_rate", "degraded", False, text))
    for signal, degraded, critical in (
        ("p95", P95_DEGRADED_RATIO, P95_CRITICAL_RATIO),
        ("p99", P99_DEGRADED_RATIO, P99_CRITICAL_RATIO),
    ):
        now, base = level(features, signal), level(features, signal, "baseline")
        if rps < MIN_RPS_FOR_LATENCY or now is None or not base:
            continue
        if now - base < LATENCY_MIN_DELTA_SECONDS or now < base * degraded:
            continue
        label = "critical" if now >= base * critical else "degraded"
        text = f"{signal} {show(signal, now)} vs {show(signal, base)} baseline"
        found.append(breach(signal, label, False, text))
    for signal, degraded, critical in (
        ("cpu", CPU_DEGRADED, CPU_CRITICAL),
        ("memory", MEMORY_DEGRADED, MEMORY_CRITICAL),
    ):
        now, base = level(features, signal), level(features, signal, "baseline")
        if now is None:
            continue
        text = f"{signal} at {show(signal, now)} of the limit"
        if now >= critical:
            found.append(breach(signal, "critical", True, text))
        elif now >= degraded:
            found.append(breach(signal, "degraded", False, text))
        elif base and now >= base * SATURATION_RISE_RATIO and now >= SATURATION_RISE_FLOOR:
            found.append(breach(signal, "degraded", False, f"{text}, up from {show(signal, base)}"))
    return found


def classify_rules(features):
    """The rule-based verdict, and the floor that hard limits put under any verdict."""
    found = checks(features)
    label = max([b["label"] for b in found], key=SEVERITY.get, default="normal")
    hard = [b for b in found if b["hard"]]
    floor = max([b["label"] for b in hard], key=SEVERITY.get, default="normal")
    reasons = [b["reason"] for b in found if b["label"] == label]
    return {
        "label": label,
        "reason": "; ".join(reasons) or "every signal within its thresholds",
        "floor": floor,
        "floor_reason": "; ".join(b["reason"] for b in hard if b["label"] == floor),
        "breaches": found,
    }


def describe(service, features):
    """What the LLM reads: every signal now and at its baseline."""
    recent = CURRENT_POINTS * STEP_SECONDS
    lines = [f"Service {service}, last {recent} s vs. the {BASELINE_MINUTES} min before:"]
    for signal in SIGNALS:
        if signal in features:
            now, base = level(features, signal), level(features, signal, "baseline")
            lines.append(f"- {signal}: {show(signal, now)} (baseline {show(signal, base)})")
    return "\n".join(lines)


def backoff_ms(attempt):
    """How long a run waits before retrying when the metrics API is down."""
    return min(RETRY_BASE_MS * 2**attempt, RETRY_MAX_MS)


def llm_failure(err):
    if isinstance(err, skill.LLMBudgetExceeded):
        return f"budget: {err}"
    if isinstance(err, skill.LLMTimeout):
        return f"timeout: {err}"
    return f"unavailable: {err}"


def decision(service, verdict, checked_at):
    """The run ledger's decision record of one service (what the review backtests)."""
    detail = {"rules": verdict["rules"], "reason": verdict["reason"]}
    detail["breaches"] = [b["signal"] for b in verdict["breaches"]]
    if verdict.get("invariant"):
        detail["invariant"] = verdict["invariant"]
    return {
        "subject": service,
        "label": verdict["label"],
        "decided_by": verdict["decided_by"],
        "fallback": verdict["fallback"],
        "at": checked_at,
        "features": verdict["features"],
        "detail": detail,
    }


def signals_of(verdict):
    """The kinds of signal behind a verdict (a new kind on an open incident re-triages it)."""
    return [b["signal"] for b in verdict["breaches"]] or [verdict["decided_by"] + "-judgement"]


def onset_of(verdict, checked_at):
    """The first anomalous sample of the signals that breached, not the detection time."""
    features = verdict["features"]
    breached = [b["signal"] for b in verdict["breaches"]] or list(features)
    starts = [features[s]["since"] for s in breached if s in features and features[s]["since"]]
    return min(starts) if starts else checked_at


def lifecycle_note(service, tracked):
    """What to post in an incident's thread when it changes, or None."""
    action, found = tracked["action"], tracked.get("incident") or {}
    if action == "updated":
        change = []
        if tracked.get("previous_severity"):
            change.append(f"severity {tracked['previous_severity']} -> {found['severity']}")
        if tracked.get("new_signals"):
            change.append("new signal " + ", ".join(tracked["new_signals"]))
        again = " Re-triaging: the likely cause may differ." if tracked.get("retriage") else ""
        return f"Update on {service} ({found['id']}): " + "; ".join(change) + "." + again
    if action == "resolved":
        return (f"Resolved: {service} is back to normal ({found['id']}, resolved after "
                f"{round(found['open_minutes'])} min).")  # fmt: skip
    if action == "reopened":
        return (f"Reopened: {service} is {found['severity']} again ({found['id']}; it has "
                f"flapped {found['reopened']} time(s)).")  # fmt: skip
    return None


def incident(service, verdict, checked_at):
    """The event data of a new incident; the id is stable while the incident lasts."""
    onset = onset_of(verdict, checked_at)
    bucket = int(onset // ONSET_BUCKET_SECONDS * ONSET_BUCKET_SECONDS)
    start = datetime.datetime.fromtimestamp(bucket, datetime.UTC).isoformat()[:16]
    stamp = start.replace("-", "").replace(":", "")  # 20240101T1150 (strftime is unavailable)
    return {
        "incident_id": f"{service}-{stamp}Z",
        "service": service,
        "severity": verdict["label"],
        "reason": verdict["reason"],
        "onset": onset,
        "detected_at": checked_at,
        "decided_by": verdict["decided_by"],
        "features": verdict["features"],
        "signals": signals_of(verdict),
        "window": alert_window(),
    }


def alert_window():
    """What the alert's figures measure, so triage can quote them for the same window."""
    return {
        "rate_seconds": RATE_WINDOW_SECONDS,
        "recent_seconds": CURRENT_POINTS * STEP_SECONDS,
        "baseline_minutes": BASELINE_MINUTES,
    }


@skill.function(
    fn_id="health-check",
    trigger=skill.cron("*/30 * * * *"),
    retries=3,
    singleton=skill.singleton("skip"),
)
def health_check(ctx):
    def fetch():
        try:
            series = ctx.capabilities.metrics.query_range(
                signals_query(), minutes=BASELINE_MINUTES, step_seconds=STEP_SECONDS
            )
        except skill.MetricsUnavailable as err:
            wait = backoff_ms(ctx.attempt)
            raise skill.RetryAfterError(f"metrics unavailable: {err}", wait) from err
        checked_at = datetime.datetime.now(datetime.UTC).timestamp()
        return {"checked_at": round(checked_at), "services": summarize(series)}

    def classify(service, features):
        rules = classify_rules(features)
        try:
            answer = ctx.capabilities.llm.classify(
                describe(service, features), labels=LABELS, instructions=INSTRUCTIONS
            )
        except skill.LLMError as err:
            answer = {"error": llm_failure(err)}
        verdict = {"features": features, "rules": rules["label"], "breaches": rules["breaches"]}
        if answer.get("label") in LABELS:
            reason = (answer.get("reason") or "").strip().split("\n")[0][:200]
            verdict.update(label=answer["label"], reason=reason, decided_by="llm", fallback=False)
        else:  # the LLM failed or answered off-script: the documented rules decide
            error = answer.get("error") or f"unusable answer {answer.get('label')}"
            verdict.update(label=rules["label"], reason=rules["reason"], decided_by="rules")
            verdict.update(fallback=True, llm_error=error)
        if SEVERITY[rules["floor"]] > SEVERITY[verdict["label"]]:  # hard limits always win
            verdict["invariant"] = f"{verdict['label']} overruled by a hard limit"
            verdict.update(label=rules["floor"], reason=rules["floor_reason"])
        return verdict

    seen = ctx.step.run("fetch-signals", fetch)
    if not seen["services"]:
        ctx.log("no service metrics: check SIGNALS against your metric names")
        return {"status": "no-data", "checked_at": seen["checked_at"], "services": {}}
    verdicts = {}
    for service in sorted(seen["services"]):
        verdicts[service] = ctx.step.run(
            "classify", classify, service, seen["services"][service], label=label_of(service)
        )
        ctx.log(f"{service}: {verdicts[service]['label']}", reason=verdicts[service]["reason"])

    def track(service, verdict, checked_at):
        return ctx.capabilities.incidents.observe(
            service,
            label=verdict["label"],
            signals=signals_of(verdict),
            reason=verdict["reason"],
            onset=onset_of(verdict, checked_at),
            checked_at=checked_at,
        )

    def post(text, thread):
        return ctx.capabilities.notify.post("slack", text, thread=thread)

    tracked = {}
    for service in sorted(verdicts):
        tracked[service] = ctx.step.run(
            "track-incident",
            track,
            service,
            verdicts[service],
            seen["checked_at"],
            label=label_of(service),
        )
    incidents, updates = [], []
    for service, t in tracked.items():
        if t["silenced"] or not t.get("incident"):
            continue
        data = incident(service, verdicts[service], seen["checked_at"])
        data.update(incident_id=t["incident"]["id"], revision=t["incident"]["revision"])
        data["triage_key"] = f"{data['incident_id']}#{data['revision']}"
        if t["action"] == "opened":
            incidents.append(data)
        elif t["retriage"]:
            updates.append(data)
        note = lifecycle_note(service, t)
        if note:
            ctx.step.run(
                "post-incident-update", post, note, t["incident"]["id"], label=label_of(service)
            )
    events = [skill.Event("health/incident.opened", i, id=i["triage_key"]) for i in incidents]
    events += [skill.Event("health/incident.updated", u, id=u["triage_key"]) for u in updates]
    if events:
        ctx.step.send_event("open-incidents", events)
    return {
        "status": "ok",
        "checked_at": seen["checked_at"],
        "services": verdicts,
        "incidents": [i["incident_id"] for i in incidents],
        # every service's current incident, not only those this check opened: a check
        # that lost a race with another run (cron tick, a retry) still names it
        "open_incidents": {
            s: t["incident"]["id"]
            for s, t in tracked.items()
            if t.get("incident") and t["incident"]["state"] == "open"
        },
        "lifecycle": {s: t["action"] for s, t in tracked.items()},
        "decisions": [decision(s, v, seen["checked_at"]) for s, v in verdicts.items()],
    }
