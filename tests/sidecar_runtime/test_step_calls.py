"""A new step.run runs in the call that meets it, without the worker asking first, exactly
when the SDK runs it: not when the engine disabled immediate execution (the SDK plans the step
instead, and nothing of it may run), and in the call that targets it.

Each call is made as the engine makes it, straight to the sidecar's SDK, so the test chooses
the memos and flags; the step's capability call (a notify post into the inbox) shows whether
its callback ran."""

from __future__ import annotations

from typing import Any

import pytest

from sidecar.workers.process import WorkerProcess
from sidecar.workers.remote import hashed_step_id

from ._harness import Harness, skill_source

TELLER = skill_source(
    "sc-teller",
    """
    greeting = ctx.step.run("greet", lambda: "hello")
    ctx.step.run("tell", lambda: ctx.capabilities.notify.post("inbox", greeting))
    return {"told": greeting}
    """,
    capabilities={"notify": {"channels": ["inbox"]}},
)
GREET, TELL = hashed_step_id("greet"), hashed_step_id("tell")


def told(harness: Harness) -> list[str]:
    return [m["text"] for m in harness.inbox.messages() if m["skill_id"] == "sc-teller"]


def test_a_new_step_runs_only_when_and_where_the_sdk_runs_it(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert harness.submit("sc-teller", TELLER)["state"] == "active"
    sent: list[str] = []  # what the sidecar told workers, op by op
    send = WorkerProcess.send

    def spy(self: WorkerProcess, message: dict[str, Any]) -> None:
        sent.append(message["op"])
        send(self, message)

    monkeypatch.setattr(WorkerProcess, "send", spy)
    run_id = "01JSTEPCALLS00000000000000"

    first = harness.sdk_call("sc-teller", run_id, {})
    assert first.status_code == 206, first.text
    assert [(op["op"], op["displayName"], op["data"]) for op in first.json()] == [
        ("StepRun", "greet", "hello")
    ]
    assert "execute" not in sent  # the worker ran it as soon as it met it

    memos = {GREET: {"data": "hello"}}
    planned = harness.sdk_call("sc-teller", run_id, memos, disable_immediate_execution=True)
    assert planned.status_code == 206, planned.text
    assert [(op["op"], op["id"]) for op in planned.json()] == [("StepPlanned", TELL)]
    assert told(harness) == []  # planned, not run: its callback never started

    targeted = harness.sdk_call(
        "sc-teller", run_id, memos, step=TELL, disable_immediate_execution=True
    )
    assert targeted.status_code == 206, targeted.text
    assert [(op["op"], op["displayName"]) for op in targeted.json()] == [("StepRun", "tell")]
    assert told(harness) == ["hello"]
    assert "execute" not in sent

    done = harness.sdk_call(
        "sc-teller", run_id, {**memos, TELL: {"data": targeted.json()[0]["data"]}}
    )
    assert (done.status_code, done.json()) == (200, {"told": "hello"})
    assert told(harness) == ["hello"]  # replayed from its memo, not run again
