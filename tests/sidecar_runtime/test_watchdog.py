"""The cron watchdog on the real engine and sidecar: the core skill runs sandboxed, reads the
sidecar's registry and run ledger through the ledger capability, and its alert about a paused
cron skill reaches the inbox within two intervals, once; a generated skill reads only the
skills a person granted it, and never every skill. (Silent failures are covered by the
dry runs in tests/core_skills: real failing runs have real end times, which real ticks of the
watchdog would alert too, so an injected clock cannot own them here.)

Time is injected through the watchdog's ``cron-watchdog/check.requested`` event (``now``,
``since``); the watched skills fire once a year, so no real tick fires them during the test.
"""

from __future__ import annotations

import datetime
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from skills_core.classify import core_skill_path

from ._harness import Harness, poll, skill_source
from .conftest import running_harness, settings_for

YEARLY = "0 0 1 1 *"
GRACE = 300.0  # half a (day-capped) interval, capped at 5 minutes


def cron_skill(skill_id: str) -> str:
    """A skill on a yearly cron that tests can also start by event."""
    return f'''MANIFEST = {{
    "id": "{skill_id}",
    "description": "test cron skill {skill_id}",
    "author": "agent",
    "triggers": [{{"cron": "{YEARLY}"}}, {{"event": "test/{skill_id}", "example": {{}}}}],
    "capabilities": {{}},
}}


@skill.function(
    fn_id="{skill_id}",
    trigger=[skill.cron("{YEARLY}"), skill.event("test/{skill_id}")],
    retries=0,
)
def handler(ctx):
    divisor = 0 if ctx.event.data.get("fail") else 1
    return ctx.step.run("work", lambda: 1 / divisor)
'''


@pytest.fixture(scope="module")
def harness(engine_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    work = tmp_path_factory.mktemp("watchdog")
    core = work / "core"
    core.mkdir()
    shutil.copy(core_skill_path("cron-watchdog"), core / "cron_watchdog.py")
    settings = settings_for(work, engine_url, "lw-watchdog", core_dir=core)
    with running_harness(settings, engine_url) as harness:
        harness.wait_active("cron-watchdog", 1, timeout=60)
        yield harness


def check(harness: Harness, now: float, since: float) -> dict[str, Any]:
    """One check by this module's watchdog (other modules' core apps stay registered with the
    shared engine and receive the event too: their sidecars are gone, so their runs fail)."""
    sent = harness.send("cron-watchdog/check.requested", {"now": now, "since": since})
    slug = f"{harness.sidecar.settings.app_id}-cron-watchdog"

    def mine() -> dict[str, Any] | None:
        return next((r for r in harness.runs(sent) if r.get("function_slug") == slug), None)

    run = harness.wait_run(poll(mine, what="this module's watchdog run")["run_id"])
    assert run["status"] == "Completed", run
    output: dict[str, Any] = run["output"]
    return output


def alerts(harness: Harness, skill_id: str) -> list[str]:
    texts = [str(m.get("text")) for m in harness.inbox.messages()]
    return [t for t in texts if t.startswith(f"cron watchdog: {skill_id} ")]


def test_a_paused_cron_skill_is_alerted_within_two_intervals_once(harness: Harness) -> None:
    assert harness.submit("wd-paused", cron_skill("wd-paused"))["state"] == "active"
    assert harness.post("/v1/skills/wd-paused/pause", {"by": "ops"}).status_code == 200
    year = datetime.datetime.now(datetime.UTC).year + 1
    fire = datetime.datetime(year, 1, 1, tzinfo=datetime.UTC).timestamp()
    quiet = check(harness, fire + GRACE - 30, fire + GRACE - 90)  # still inside the grace
    assert not [f for f in quiet["findings"] if f["skill_id"] == "wd-paused"]
    at = fire + GRACE + 30
    assert at - fire < 2 * 86_400  # two intervals
    out = check(harness, at, at - 60)
    [finding] = [f for f in out["findings"] if f["skill_id"] == "wd-paused"]
    assert (finding["kind"], finding["at"]) == ("paused", fire)
    [text] = poll(lambda: alerts(harness, "wd-paused") or None, what="the watchdog's alert")
    assert "wd-paused is paused: it did not run at" in text and f"{year}-01-01 00:00:00" in text
    decision = next(d for d in out["decisions"] if d["subject"] == "wd-paused")
    assert (decision["label"], decision["features"]["state"]) == ("paused", "paused")
    again = check(harness, at + 60, at)  # the next tick: the same gap, no second alert
    assert not [f for f in again["findings"] if f["skill_id"] == "wd-paused"]
    assert len(alerts(harness, "wd-paused")) == 1


SNOOP = """
data = ctx.event.data
def read():
    if data.get("skill"):
        return ctx.capabilities.ledger.runs(data["skill"], since=data["since"], until=data["until"])
    return ctx.capabilities.ledger.cron_skills()
return ctx.step.run("read", read)
"""


def test_a_generated_skill_reads_only_what_a_person_granted(harness: Harness) -> None:
    def snoop(skill_id: str, skills: list[str]) -> None:
        source = skill_source(
            skill_id, SNOOP, capabilities={"ledger": {"skills": skills}}, example={}
        )
        assert harness.submit(skill_id, source)["state"] == "awaiting_approval"  # a person reads
        assert harness.post(
            f"/v1/skills/{skill_id}/approve", {"version": 1, "by": "ana"}
        ).is_success
        harness.wait_active(skill_id, 1)

    snoop("wd-snoop", ["*"])  # approved, yet '*' is for core skills only
    run = harness.trigger("test/wd-snoop")
    assert run["status"] == "Failed" and "only core skills" in str(run["output"]), run
    snoop("wd-named", ["wd-named"])
    now = datetime.datetime.now(datetime.UTC).timestamp()
    window = {"since": now - 3600, "until": now + 1}
    denied = harness.trigger("test/wd-named", {"skill": "cron-watchdog", **window})
    assert denied["status"] == "Failed" and "is not granted" in str(denied["output"]), denied
    assert "run_id" not in str(denied["output"])  # nothing of the watchdog's runs came back
    own = harness.trigger("test/wd-named", {"skill": "wd-named", **window})
    assert own["status"] == "Completed", own
    # Its own runs: the denied one at least (the running call's row may still be queued: the
    # ledger commits a running run's rows in the background, docs/LEDGER.md).
    runs = own["output"]["runs"]
    assert denied["run_id"] in {r["run_id"] for r in runs}, own
    assert {r["function_id"] for r in runs} == {"lw-watchdog-wd-named"}, own
