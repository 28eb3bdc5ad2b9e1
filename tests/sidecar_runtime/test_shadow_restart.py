"""A shadow survives a sidecar restart (it is in the registry's store, not in memory), and
starting it again (a review that resumes) answers the one that runs instead of a second."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from loopwright.ledger import LedgerReader, shadow_subject
from loopwright.store import open_store
from sidecar.capabilities import FakeCapabilityProvider, Inbox
from sidecar.server import running

from ._harness import Harness, poll, skill_source
from .conftest import settings_for

SKILL = "sr-echo"
PROPOSAL = "p-5eed00000001"


def echo(word: str) -> str:
    body = f'return {{"decisions": [{{"subject": "x", "label": "{word}"}}]}}'
    return skill_source(SKILL, body, example={})


def functions(h: Harness, app_id: str) -> set[str]:
    found: list[dict[str, Any]] = h.engine.get(f"/v1/apps/{app_id}/functions").json()
    return {f["slug"] for f in found if not f["archived"]}


def test_a_shadow_survives_a_restart_and_is_never_started_twice(
    engine_url: str, tmp_path: Path
) -> None:
    settings = settings_for(tmp_path, engine_url, "lw-shadow-restart")
    inbox = Inbox(settings.inbox)
    slug = f"{settings.app_id}-{SKILL}-shadow-00000001"
    start = {"skill_id": SKILL, "proposal_id": PROPOSAL, "source": echo("candidate")}
    with running(settings, provider=FakeCapabilityProvider(inbox=inbox)) as sidecar:
        first = Harness(sidecar, engine_url, inbox)
        assert first.submit(SKILL, echo("active"))["state"] == "active"
        started = first.post("/v1/shadows", start).json()
        assert started["started"] is True and slug in functions(first, settings.app_id)
        first.close()

    with running(settings, provider=FakeCapabilityProvider(inbox=inbox)) as sidecar:
        again = Harness(sidecar, engine_url, inbox)
        assert slug in functions(again, settings.app_id)
        resumed = again.post("/v1/shadows", start).json()
        assert resumed["started"] is False and resumed["shadow"]["state"] == "running"
        assert len(again.api.get("/v1/shadows").json()["data"]) == 1
        sent = again.send(f"test/{SKILL}")
        runs = poll(lambda: (r := again.runs(sent)) and len(r) == 2 and r, what="both runs")
        outputs = sorted(str(again.wait_run(r["run_id"])["output"]) for r in runs)
        assert "active" in outputs[0] and "candidate" in outputs[1]
        ledger = LedgerReader(open_store(settings.store))
        shadow_runs = poll(
            lambda: ledger.runs(skill=shadow_subject(SKILL, PROPOSAL)), what="the shadow's run"
        )
        assert [r.function_id for r in shadow_runs] == [slug]
        stopped = again.api.delete(f"/v1/shadows/{PROPOSAL}", params={"reason": "test"}).json()
        assert (stopped["state"], stopped["stop_reason"]) == ("stopped", "test")
        assert slug not in functions(again, settings.app_id)
        refused = again.post("/v1/shadows", start)
        assert refused.status_code == 409 and "not started again" in refused.text
        again.close()
