"""The sidecar restarts: the registry and the engine keep what was live, a run in flight
finishes on its pinned version, and changes made to the folder while it was down are read."""

from __future__ import annotations

from pathlib import Path

from sidecar.capabilities import FakeCapabilityProvider, Inbox
from sidecar.lifecycle import content_hash
from sidecar.registry import Registry
from sidecar.server import running
from sidecar.workers import RunLimits

from ._harness import Harness, poll, skill_source
from .conftest import settings_for

NAPPER = skill_source(
    "rs-napper",
    """
    ctx.step.sleep("nap", 1500)
    return ctx.step.run("after", lambda: {"code": "v1"})
    """,
)


def test_a_restart_loses_nothing(engine_url: str, tmp_path: Path) -> None:
    settings = settings_for(tmp_path, engine_url, "lw-restart")
    inbox = Inbox(settings.inbox)
    with running(settings, provider=FakeCapabilityProvider(inbox=inbox)) as sidecar:
        first = Harness(sidecar, engine_url, inbox)
        assert first.submit("rs-napper", NAPPER)["state"] == "active"
        first.write("rs-gone", skill_source("rs-gone", "return 1"))
        first.wait_active("rs-gone", 1)
        sleeping = first.run_of(first.send("test/rs-napper"))
        poll(lambda: any(s["name"] == "nap" for s in first.steps(sleeping["run_id"])),
             what="the run to sleep")  # fmt: skip
        first.close()

    # While the sidecar is down: one skill is edited, one deleted, one added.
    (tmp_path / "skills" / "rs_napper.py").write_text(NAPPER.replace('"v1"', '"v2"'))
    (tmp_path / "skills" / "rs_gone.py").unlink()
    (tmp_path / "skills" / "rs_new.py").write_text(skill_source("rs-new", 'return "new"'))
    # And a crash in the middle of a validation: the version stayed "proposed".
    half = skill_source("rs-half", 'return "half"')
    (tmp_path / "skills" / "rs_half.py").write_text(half)
    registry = Registry(settings.store)
    registry.propose("rs-half", "rs_half.py", half, content_hash(half), author="agent", reason="x")
    registry.close()

    with running(settings, provider=FakeCapabilityProvider(inbox=inbox)) as sidecar:
        again = Harness(sidecar, engine_url, inbox)
        done = again.wait_run(sleeping["run_id"])
        assert done["status"] == "Completed" and done["output"] == {"code": "v1"}
        again.wait_active("rs-napper", 2)
        again.wait_active("rs-new", 1)
        again.wait_active("rs-half", 1)
        again.wait_skill("rs-gone", lambda s: s["state"] == "removed", "removed")
        assert again.trigger("test/rs-napper")["output"] == {"code": "v2"}
        assert again.trigger("test/rs-new")["output"] == "new"
        again.assert_no_run(again.send("test/rs-gone"), wait=0.3)
        again.close()


BUDGETED = skill_source(
    "rs-budget",
    """
    first = ctx.step.run("first", lambda: 1)
    ctx.step.sleep("gap", 1500)
    return {"second": ctx.step.run("second", lambda: first + 1)}
    """,
)


def test_a_restart_keeps_what_a_run_spent(engine_url: str, tmp_path: Path) -> None:
    limits = RunLimits(cpu_seconds=30, wall_seconds=120)
    settings = settings_for(tmp_path, engine_url, "lw-restart-budget", run_limits=limits)
    inbox = Inbox(settings.inbox)
    with running(settings, provider=FakeCapabilityProvider(inbox=inbox)) as sidecar:
        first = Harness(sidecar, engine_url, inbox)
        assert first.submit("rs-budget", BUDGETED)["state"] == "active"
        run = first.run_of(first.send("test/rs-budget"), timeout=30)
        poll(lambda: any(s.get("name") == "gap" for s in first.steps(run["run_id"])),
             what="the run to sleep", timeout=30)  # fmt: skip
        # As if its calls so far had burnt the whole budget (30 s of CPU).
        sidecar.runner.budgets.add_call(run["run_id"], wall_seconds=0.0, cpu_seconds=31.0)
        first.close()

    with running(settings, provider=FakeCapabilityProvider(inbox=inbox)) as sidecar:
        again = Harness(sidecar, engine_url, inbox)
        done = again.wait_run(run["run_id"], timeout=60)
        assert done["status"] == "Failed"
        assert "[run-budget-cpu]" in str(done["output"])  # the new process knew what it spent
        assert "second" not in [s.get("name") for s in again.steps(run["run_id"])]
        again.close()
