"""The live shadow on the real engine and sidecar (issue 8 §5): a candidate runs beside the
active version on the same events, in the worker pool, with the platform's real capabilities
and a scripted LLM over HTTP. Its posts never reach the inbox and its events are never sent
(recorded instead), its runs and decisions are in the ledger under its own subject and not in
the skill's scorecard, its LLM spend is counted; the review pairs its decisions with the
active version's, promotes after N agreeing runs or drops on a dangerous disagreement, and
unregisters it either way. A candidate that fails validation never starts.

Time: the review's ``now`` is passed in; the runs are real, so ``now`` is the wall clock."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from loopwright.ledger import LedgerReader, shadow_subject
from loopwright.store import Store, open_store
from review import proposals
from review.errors import SidecarRefused
from review.gate import Verdict
from review.platform import SidecarPlatform
from review.runner import Review
from review.scorecards import scorecards
from review.selection import Pick
from sidecar.capabilities.platform import PlatformCapabilityProvider
from skills_core.capabilities.notify.inbox import read_inbox
from skills_core.capabilities.scripted_llm import Reply, ScriptedLLM
from skills_core.capabilities.services import CapabilityServices
from skills_core.capabilities.settings import CapabilitySettings
from tests.sidecar_runtime._engine import running_engine
from tests.sidecar_runtime._harness import Harness, poll
from tests.sidecar_runtime.conftest import running_harness, settings_for

pytestmark = pytest.mark.slow
APP = "lw-live-shadow"
RUNS = 3


def classifier(skill_id: str, critical: float = 0.5, *, trust_llm: bool = False) -> str:
    """An event-triggered classifier: rules decide (or the LLM, when ``trust_llm``); an alert
    posts to the inbox and emits ``<id>/alerted``. The LLM is asked on every run."""
    manifest = {
        "id": skill_id,
        "description": f"live shadow test classifier {skill_id}",
        "author": "agent",
        "triggers": [{"event": f"{skill_id}/check", "example": {"value": 0.7}}],
        "capabilities": {
            "notify": {"channels": ["inbox"]},
            "llm": {"per_run_usd": 0.01, "per_week_usd": 0.5},
        },
        "emits": [f"{skill_id}/alerted"],
    }
    return f'''MANIFEST = {json.dumps(manifest)}

VALUE_CRITICAL = {critical}
TRUST_LLM = {trust_llm}


def classify_rules(features):
    label = "critical" if features["value"] >= VALUE_CRITICAL else "normal"
    return {{"label": label, "floor": "normal"}}


@skill.function(fn_id="{skill_id}", trigger=skill.event("{skill_id}/check"), retries=0)
def handler(ctx):
    value = ctx.event.data["value"]

    def decide():
        rules = classify_rules({{"value": value}})
        answer = ctx.capabilities.llm.classify(f"value {{value}}", labels=["normal", "critical"])
        if TRUST_LLM:
            return {{"label": answer["label"], "by": "llm"}}
        return {{"label": rules["label"], "by": "rules"}}

    verdict = ctx.step.run("decide", decide)
    if verdict["label"] != "normal":
        text = f"{skill_id}: value {{value}} is {{verdict['label']}} (v={{VALUE_CRITICAL}})"
        ctx.step.run("post", lambda: ctx.capabilities.notify.post("inbox", text))
        ctx.step.send_event("alert", [skill.Event("{skill_id}/alerted", {{"value": value}})])
    decision = {{"subject": "svc", "label": verdict["label"], "decided_by": verdict["by"],
                "features": {{"value": value}}}}
    return {{"decisions": [decision]}}
'''


@dataclasses.dataclass
class Platform:
    harness: Harness
    llm: ScriptedLLM
    services: CapabilityServices
    store: Store
    ledger: LedgerReader
    sidecar: SidecarPlatform

    def review(self) -> Review:
        return Review(self.store, self.ledger, self.sidecar, shadow_runs=RUNS)

    def functions(self) -> dict[str, dict[str, Any]]:
        found = self.harness.engine.get(f"/v1/apps/{APP}/functions").json()
        return {str(f["slug"]): f for f in found if not f["archived"]}

    def inbox(self, skill_id: str) -> list[str]:
        return [m.text for m in read_inbox(self.services.store) if m.skill_id == skill_id]

    def events(self, name: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.harness.engine.get(
            "/v1/events", params={"name": name, "limit": 100}
        ).json()["data"]
        return found

    def live(self, skill_id: str) -> None:
        """Version 1 of ``skill_id`` active (it sends events: a person approves it)."""
        assert self.harness.submit(skill_id, classifier(skill_id))["state"] == "awaiting_approval"
        assert self.harness.post(f"/v1/skills/{skill_id}/approve", {"by": "ops"}).status_code == 200
        self.harness.wait_active(skill_id, 1, timeout=60)

    def check(self, skill_id: str, value: float) -> list[dict[str, Any]]:
        """Send one check; wait until both the active and the shadow run ended."""
        sent = self.harness.send(f"{skill_id}/check", {"value": value})
        runs = poll(
            lambda: (r := self.harness.runs(sent)) and len(r) == 2 and r,
            timeout=60,
            what=f"the active and the shadow run of {skill_id} for {value}",
        )
        return [self.harness.wait_run(r["run_id"], timeout=60) for r in runs]


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    work = tmp_path_factory.mktemp("live-shadow")
    with running_engine(work) as engine_url, ScriptedLLM() as llm:
        llm.respond_with(lambda request: Reply('{"label": "normal", "reason": "scripted"}'))
        caps = CapabilitySettings(db_path=work / "capabilities.db", llm=llm.settings())
        services = CapabilityServices.build(caps)
        settings = settings_for(work, engine_url, APP)
        provider = PlatformCapabilityProvider(services)
        with running_harness(settings, engine_url, provider=provider) as harness:
            store = open_store(settings.store)
            store.ensure()
            sidecar = SidecarPlatform(settings.origin)
            yield Platform(harness, llm, services, store, LedgerReader(store), sidecar)
            sidecar.close()


def propose(p: Platform, skill_id: str, source: str, now: float) -> dict[str, Any]:
    """A candidate that passed its backtest becomes a shadowing proposal (the review's path)."""
    review = p.review()
    pick = Pick(skill_id, 1, ("false-alarm rate",), {})
    passed = Verdict(True, "backtest passed (test)")
    return review.record_proposal(
        pick, 1, "tuning", source, {}, "test candidate", {}, passed, now, "report-test", False
    )


def test_an_agreeing_shadow_records_its_effects_and_is_promoted(platform: Platform) -> None:
    p, skill_id = platform, "ls-agree"
    p.live(skill_id)
    candidate = classifier(skill_id, critical=0.4)
    made = propose(p, skill_id, candidate, time.time())
    assert made["state"] == "shadowing"
    slug = f"{APP}-{skill_id}-shadow-{made['id'][-8:]}"
    assert slug in p.functions(), "the shadow is registered with the engine"
    shown = p.harness.api.get(f"/v1/shadows/{made['id']}").json()
    assert shown["state"] == "running" and shown["base_version"] == 1

    llm_before = len(p.llm.requests)
    runs = [run for value in (0.2, 0.8, 0.9) for run in p.check(skill_id, value)]
    assert all(r["status"] == "Completed" for r in runs), runs

    # The active version posted and emitted twice (0.8, 0.9); the shadow did neither.
    assert [t for t in p.inbox(skill_id) if "(v=0.4)" in t] == []
    assert len(p.inbox(skill_id)) == 2
    assert len(p.events(f"{skill_id}/alerted")) == 2
    effects = p.harness.api.get(f"/v1/shadows/{made['id']}").json()["effects"]
    kinds = sorted((e["capability"], e["method"]) for e in effects)
    assert kinds == [("events", "send")] * 2 + [("notify", "post")] * 2
    assert all("(v=0.4)" in e["args"]["text"] for e in effects if e["capability"] == "notify")
    # Real LLM calls for both: three each, the shadow's charged to its own runs.
    assert len(p.llm.requests) - llm_before == 6
    subject = shadow_subject(skill_id, made["id"])
    shadow_runs = p.ledger.runs(skill=subject)
    assert len(shadow_runs) == 3 and all(r.cost_usd > 0 for r in shadow_runs)
    assert all(r.function_id.endswith(f"-shadow-{made['id'][-8:]}") for r in shadow_runs)
    # The skill's own history: its three runs only; the shadow's decisions are its own.
    assert len(p.ledger.runs(skill=skill_id)) == 3
    assert len(p.ledger.decisions_of_runs([r.run_id for r in shadow_runs])) == 3
    now = time.time() + 1
    cards = scorecards(p.ledger, now - 86_400, now)
    assert [c.runs for c in cards if c.skill_id == skill_id] == [3]
    assert not [c for c in cards if "shadow" in c.skill_id]

    second = p.review().run(now)
    [action] = [a for a in second["actions"] if a["proposal"] == made["id"]]
    assert action["action"] in ("promoted", "awaiting-approval"), action
    stored = proposals.get(p.store, made["id"])
    assert stored.shadow is not None and stored.shadow["mode"] == "live"
    assert (stored.shadow["runs"], stored.shadow["dangerous"]) == (3, [])
    assert stored.shadow["llm_usd"] > 0
    if stored.state == "awaiting-approval":
        p.review().accept(made["id"], "ana", now)
    assert proposals.get(p.store, made["id"]).state == "promoted"
    assert p.harness.skill(skill_id)["active_version"] == 2  # type: ignore[index]
    # Stopped: unregistered from the engine, stored as stopped.
    assert slug not in p.functions()
    assert p.harness.api.get(f"/v1/shadows/{made['id']}").json()["state"] == "stopped"


def test_a_dangerous_disagreement_drops_the_candidate_and_unregisters_it(
    platform: Platform,
) -> None:
    p, skill_id = platform, "ls-danger"
    p.live(skill_id)
    # Same rules (the replay of recorded features agrees), but it trusts the LLM, which
    # answers normal: silent where the active version says critical. Only the live run sees it.
    made = propose(p, skill_id, classifier(skill_id, trust_llm=True), time.time())
    slug = f"{APP}-{skill_id}-shadow-{made['id'][-8:]}"
    assert slug in p.functions()
    p.check(skill_id, 0.9)
    result = p.review().run(time.time() + 300)  # a report of its own (ids are per minute)
    [action] = [a for a in result["actions"] if a["proposal"] == made["id"]]
    assert action["action"] == "dropped" and "silent on 1 alert" in action["why"]
    stored = proposals.get(p.store, made["id"])
    assert stored.state == "dropped" and stored.shadow is not None
    assert stored.shadow["mode"] == "live" and stored.shadow["replay"]["dangerous"] == []
    assert slug not in p.functions()
    assert p.harness.skill(skill_id)["active_version"] == 1  # type: ignore[index]
    sent = p.harness.send(f"{skill_id}/check", {"value": 0.9})
    [run] = poll(lambda: p.harness.runs(sent), what="the active run")
    p.harness.wait_run(run["run_id"])
    assert [r["function_slug"] for r in p.harness.runs(sent)] == [f"{APP}-{skill_id}"]


def test_a_candidate_that_fails_validation_starts_nothing(platform: Platform) -> None:
    p, skill_id = platform, "ls-invalid"
    p.live(skill_id)
    before = set(p.functions())
    broken = classifier(skill_id).replace("def classify_rules", "import os\n\ndef classify_rules")
    with pytest.raises(SidecarRefused) as refused:
        p.sidecar.start_shadow(skill_id, "p-000000bad000", broken)
    assert refused.value.status == 422 and "failed validation" in str(refused.value)
    body = httpx.post(
        f"{p.harness.sidecar.settings.origin}/v1/shadows",
        json={"skill_id": skill_id, "proposal_id": "p-000000bad000", "source": broken},
    ).json()
    assert body["error"]["code"] == "invalid-candidate"
    assert any("os" in f["message"] for f in body["report"]["findings"])
    assert [s for s in p.harness.api.get("/v1/shadows").json()["data"]
            if s["skill_id"] == skill_id] == []  # fmt: skip
    assert set(p.functions()) == before
    # Through the review: the proposal is dropped with the reason, nothing registered.
    made = propose(p, skill_id, broken, time.time())
    assert made["state"] == "dropped"
    assert "could not start" in json.dumps(made["shadow"]) or made["shadow"]["error"]
    assert set(p.functions()) == before


def test_a_declined_proposal_stops_its_shadow_even_when_the_sidecar_was_not_told(
    platform: Platform,
) -> None:
    p, skill_id = platform, "ls-decline"
    p.live(skill_id)
    told = propose(p, skill_id, classifier(skill_id, critical=0.45), time.time())
    untold = propose(p, skill_id, classifier(skill_id, critical=0.35), time.time())
    slugs = {pid: f"{APP}-{skill_id}-shadow-{pid[-8:]}" for pid in (told["id"], untold["id"])}
    assert set(slugs.values()) <= set(p.functions())
    p.review().decline(told["id"], "ana", "not now", time.time())
    assert slugs[told["id"]] not in p.functions()
    Review(p.store, p.ledger).decline(untold["id"], "ana", None, time.time())  # no sidecar
    assert slugs[untold["id"]] in p.functions()
    p.review().run(time.time() + 600)  # the next review finds it running and stops it
    assert slugs[untold["id"]] not in p.functions()
    shown = p.harness.api.get(f"/v1/shadows/{untold['id']}").json()
    assert (shown["state"], shown["stop_reason"]) == ("stopped", "the proposal is declined")
