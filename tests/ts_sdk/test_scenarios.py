"""The conformance scenarios, run by the official TypeScript SDK (npm inngest 4.x) served by its
Node adapter, with checkpointing on (the SDK's default) and off. Functions: app/app.mjs."""

from __future__ import annotations

import uuid

from tests.conformance._harness import poll

from ._scenario import TsApp


def _marker() -> str:
    return uuid.uuid4().hex


def test_sequential_steps_each_run_once(ts_app: TsApp) -> None:
    marker = _marker()
    run = ts_app.trigger("steps", {"x": 1, "marker": marker})
    assert run["status"] == "Completed", ts_app.describe(run["run_id"])
    assert run["output"] == {"a": 2, "b": 20, "total": 22}
    ran = [v for v in ts_app.node.journal("ran") if v.startswith(marker)]
    assert ran == [f"{marker}:a", f"{marker}:b", f"{marker}:c"]
    steps = ts_app.api.steps(run["run_id"])
    assert [s["name"] for s in steps] == ["a", "b", "c"]
    assert [s["output"] for s in steps[:2]] == [2, 20]


def test_parallel_steps(ts_app: TsApp) -> None:
    run = ts_app.trigger("parallel", {})
    assert run["status"] == "Completed", ts_app.describe(run["run_id"])
    assert run["output"] == {"parts": ["P1", "P2", "P3"], "after": "P1+P2+P3"}


def test_retries_until_the_step_succeeds(ts_app: TsApp) -> None:
    marker = _marker()
    run = ts_app.trigger("retries", {"marker": marker})
    assert run["status"] == "Completed", ts_app.describe(run["run_id"])
    assert run["output"] == "ok after 2"
    attempts = [n["attempt"] for n in ts_app.node.journal("flaky") if n["marker"] == marker]
    assert attempts == [0, 1, 2]


def test_non_retriable_error_fails_at_once(ts_app: TsApp) -> None:
    marker = _marker()
    run = ts_app.trigger("non-retriable", {"marker": marker})
    assert run["status"] == "Failed", ts_app.describe(run["run_id"])
    assert run["output"]["message"] == "no point retrying"
    assert ts_app.node.journal("gives-up").count(marker) == 1


def test_sleep(ts_app: TsApp) -> None:
    run = ts_app.trigger("sleep", {})
    assert run["status"] == "Completed", ts_app.describe(run["run_id"])
    assert run["output"]["slept_ms"] >= 1000
    kinds = {s["name"]: s["kind"] for s in ts_app.api.steps(run["run_id"])}
    assert kinds["nap"] == "sleep"


def test_wait_for_event_with_if_match_and_timeout(ts_app: TsApp) -> None:
    marker = _marker()
    run_id = ts_app.run_of(ts_app.send("wait", {"marker": marker}))["run_id"]

    def waiting_for(step: str) -> bool:
        return any(s["name"] == step for s in ts_app.api.steps(run_id))

    poll(lambda: waiting_for("by-if"), timeout=30, what="the first wait")
    ts_app.send("approve", {"marker": marker, "ok": False})  # `if` is false: no match
    ts_app.send("approve", {"marker": "someone-else", "ok": True})
    ts_app.send("approve", {"marker": marker, "ok": True})
    poll(lambda: waiting_for("by-match"), timeout=30, what="the second wait")
    ts_app.send("confirm", {"marker": "someone-else"})
    ts_app.send("confirm", {"marker": marker, "n": 7})
    run = ts_app.wait_done(run_id)
    assert run["status"] == "Completed", ts_app.describe(run_id)
    assert run["output"] == {
        "if": {"marker": marker, "ok": True},
        "match": {"marker": marker, "n": 7},
        "timeout": None,
    }


def test_invoke(ts_app: TsApp) -> None:
    run = ts_app.trigger("parent", {"n": 21})
    assert run["status"] == "Completed", ts_app.describe(run["run_id"])
    assert run["output"] == {"child": {"doubled": 42}}


def test_cancel_by_event(ts_app: TsApp) -> None:
    marker = _marker()
    run_id = ts_app.run_of(ts_app.send("cancellable", {"marker": marker}))["run_id"]
    poll(
        lambda: any(s["name"] == "long" for s in ts_app.api.steps(run_id)),
        timeout=30,
        what="the run to sleep",
    )
    ts_app.send("stop", {"marker": "another"})
    ts_app.send("stop", {"marker": marker})
    run = ts_app.wait_done(run_id)
    assert run["status"] == "Cancelled", ts_app.describe(run_id)


def test_on_failure_sees_the_failed_event(ts_app: TsApp) -> None:
    marker = _marker()
    run = ts_app.trigger("failing", {"marker": marker})
    assert run["status"] == "Failed", ts_app.describe(run["run_id"])
    seen = poll(
        lambda: [
            n for n in ts_app.node.journal("on-failure") if n["data"]["run_id"] == run["run_id"]
        ],
        timeout=30,
        what="the onFailure handler",
    )
    data = seen[0]["data"]
    assert seen[0]["name"] == "inngest/function.failed"
    assert data["function_id"] == ts_app.node.slug("failing")
    assert data["event"]["data"] == {"marker": marker}
    assert data["error"]["name"] == "MyError"
    assert data["error"]["message"] == "intentional failure"
    assert data["error"]["error"].startswith("invalid status code: ")
    assert seen[0]["error"] == {"name": "MyError", "message": "intentional failure"}


def test_concurrency_limit_one_never_overlaps(ts_app: TsApp) -> None:
    base = uuid.uuid4().int % 10**6 * 10
    runs = [ts_app.run_of(ts_app.send("serial", {"i": base + i}))["run_id"] for i in range(3)]
    for run_id in runs:
        assert ts_app.wait_done(run_id)["status"] == "Completed", ts_app.describe(run_id)
    mine = {base + i for i in range(3)}
    sequence = ts_app.node.sequence({"enter", "exit"}, mine)
    assert len(sequence) == 6, sequence
    # With limit 1 the step of one run exits before the step of the next one enters.
    for i in range(0, 6, 2):
        assert sequence[i][0] == "enter" and sequence[i + 1] == ("exit", sequence[i][1]), sequence


def test_throttle_delays_but_keeps_every_run(ts_app: TsApp) -> None:
    base = uuid.uuid4().int % 10**6 * 10
    runs = [ts_app.run_of(ts_app.send("throttled", {"i": base + i}))["run_id"] for i in range(3)]
    outputs = sorted(ts_app.wait_done(r)["output"] for r in runs)
    assert outputs == [base, base + 1, base + 2]


def test_debounce_runs_once_with_the_last_event(ts_app: TsApp) -> None:
    marker = _marker()
    for i in range(3):
        ts_app.send("debounced", {"marker": marker, "i": i})

    def one_run() -> list[dict[str, object]]:
        return [
            r
            for r in ts_app.runs("debounced")
            if r["status"] == "Completed"
            and r["output"] == 2
            and ts_app.api.event(r["event_id"])["data"]["marker"] == marker
        ]

    [run] = poll(one_run, timeout=30, what="the debounced run")
    assert run["output"] == 2


def test_send_event_triggers_another_function(ts_app: TsApp) -> None:
    marker = _marker()
    run = ts_app.trigger("sender", {"marker": marker})
    assert run["status"] == "Completed", ts_app.describe(run["run_id"])
    assert run["output"] == {"ids": 1}
    poll(lambda: marker in ts_app.node.journal("received"), timeout=30, what="the receiver")


def test_step_error_caught_in_the_function(ts_app: TsApp) -> None:
    run = ts_app.trigger("caught", {})
    assert run["status"] == "Completed", ts_app.describe(run["run_id"])
    assert run["output"] == {"caught": "step broke", "name": "Error"}
