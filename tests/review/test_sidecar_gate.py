"""The gate through a real sidecar (bound to a real engine, core skills loaded): the review's
candidate becomes a new version of health-check authored by `review` with its evidence, the
approval policy applies, and the automatic rollback is the sidecar's rollback."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from review import audit, proposals
from review.platform import SidecarPlatform
from review.runner import Review
from review.tuning import Classifier
from sidecar.capabilities import FakeCapabilityProvider, Inbox
from sidecar.server import running
from sidecar.settings import SidecarSettings
from sidecar.workers import WorkerLimits
from skills_core.classify import CORE_SKILLS_DIR
from tests.review._history import DAY, SKILL, START, STEP
from tests.sidecar_runtime._engine import free_port, running_engine
from tests.sidecar_runtime._harness import poll

pytestmark = pytest.mark.slow
WEEK4 = START + 28 * DAY


@pytest.fixture
def sidecar_url(tmp_path: Path) -> Iterator[str]:
    with running_engine(tmp_path) as engine_url:
        settings = dataclasses.replace(
            SidecarSettings(),
            skills_dir=tmp_path / "skills",
            db=tmp_path / "sidecar.db",
            inbox=tmp_path / "inbox.jsonl",
            engine_url=engine_url,
            port=free_port(),
            app_id="lw-review-gate",
            core_dir=CORE_SKILLS_DIR,
            worker_limits=WorkerLimits(job_cpu_seconds=5, wall_seconds=20),
            warm_sandboxes=1,
            outcome_timeout_s=60,
        )
        with running(settings, provider=FakeCapabilityProvider(inbox=Inbox(settings.inbox))):
            url = settings.origin
            poll(
                lambda: httpx.get(f"{url}/v1/skills/{SKILL}").json().get("active_version") == 1,
                timeout=90,
                what="health-check v1 active",
            )
            yield url


def test_promotion_and_rollback_go_through_the_sidecar(seeded: Any, sidecar_url: str) -> None:
    platform = SidecarPlatform(sidecar_url)
    review = Review(seeded.store, seeded.ledger, platform, shadow_runs=6)
    [made] = review.run(WEEK4)["proposals"]
    assert made["state"] == "shadowing"
    at = WEEK4
    for _ in range(6):
        seeded.tick(at, {})
        at += STEP
    second = review.run(at)
    # The simulated ticks are not runs of the live shadow (it runs health-check's candidate
    # beside v1 on its real cron): the replay agreed, the live shadow has nothing paired yet.
    p = proposals.get(seeded.store, made["id"])
    assert p.state == "shadowing" and p.shadow is not None
    assert (p.shadow["mode"], p.shadow["paired"], p.shadow["replay"]["dangerous"]) == (
        "live",
        0,
        [],
    )
    shadow = httpx.get(f"{sidecar_url}/v1/shadows/{p.id}").json()
    assert (shadow["skill_id"], shadow["state"]) == (SKILL, "running")
    assert not [a for a in second["actions"] if a["proposal"] == p.id]
    review.accept(p.id, "ana", at)  # a person does not wait for the shadow
    p = proposals.get(seeded.store, made["id"])
    if p.state == "awaiting-approval":  # the approval policy wants a person for this skill
        assert "approved" in review.accept(p.id, "ana", at)
    assert httpx.get(f"{sidecar_url}/v1/shadows/{p.id}").json()["state"] == "stopped"
    p = proposals.get(seeded.store, made["id"])
    assert p.state == "promoted" and p.candidate_version == 2
    skill = httpx.get(f"{sidecar_url}/v1/skills/{SKILL}").json()
    assert skill["active_version"] == 2
    v2 = httpx.get(f"{sidecar_url}/v1/skills/{SKILL}/versions/2").json()
    assert v2["author"] == "review" and made["id"] in v2["reason"]
    assert "ERROR_RATE_DEGRADED = 0.04" in v2["source"]

    seeded.version, seeded.classifier = 2, Classifier(v2["source"], "health_check.py")
    for n in range(8):
        levels = {"checkout": (0.035, 0.005)} if n in (3, 4) else {}
        seeded.tick(at, levels, {"checkout": "missed"} if n == 3 else None)
        at += STEP
    third = review.run(at)
    assert [a["action"] for a in third["actions"]] == ["rolled-back"]
    skill = httpx.get(f"{sidecar_url}/v1/skills/{SKILL}").json()
    assert skill["active_version"] == 1
    sidecar_audit = [(e["action"], e["actor"]) for e in skill["audit"]]
    assert ("rollback", "review") in sidecar_audit
    actions = [e["action"] for e in audit.entries(seeded.store, skill_id=SKILL)]
    assert actions[0] == "proposed" and actions[-1] == "rolled-back" and "promoted" in actions
    platform.close()


def test_sidecar_serves_the_review_functions_and_routes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOOPWRIGHT_REVIEW", "on")
    monkeypatch.setenv("LOOPWRIGHT_STORE_URL", f"sqlite:///{tmp_path / 'platform.db'}")
    monkeypatch.setenv("LOOPWRIGHT_CAPABILITIES_DB", str(tmp_path / "capabilities.db"))
    monkeypatch.setenv("LOOPWRIGHT_REVIEW_TZ", "Europe/Paris")
    with running_engine(tmp_path) as engine_url:
        settings = dataclasses.replace(
            SidecarSettings(),
            skills_dir=tmp_path / "skills",
            db=tmp_path / "sidecar.db",
            inbox=tmp_path / "inbox.jsonl",
            engine_url=engine_url,
            port=free_port(),
            app_id="lw-review-fns",
            warm_sandboxes=0,
        )
        with running(settings, provider=FakeCapabilityProvider()):
            engine = httpx.Client(base_url=engine_url)

            def functions() -> dict[str, Any]:
                resp = engine.get(f"/v1/apps/{settings.app_id}/functions")
                return (
                    {str(f.get("slug") or f.get("id")): f for f in resp.json()}
                    if resp.status_code == 200
                    else {}
                )

            found = poll(
                lambda: (f := functions()) and f"{settings.app_id}-weekly-review" in f and f,
                timeout=30,
                what="weekly-review registered",
            )
            # the watchdog is a core skill now, not a platform function of the review
            assert f"{settings.app_id}-cron-watchdog" not in found
            assert "Europe/Paris 0 6 * * 1" in json.dumps(found[f"{settings.app_id}-weekly-review"])
            api = httpx.Client(base_url=settings.origin)
            bad = api.post("/v1/feedback", json={"message_id": "inbox:5", "label": "useful"})
            assert (
                bad.status_code == 404
                and "unknown message id 'inbox:5'" in bad.json()["error"]["message"]
            )
            assert api.get("/v1/review/proposals").json() == {"data": []}
