"""The console in real Chromium against the real platform (engine, sidecar, agent with a
scripted LLM): log in; chat → a skill is written → review → approve → its run appears live →
its steps; reject with a reason; diff; roll back; send an event; mark an incident a false
alarm; escaping; keyboard and labels; axe-core; a part down.

The tests of this module run in order and share the platform (each builds on the skill the
chat wrote). No timed assertions: waits are generous upper bounds on a loaded machine.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from loopwright.engine_client import EngineClient, EngineTarget
from loopwright.ledger import LedgerReader, LedgerWriter, RunRecord
from loopwright.store import open_store
from review import proposals
from review.backtest import Comparison, Score
from review.proposals import Proposal
from review.runner import Review
from skills_core.capabilities.incidents import IncidentStore, Observation
from skills_core.capabilities.notify.inbox import post_once
from skills_core.capabilities.notify.messages import PostRequest
from skills_core.capabilities.store import CapabilityStore
from tests.console._platform import (
    EVENT,
    SKILL_ID,
    XSS,
    Platform,
    ping_source,
    platform,
    store_url,
)
from tests.console.conftest import AXE

# Chromium and four processes on a loaded 2-core machine: generous per-test limits.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
WAIT_MS = 90_000
README_SHOTS = os.environ.get("LOOPWRIGHT_README_SHOTS") == "1"
DOCS = Path(__file__).resolve().parents[2] / "docs"
PAGES = ["/", "/chat", "/skills", f"/skills/{SKILL_ID}", "/runs", "/events", "/incidents",
         "/review", "/inbox"]  # fmt: skip


@pytest.fixture(scope="module")
def plat(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with platform(tmp_path_factory.mktemp("console-browser")) as p:
        yield p


def login(page: Any, plat: Platform, user: str = "Ann") -> None:
    page.fill("#token", plat.console.token)
    page.fill("#user", user)
    page.click("button:has-text('Log in')")


@pytest.fixture(scope="module")
def context(chromium: Any, plat: Platform) -> Iterator[Any]:
    ctx = chromium.new_context(viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(WAIT_MS)
    page = ctx.new_page()
    page.goto(f"{plat.console.url}/")
    login(page, plat)
    page.close()
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: Any) -> Iterator[Any]:
    p = context.new_page()
    yield p
    p.close()


def shot(page: Any, name: str) -> None:
    if README_SHOTS:
        page.screenshot(path=str(DOCS / name), full_page=False)


def registered(plat: Platform, fn_id: str) -> bool:
    resp = httpx.get(f"{plat.engine.url}/v1/apps/loopwright-skills/functions", timeout=5)
    return resp.status_code == 200 and any(f["slug"].endswith(fn_id) for f in resp.json())


def wait_for(probe: Any, what: str, timeout_s: float = 60) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def events_named(plat: Platform, name: str) -> int:
    resp = httpx.get(f"{plat.engine.url}/v1/events", params={"name": name, "limit": 100})
    return len(resp.json()["data"])


def test_login_then_back_to_where_the_user_was(chromium: Any, plat: Platform) -> None:
    ctx = chromium.new_context()
    try:
        page = ctx.new_page()
        page.goto(f"{plat.console.url}/runs?status=completed")
        assert page.url.startswith(f"{plat.console.url}/login?next=")
        page.fill("#token", "not-the-token")
        page.fill("#user", "Mallory")
        page.click("button:has-text('Log in')")
        assert "not this console's login token" in page.inner_text("#login-error")
        login(page, plat)
        assert page.url == f"{plat.console.url}/runs?status=completed"
        ctx.clear_cookies()  # the session is gone (expired or logged out elsewhere)
        page.goto(f"{plat.console.url}/skills")
        assert "/login?next=%2Fskills" in page.url
        login(page, plat)
        assert page.url == f"{plat.console.url}/skills"
    finally:
        ctx.close()


def test_chat_writes_a_skill_then_review_approve_and_its_run_appears_live(
    context: Any, page: Any, plat: Platform
) -> None:
    page.goto(f"{plat.console.url}/chat")
    page.fill("#title", "pings")
    page.click("button:has-text('Start a conversation')")
    assert re.search(r"/chat/[^/]+$", page.url)
    page.fill("#message", f"Answer pings on {EVENT}. {XSS}")
    page.click("button:has-text('Send')")
    review_link = page.locator("#chat-log a.skill-review")
    review_link.wait_for()
    log = page.inner_text("#chat-log")
    assert "turn.queued" in log and "turn.started" in log and "write_skill" in log
    assert "✓ validated" in log and "turn.finished" in log
    assert "<script>window.__xss=1</script>" in log  # the LLM's text, shown as text
    assert page.evaluate("window.__xss") is None
    assert "budget used $" in page.inner_text("#chat-log li[data-kind='turn.finished']")

    review_link.click()
    assert page.url.endswith(f"/skills/{SKILL_ID}")
    assert "awaiting_approval" in page.inner_text("#actions-h")
    assert "count-fields" in page.inner_text(".code-block")
    assert "<script>window.__xss=1</script>" in page.inner_text("#manifest-h + details")

    runs_tab = context.new_page()
    runs_tab.goto(f"{plat.console.url}/runs")
    runs_tab.wait_for_selector("#live-state[data-connected='true']", state="attached")
    runs_tab.evaluate("window.__marker = 42")

    page.click("button:has-text('Approve v1')")
    assert "v1 approved" in page.inner_text(".flash.ok")
    assert "approved by Ann (console)" in page.inner_text(".timeline")
    wait_for(lambda: registered(plat, SKILL_ID), "the approved skill to be registered")
    plat.send(EVENT, {"n": 1})

    row = runs_tab.locator("#runs tbody tr", has_text=SKILL_ID).first
    row.wait_for()
    runs_tab.locator("#runs tbody tr[data-status='completed']", has_text=SKILL_ID).wait_for()
    assert runs_tab.evaluate("window.__marker") == 42  # it arrived without a reload
    shot(runs_tab, "console-runs.png")
    row.locator("a").first.click()
    assert "/runs/" in runs_tab.url
    steps = runs_tab.inner_text(".steps")
    assert "count-fields" in steps and "answer" in steps
    assert runs_tab.locator(".bar").count() >= 2
    assert '"reply": "pong"' in runs_tab.inner_text("#out-h + details")
    runs_tab.close()


def test_reject_with_a_reason(page: Any, plat: Platform) -> None:
    plat.submit(ping_source("pong v2"), reason="a person's edit")
    page.goto(f"{plat.console.url}/skills/{SKILL_ID}?v=2")
    page.fill("#reason", "too chatty for a ping")
    page.click("button:has-text('Reject v2')")
    assert "v2 rejected" in page.inner_text(".flash.ok")
    entry = page.locator(".timeline li", has_text="v2").inner_text()
    assert "rejected" in entry and "too chatty for a ping" in entry
    versions = plat.skill()["versions"]
    assert isinstance(versions, list) and versions[1]["state"] == "rejected"


def test_reject_without_a_reason_is_refused(page: Any, plat: Platform) -> None:
    plat.submit(ping_source("pong v3"), reason="third try")
    page.goto(f"{plat.console.url}/skills/{SKILL_ID}?v=3")
    page.eval_on_selector("#reason", "el => el.removeAttribute('required')")
    page.click("button:has-text('Reject v3')")
    assert "Say why you reject it" in page.inner_text(".flash.error")
    versions = plat.skill()["versions"]
    assert isinstance(versions, list) and versions[2]["state"] == "awaiting_approval"


def test_diff_two_versions(page: Any, plat: Platform) -> None:
    page.goto(f"{plat.console.url}/skills/{SKILL_ID}?v=3")
    page.select_option("#diff-from", "1")
    page.select_option("#diff-to", "2")
    page.click("button:has-text('Show diff')")
    changed = page.locator("table.diff tr.d-changed")
    assert changed.count() == 1
    cells = changed.locator("td.code")
    assert '"pong"' in cells.nth(0).inner_text() and '"pong v2"' in cells.nth(1).inner_text()
    shot(page, "console-diff.png")


def test_approve_then_roll_back(page: Any, plat: Platform) -> None:
    page.goto(f"{plat.console.url}/skills/{SKILL_ID}?v=3")
    page.click("button:has-text('Approve v3')")
    wait_for(lambda: plat.skill()["active_version"] == 3, "v3 active")
    page.goto(f"{plat.console.url}/skills/{SKILL_ID}?v=1")
    page.click("button:has-text('Roll back to v1')")
    assert "rolled back to v1" in page.inner_text(".flash.ok")
    assert plat.skill()["active_version"] == 1
    assert "active version: 1" in page.inner_text(".facts")
    page.click("button:has-text('Pause')")
    assert "paused" in page.inner_text(".flash.ok") and plat.skill()["paused"] is True
    page.click("button:has-text('Resume')")
    assert "resumed" in page.inner_text(".flash.ok") and plat.skill()["paused"] is False


def test_test_run_with_event_data(page: Any, plat: Platform) -> None:
    page.goto(f"{plat.console.url}/skills/{SKILL_ID}")
    page.fill("#test-event", '{"data": {"n": 5, "m": 6, "o": 7}}')
    page.click("button:has-text('Run test')")  # htmx: the result replaces #test-result only
    result = page.locator("#test-result")
    result.locator(".ok").wait_for()
    assert "Passed" in result.inner_text() and "dry run of v1" in result.inner_text()
    assert '"fields": 3' in result.inner_text()  # the step saw the event data we gave
    page.fill("#test-event", "{not json")
    page.click("button:has-text('Run test')")
    page.locator("#test-result .flash.error").wait_for()
    assert "Invalid event JSON" in result.inner_text()


def test_send_an_event_from_the_editor(page: Any, plat: Platform) -> None:
    before = events_named(plat, EVENT)
    page.goto(f"{plat.console.url}/events")
    page.fill("#event-json", '{"name": "console/ping", "data": {')
    page.click("button:has-text('Send event')")
    assert "Invalid JSON" in page.inner_text("#event-error")
    assert page.get_attribute("#event-json", "aria-invalid") == "true"
    page.fill("#event-json", '{"data": {}}')
    page.click("button:has-text('Send event')")
    assert 'needs a "name"' in page.inner_text("#event-error")
    assert events_named(plat, EVENT) == before  # nothing was sent
    page.fill("#event-json", '{"name": "console/ping", "data": {"n": 2, "from": "editor"}}')
    page.click("button:has-text('Send event')")
    assert "Sent console/ping" in page.inner_text(".flash.ok")
    assert events_named(plat, EVENT) == before + 1

    def run_listed() -> bool:
        page.goto(f"{plat.console.url}/events")
        return page.locator("td a", has_text=SKILL_ID).count() > 0

    wait_for(run_listed, "the event's run to be listed")


def test_rerun_a_run_with_the_same_event(page: Any, plat: Platform) -> None:
    page.goto(f"{plat.console.url}/runs?skill={SKILL_ID}&status=completed")
    page.locator("#runs tbody tr a", has_text="01").first.click()
    old = page.url.rsplit("/", 1)[1]
    page.click("button:has-text('Rerun (same event)')")
    assert "console/ping sent again" in page.inner_text(".flash.ok")
    if "/runs/" in page.url:  # the new run started within the wait: its page
        assert page.url.rsplit("/", 1)[1] != old


SLEEPER, SLEEP_EVENT = "console-sleeper", "console/sleep"
#: A skill with a run in each of the two reviewed weeks (written to the ledger by the test).
REVIEWED = "console-reviewed"


def sleeper_source() -> str:
    manifest = {"id": SLEEPER, "description": "Sleeps for an hour: a run to cancel",
                "author": "human", "triggers": [{"event": SLEEP_EVENT}], "capabilities": {}}  # fmt: skip
    return (
        f"MANIFEST = {json.dumps(manifest)}\n\n\n"
        f'@skill.function(fn_id="{SLEEPER}", trigger=skill.event("{SLEEP_EVENT}"))\n'
        "def handler(ctx):\n"
        '    ctx.step.run("before", lambda: {"ok": True})\n'
        '    ctx.step.sleep("nap", 3_600_000)\n'
        '    return ctx.step.run("after", lambda: {"woke": True})\n'
    )


def submit_sleeper(plat: Platform, reason: str) -> int:
    """A new version of the sleeper (it waits for a person: this platform's policy)."""
    source = sleeper_source() + f"# {reason}\n"
    added = httpx.post(f"{plat.sidecar.url}/v1/skills/{SLEEPER}/versions", timeout=60,
                       json={"source": source, "author": "human", "reason": reason})  # fmt: skip
    assert added.status_code == 200, added.text
    return int(added.json()["version"])


def test_cancel_a_running_run(page: Any, plat: Platform) -> None:
    """Run page → Cancel → the page shows it cancelled, and the engine and the ledger agree."""
    version = submit_sleeper(plat, "to cancel")
    approved = httpx.post(f"{plat.sidecar.url}/v1/skills/{SLEEPER}/approve", timeout=60,
                          json={"version": version, "by": "test"})  # fmt: skip
    assert approved.status_code == 200, approved.text
    wait_for(lambda: registered(plat, SLEEPER), "the sleeper to be registered")
    plat.send(SLEEP_EVENT, {})
    ledger = LedgerReader(open_store(store_url(plat.workdir)))
    run = wait_for(lambda: next(iter(ledger.runs(skill=SLEEPER, status="running")), None),
                   "the sleeper's run in the ledger")  # fmt: skip
    page.goto(f"{plat.console.url}/runs/{run.run_id}")
    assert page.inner_text(".facts .status") == "running"
    page.click("button:has-text('Cancel run')")
    assert "cancellation requested" in page.inner_text(".flash.ok")

    def shown_cancelled() -> bool:
        page.goto(f"{plat.console.url}/runs/{run.run_id}")
        return page.inner_text(".facts .status") == "cancelled"

    wait_for(shown_cancelled, "the run page to show the run cancelled")
    assert page.locator("button:has-text('Cancel run')").count() == 0
    engine = EngineClient(EngineTarget.from_env(url=plat.engine.url), timeout_s=10)
    try:
        assert str(engine.run(run.run_id)["status"]).lower() == "cancelled"
    finally:
        engine.close()
    assert ledger.run(run.run_id).status == "cancelled"
    assert not any(s.name == "after" for s in ledger.steps(run.run_id))


def test_mark_an_incident_a_false_alarm(page: Any, plat: Platform) -> None:
    """The incident as the health check opens it in the platform's incident store, its triage
    in the inbox thread keyed by its id; then resolved, it moves to the past ones."""
    incidents = IncidentStore(open_store(store_url(plat.workdir)))
    now = time.time()
    seen = Observation(service="checkout", label="degraded", signals=("p95", "error_rate"),
                       reason=f"p95 1.8x baseline {XSS}", onset=now - 300, checked_at=now)  # fmt: skip
    opened = incidents.observe(seen)["incident"]
    store = CapabilityStore(plat.sidecar.capabilities_db)
    request = PostRequest(channel="inbox", text=f"Triage: a deploy at 11:58. {XSS}",
                          thread_key=opened["id"], dedupe_key="console-test-1")  # fmt: skip
    post_once(store, "incident-triage", request, "inbox")
    page.goto(f"{plat.console.url}/incidents")
    incident = page.locator("#open-h ~ article.incident", has_text=opened["id"])
    text = incident.inner_text()
    assert "degraded" in text and "checkout" in text and "error_rate, p95" in text
    assert f"p95 1.8x baseline {XSS}" in text  # escaped: shown as text, never run
    assert f"Triage: a deploy at 11:58. {XSS}" in text
    assert page.evaluate("window.__xss") is None
    page.goto(f"{plat.console.url}/")
    assert opened["id"] in page.inner_text("#inc-h + ul")
    page.goto(f"{plat.console.url}/incidents")
    incident.locator("button:has-text('Mark false alarm')").click()
    assert "marked 'false alarm'" in page.inner_text(".flash.ok")
    page.goto(f"{plat.console.url}/review")
    signals = page.inner_text("#signals-h + table")
    assert opened["id"] in signals and "false alarm" in signals and "Ann (console)" in signals
    page.goto(f"{plat.console.url}/inbox")
    assert "Triage: a deploy at 11:58." in page.inner_text("main")
    for n in range(1, 10):  # normal checks until the policy resolves it
        calm = Observation(service="checkout", label="normal", signals=(), reason="ok",
                           onset=now + 60 * n, checked_at=now + 60 * n)  # fmt: skip
        if incidents.observe(calm)["action"] == "resolved":
            break
    page.goto(f"{plat.console.url}/incidents")
    assert page.locator("#open-h ~ article.incident", has_text=opened["id"]).count() == 0
    past = page.locator("#past-h ~ article.incident", has_text=opened["id"])
    assert "resolved" in past.inner_text() and "Resolved" in past.inner_text()


def test_review_reports_scorecards_and_proposals_accept_and_reject(
    page: Any, plat: Platform
) -> None:
    """Before any review: the page says what will appear and when. Two weekly reports (as
    `loopwright review run` makes them), then two proposals: accepting the one whose version
    waits approves it in the sidecar; rejecting the other declines it with the reason."""
    store = open_store(store_url(plat.workdir))
    page.goto(f"{plat.console.url}/review")
    assert "0 6 * * 1" in page.inner_text("#review-empty")
    review = Review(store, LedgerReader(store))
    now = time.time()
    for day in (8, 1):  # a run in each week, as the SDK middleware records it
        LedgerWriter(store).record_run(
            RunRecord(run_id=f"01REVIEW{day:018d}", app_id="loopwright-skills",
                      function_id=REVIEWED, skill_id=REVIEWED, skill_version=1, trigger="cron",
                      event_name=None, event_id=None, cron="*/30 * * * *", status="completed",
                      started_at=now - day * 86_400, ended_at=now - day * 86_400 + 0.2,
                      duration_ms=200.0)
        )  # fmt: skip
    review.run(now - 7 * 86_400)
    latest = review.run(now)
    base = int(plat_skill(plat, SLEEPER).get("active_version") or 0) or submit_and_approve(plat)
    candidate = submit_sleeper(plat, "proposed by the review")
    scores = Comparison(
        Score(decisions=40, alerts=9, labelled=9, false_alarms=6.0, false_alarm_count=6,
              true_alerts=3, incidents=3, caught=("i1", "i2", "i3"), missed=()),
        Score(decisions=40, alerts=4, labelled=4, false_alarms=1.0, false_alarm_count=1,
              true_alerts=3, incidents=3, caught=("i1", "i2", "i3"), missed=()),
    ).to_json()  # fmt: skip
    made = {}
    for n, (state, version) in enumerate([("awaiting-approval", candidate), ("shadowing", None)]):
        item = Proposal(
            id=f"p-console{n}", report_id=latest["id"], skill_id=SLEEPER, base_version=base,
            path="tuning", state=state, candidate_version=version, reason=f"fewer false alarms {XSS}",
            evidence={}, changes={}, backtest=scores, shadow=None, watch=None, source=None,
            created_at=now + n, updated_at=now + n, promoted_at=None,
        )  # fmt: skip
        made[state] = proposals.create(store, item)[0]

    page.goto(f"{plat.console.url}/review")
    assert latest["id"] in page.inner_text("#report-h")
    row = page.locator("#scorecards tr", has_text=REVIEWED)
    assert row.locator("td.icir").inner_text()  # ICIR, or why there is none yet
    label = str(row.locator("svg.spark").get_attribute("aria-label"))
    assert label.startswith(f"ICIR of {REVIEWED} per weekly report: ")
    assert label.count(":") == 3  # the title, then two weeks with a value or "-" each
    first = page.locator(f"#proposal-{made['awaiting-approval'].id}")
    assert f"fewer false alarms {XSS}" in first.inner_text()
    assert "83% fewer" in first.inner_text()  # 6 false alarms -> 1 in the backtest
    first.locator("button:has-text('Accept')").click()
    assert "approved" in page.inner_text(".flash.ok")
    assert plat_skill(plat, SLEEPER)["active_version"] == candidate
    assert proposals.get(store, made["awaiting-approval"].id).state == "promoted"
    second = page.locator(f"#proposal-{made['shadowing'].id}")
    second.locator("input[name=reason]").fill("not this week")
    second.locator("button:has-text('Reject')").click()
    assert page.locator(".flash.ok").count() == 1
    assert proposals.get(store, made["shadowing"].id).state == "declined"
    assert page.locator(f"#proposal-{made['shadowing'].id} button").count() == 0
    assert page.evaluate("window.__xss") is None


def plat_skill(plat: Platform, skill_id: str) -> dict[str, Any]:
    data: dict[str, Any] = httpx.get(f"{plat.sidecar.url}/v1/skills/{skill_id}").json()
    return data


def submit_and_approve(plat: Platform) -> int:
    version = submit_sleeper(plat, "a base version")
    approved = httpx.post(f"{plat.sidecar.url}/v1/skills/{SLEEPER}/approve", timeout=60,
                          json={"version": version, "by": "test"})  # fmt: skip
    assert approved.status_code == 200, approved.text
    return version


def test_nothing_from_a_skill_or_an_llm_runs_as_script(page: Any, plat: Platform) -> None:
    conversations = httpx.get(f"{plat.agent.url}/v1/conversations").json()["conversations"]
    for path in [*PAGES, f"/chat/{conversations[0]['id']}"]:
        page.goto(f"{plat.console.url}{path}")
        assert page.evaluate("window.__xss") is None, path
    page.goto(f"{plat.console.url}/chat/{conversations[0]['id']}")
    assert "<script>window.__xss=1</script>" in page.inner_text(".turns")


def test_unknown_ids_give_a_404_page_saying_what(page: Any, plat: Platform) -> None:
    for path, text in [
        ("/skills/no-such-skill", "Not found: skill 'no-such-skill'"),
        ("/runs/01JZZZZZZZZZZZZZZZZZZZZZZZ", "Not found: run '01JZZZZZZZZZZZZZZZZZZZZZZZ'"),
        (f"/skills/{SKILL_ID}?v=99", f"Not found: version 99 of skill '{SKILL_ID}'"),
        ("/chat/nope", "Not found: conversation 'nope'"),
    ]:
        response = page.goto(f"{plat.console.url}{path}")
        assert response.status == 404, path
        assert text in page.inner_text("main"), path


UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea, button, a[href]')]
  .filter(el => el.type !== 'hidden' && el.offsetParent !== null)
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
    && !el.getAttribute('aria-labelledby') && !(el.textContent || '').trim())
  .map(el => el.outerHTML.slice(0, 120))"""


def test_every_control_has_a_label_and_the_keyboard_reaches_everything(
    page: Any, plat: Platform
) -> None:
    for path in PAGES:
        page.goto(f"{plat.console.url}{path}")
        assert page.evaluate(UNLABELLED) == [], path
    page.goto(f"{plat.console.url}/skills")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.goto(f"{plat.console.url}/skills")
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "Runs":
            break
    page.keyboard.press("Enter")
    page.wait_for_url(f"{plat.console.url}/runs")
    page.goto(f"{plat.console.url}/skills/{SKILL_ID}?v=1")
    page.focus("#diff-from")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "diff-to"


AXE_RUN = """async () => {
  const r = await axe.run(document, {resultTypes: ['violations']});
  return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => v.id + ': ' + v.help + ' @ ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', '));
}"""


def test_axe_finds_no_serious_violations(chromium: Any, plat: Platform) -> None:
    ctx = chromium.new_context(bypass_csp=True)  # to inject axe; the console's CSP stays on
    try:
        page = ctx.new_page()
        page.goto(f"{plat.console.url}/login")
        page.add_script_tag(path=str(AXE))
        assert page.evaluate(AXE_RUN) == [], "/login"
        login(page, plat)
        for path in PAGES:
            page.goto(f"{plat.console.url}{path}")
            page.add_script_tag(path=str(AXE))
            assert page.evaluate(AXE_RUN) == [], path
    finally:
        ctx.close()


def test_a_part_down_is_named_and_the_rest_works(page: Any, plat: Platform) -> None:
    plat.agent.stop()
    page.goto(f"{plat.console.url}/chat")
    assert "The agent is down" in page.inner_text(".outage")
    page.goto(f"{plat.console.url}/skills")
    assert SKILL_ID in page.inner_text("table.grid")
    page.goto(f"{plat.console.url}/")
    assert "agent: down" in page.inner_text(".parts")
    assert "engine: up" in page.inner_text(".parts")
