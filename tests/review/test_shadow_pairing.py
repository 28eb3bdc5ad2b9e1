"""Which active run a shadow run is compared with: the same function answering the same
trigger (event id, or cron schedule and minute), whatever the app id is called."""

from __future__ import annotations

from loopwright.ledger import RunRecord
from review.live_shadow import trigger_key


def run(function_id: str, trigger: str, *, event_id: str | None = None, at: float = 0.0,
        cron: str | None = None) -> RunRecord:  # fmt: skip
    return RunRecord(
        run_id="r", app_id="a", function_id=function_id, skill_id="s", skill_version=1,
        trigger=trigger, event_name=None, event_id=event_id, cron=cron, status="completed",
        started_at=at,
    )  # fmt: skip


def test_a_shadow_pairs_with_its_own_function_on_the_same_event() -> None:
    app = "lw-shadow-app"  # an app id that itself holds "-shadow-"
    active = run(f"{app}-classify", "event", event_id="E1")
    shadow = run(f"{app}-classify-shadow-0a1b2c3d", "event", event_id="E1")
    assert trigger_key(shadow, shadow=True) == trigger_key(active) is not None
    other = run(f"{app}-summarise", "event", event_id="E1")
    assert trigger_key(other) != trigger_key(shadow, shadow=True)
    assert trigger_key(run(f"{app}-classify", "event", event_id="E2")) != trigger_key(active)


def test_cron_runs_pair_by_schedule_and_minute_and_invocations_never() -> None:
    tick = 1_800_000_000.0  # a minute boundary
    active = run("app-check", "cron", cron="* * * * *", at=tick + 1)
    shadow = run("app-check-shadow-0a1b2c3d", "cron", cron="* * * * *", at=tick + 3)
    later = run("app-check-shadow-0a1b2c3d", "cron", cron="* * * * *", at=tick + 61)
    assert trigger_key(shadow, shadow=True) == trigger_key(active)
    assert trigger_key(later, shadow=True) != trigger_key(active)
    assert trigger_key(run("app-check", "invoke")) is None
