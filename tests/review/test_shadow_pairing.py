"""Which active run a shadow run is compared with: the same function answering the same
trigger (event id, or cron schedule and minute), whatever the app id is called."""

from __future__ import annotations

from loopwright.ledger import RunRecord
from review.live_shadow import partner, trigger_key


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


def test_cron_runs_pair_with_the_nearest_run_of_the_same_schedule_and_invocations_never() -> None:
    tick = 1_800_000_000.0  # a minute boundary
    active = [
        run("app-check", "cron", cron="* * * * *", at=tick - 60 + 1),
        run("app-check", "cron", cron="* * * * *", at=tick - 0.2),
        run("app-check", "cron", cron="* * * * *", at=tick + 60 + 0.1),
    ]
    # Started on either side of a minute boundary from its partner: still the same tick.
    shadow = run("app-check-shadow-0a1b2c3d", "cron", cron="* * * * *", at=tick + 0.3)
    assert trigger_key(shadow, shadow=True) == trigger_key(active[1])
    assert partner(shadow, active) is active[1]
    # A tick the active version has not run (yet): no partner, never a neighbouring tick's.
    lonely = run("app-check-shadow-0a1b2c3d", "cron", cron="* * * * *", at=tick + 150)
    assert partner(lonely, active) is None
    other = run("app-check", "cron", cron="*/5 * * * *", at=tick)
    assert trigger_key(other) != trigger_key(shadow, shadow=True)
    assert trigger_key(run("app-check", "invoke")) is None
