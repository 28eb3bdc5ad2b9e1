# ruff: noqa: F821, E402 - a skill file: `skill` is injected, MANIFEST comes first
"""Cron watchdog: every cron skill's expected fires (from its schedule) against its runs.

Every minute, for each cron skill the ledger capability lists (paused ones too):

* **missed** - a fire with no run by ``grace`` after it (a stopped engine, a lost trigger);
* **paused** - the same, for a skill a person paused: a forgotten pause looks exactly like a
  broken trigger to whoever relies on the skill, so it is said once per pause;
* **late** - the run started more than ``grace`` after its fire;
* **failing** - ``SILENT_FAILURES`` runs in a row failed.

``grace`` is half the skill's interval (at least GRACE_MIN_SECONDS, at most
GRACE_MAX_SECONDS); with a check every minute an alert goes out within two intervals of the
fire. Each check owns the detections (fire + grace, or the end of the failing run) that fall
after the previous completed check and up to its own minute, so a gap or a failing streak is
alerted once, not on every tick: consecutive bad fires are one gap, alerted at its first fire.

The event ``cron-watchdog/check.requested`` runs a check by hand; ``now`` and ``since`` in
its data set the check's clock and the previous check (tests inject time this way).
"""

MANIFEST = {
    "id": "cron-watchdog",
    "description": (
        "Every minute: each cron skill's expected fires against its runs; a missed, paused or "
        "late fire, or a run of silent failures, posts one alert to the inbox."
    ),
    "author": "human",
    "owner": "loopwright",
    "triggers": [
        {"cron": "* * * * *"},
        {"event": "cron-watchdog/check.requested", "example": {}},
    ],
    "capabilities": {"ledger": {"skills": ["*"]}, "notify": {"channels": ["inbox"]}},
}

import datetime

SELF = "cron-watchdog"
CHECK_SECONDS = 60  # the cron above: a check owns one minute of detections
GRACE_MIN_SECONDS = 30
GRACE_MAX_SECONDS = 300
EARLY_SECONDS = 60  # a run this early before its fire still counts for it (clock skew)
SILENT_FAILURES = 3
CATCH_UP_SECONDS = 3600  # after a long outage of the watchdog itself, look back this far
CHANNEL = "inbox"
WINDOW_SECONDS = 2_592_000  # 30 days: the widest window read (the ledger answers up to 31)


def grace_for(interval):
    return max(GRACE_MIN_SECONDS, min(interval / 2, GRACE_MAX_SECONDS))


def minute_of(at):
    return at // CHECK_SECONDS * CHECK_SECONDS


def owned(now, previous):
    """(since, until]: the detections this check alerts on."""
    until = minute_of(now)
    since = until - CHECK_SECONDS if previous is None else minute_of(previous)
    return max(since, until - CATCH_UP_SECONDS), until


def iso(at):
    return datetime.datetime.fromtimestamp(at, datetime.UTC).isoformat()[:19].replace("T", " ")


def finding(schedule, kind, at, detail):
    return {"skill_id": schedule["skill_id"], "kind": kind, "at": at, "detail": detail}


def fire_verdicts(schedule, fires, runs):
    """Each fire: None when a run came in time, else missed / paused / late."""
    interval = schedule["interval_seconds"]
    grace = grace_for(interval)
    early = min(EARLY_SECONDS, interval / 4)
    starts = sorted(r["started_at"] for r in runs if r["trigger"] == "cron")
    verdicts = []
    for fire in fires:
        hit = [s for s in starts if fire - early <= s < fire + interval - early]
        if hit and hit[0] <= fire + grace:
            verdicts.append(None)
        elif hit:
            verdicts.append("late")
        else:
            verdicts.append("paused" if schedule["state"] == "paused" else "missed")
    return verdicts


def describe_gap(schedule, kind, fire, grace):
    skill_id, cron = schedule["skill_id"], schedule["cron"]
    when = f"{iso(fire)} UTC ({cron}, {schedule['timezone']})"
    if kind == "paused":
        return f"{skill_id} is paused: it did not run at {when}; resume it or remove the skill"
    if kind == "late":
        return f"{skill_id} started more than {grace:.0f} s after its {when} fire"
    return f"{skill_id} did not run at {when}; is its trigger lost or the engine down?"


def gap_findings(schedule, fires, runs, since, until, known_before):
    """A gap (consecutive bad fires) is alerted once, at its first fire's detection.

    ``known_before``: whether the first fire is the skill's first since it went live; otherwise
    it may continue an older gap, and never starts one.
    """
    grace = grace_for(schedule["interval_seconds"])
    found = []
    previous = None if known_before else "unknown"
    for fire, verdict in zip(fires, fire_verdicts(schedule, fires, runs), strict=True):
        if verdict and previous is None and since < fire + grace <= until:
            found.append(
                finding(schedule, verdict, fire, describe_gap(schedule, verdict, fire, grace))
            )
        previous = verdict
    return found


def failure_findings(schedule, runs, since, until):
    """A failing streak is alerted once, when it reaches SILENT_FAILURES runs."""
    finished = sorted((r for r in runs if r["status"] != "running"), key=lambda r: r["started_at"])
    found, streak = [], []
    for run in finished:
        streak = [*streak, run] if run["status"] == "failed" else []
        done = run["ended_at"] or run["started_at"]
        if len(streak) == SILENT_FAILURES and since < done <= until:
            detail = (
                f"{schedule['skill_id']} failed its last {SILENT_FAILURES} runs since "
                f"{iso(streak[0]['started_at'])} UTC: {run['error'] or 'no error message'}"
            )
            found.append(finding(schedule, "failing", streak[0]["started_at"], detail))
    return found


def current_state(schedule, fires, runs):
    """What is wrong now (the latest fire, the latest runs), for the decision record."""
    verdicts = fire_verdicts(schedule, fires, runs)
    finished = [r for r in runs if r["status"] != "running"]
    recent = sorted(finished, key=lambda r: r["started_at"])[-SILENT_FAILURES:]
    if len(recent) == SILENT_FAILURES and all(r["status"] == "failed" for r in recent):
        return "failing"
    # "normal" when well: the review's label statistics read any other label as an alert
    return (verdicts[-1] if verdicts else None) or "normal"


def history_window(schedule, since, until, now):
    """Fires and runs to read: far enough back to see a gap's start and a failing streak."""
    interval = schedule["interval_seconds"]
    fires_from = max(since - 2 * interval - grace_for(interval), until - WINDOW_SECONDS)
    runs_from = min(fires_from, since - (SILENT_FAILURES + 1) * interval)
    return {
        "fires": [fires_from, until - grace_for(interval)],
        "runs": [max(runs_from, now - WINDOW_SECONDS), now + 1],
    }


def decision(schedule, state, new, checked_at, history):
    return {
        "subject": schedule["skill_id"],
        "label": state,
        "decided_by": "rules",
        "fallback": False,
        "at": checked_at,
        "features": {
            "interval_seconds": schedule["interval_seconds"],
            "grace_seconds": grace_for(schedule["interval_seconds"]),
            "state": schedule["state"],
            "fires": len(history["fires"]),
            "runs": len(history["runs"]),
        },
        "detail": {"alerted": [f["kind"] for f in new], "error": history.get("error")},
    }


@skill.function(
    fn_id="cron-watchdog",
    trigger=[skill.cron("* * * * *"), skill.event("cron-watchdog/check.requested")],
    retries=2,
    # One tick at a time; a check asked by hand is not skipped because a tick is running.
    singleton=skill.singleton("skip", key="event.name"),
)
def cron_watchdog(ctx):
    asked = ctx.event.data if ctx.event.name == "cron-watchdog/check.requested" else {}

    def clock():
        if asked.get("now") is not None:
            return float(asked["now"])
        if ctx.event.ts:
            return ctx.event.ts / 1000  # the tick's own time, whatever the start lag
        return datetime.datetime.now(datetime.UTC).timestamp()

    def previous_check(now):
        """When the last completed check (not this run) started: it owned detections up to then."""
        if asked.get("since") is not None:
            return float(asked["since"])
        mine = ctx.capabilities.ledger.runs(SELF, since=now - CATCH_UP_SECONDS, until=now + 1)
        done = [
            r["started_at"]
            for r in mine["runs"]
            if r["status"] == "completed" and r["run_id"] != ctx.run_id
        ]
        return max(done) if done else None

    def read_history(schedule, window):
        name, fn = schedule["skill_id"], schedule["function_id"]
        try:
            fires = ctx.capabilities.ledger.fires(
                name, since=window["fires"][0], until=window["fires"][1], function=fn
            )
            runs = ctx.capabilities.ledger.runs(
                name, since=window["runs"][0], until=window["runs"][1], function=fn
            )
            live, start = schedule["active_since"], window["fires"][0]
            # Is the window's first fire the first since the skill went live? Otherwise it may
            # continue an older gap, and never starts one.
            known = live is not None and start - live <= WINDOW_SECONDS
            if known and live < start:
                try:
                    known = not ctx.capabilities.ledger.fires(
                        name, since=live, until=start, function=fn
                    )
                except skill.CapabilityRefused:
                    known = False  # over a thousand fires since it went live: not its first
        except skill.CapabilityError as err:
            return {"fires": [], "runs": [], "known_before": False, "error": str(err)}
        return {"fires": fires, "runs": runs["runs"], "known_before": known}

    def cron_skills():
        return ctx.capabilities.ledger.cron_skills()

    def alert(found):
        text = f"cron watchdog: {found['detail']}"
        return ctx.capabilities.notify.post(CHANNEL, text, thread=f"watchdog:{found['skill_id']}")

    now = ctx.step.run("clock", clock)
    previous = ctx.step.run("previous-check", previous_check, now)
    since, until = owned(now, previous)
    schedules = ctx.step.run("cron-skills", cron_skills)
    findings, decisions = [], []
    for schedule in sorted(schedules, key=lambda s: (s["skill_id"], s["function_id"])):
        if schedule["skill_id"] == SELF:
            continue  # a watchdog that does not run cannot say so; the heartbeat's reader can
        window = history_window(schedule, since, until, now)
        history = ctx.step.run(
            "read-history", read_history, schedule, window, label=schedule["skill_id"]
        )
        new = gap_findings(
            schedule, history["fires"], history["runs"], since, until, history["known_before"]
        )
        new += failure_findings(schedule, history["runs"], since, until)
        state = current_state(schedule, history["fires"], history["runs"])
        decisions.append(decision(schedule, state, new, until, history))
        findings += new
    messages = [
        ctx.step.run("alert", alert, f, label=f["skill_id"])["message_id"] for f in findings
    ]
    for f in findings:
        ctx.log(f["detail"], kind=f["kind"], skill=f["skill_id"])
    return {
        "status": "ok",
        "checked_at": until,
        "since": since,
        "skills": len(decisions),
        "findings": findings,
        "messages": messages,
        "decisions": decisions,
    }
