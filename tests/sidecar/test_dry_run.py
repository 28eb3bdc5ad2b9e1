"""Dry runs: a skill that fails on its first run never registers; results are inspectable."""

from __future__ import annotations

from skillsrc import skill_source

from sidecar.validation import dry_run, validate_source

NOTIFY = {"notify": {"channels": ["inbox"]}}


def test_success_records_steps_calls_logs_and_return_value() -> None:
    body = """
    sent = ctx.step.run("post", lambda: ctx.capabilities.notify.post("inbox", "hello"))
    ctx.log("posted", message_id=sent["message_id"])
    return {"sent": sent["channel"]}
    """
    result = dry_run(skill_source(body, capabilities=NOTIFY), "sample.py", "sample")
    assert result.ok
    assert result.return_value == {"sent": "inbox"}
    assert [(s.id, s.op) for s in result.steps] == [("post", "run")]
    call = result.capability_calls[0]
    assert (call.capability, call.method, call.step_id) == ("notify", "post", "post")
    assert call.args == {"channel": "inbox", "text": "hello", "thread": None}
    assert result.logs[0].message == "posted"
    assert result.event["name"] == "inngest/scheduled.timer"


def test_crash_on_first_step_blocks_registration_with_its_line() -> None:
    body = """
    rows = ctx.step.run("fetch", lambda: [])
    return {"first": rows[0]}
    """
    report = validate_source(skill_source(body), "sample.py")
    assert not report.ok
    assert report.skill is None
    [problem] = report.errors
    assert problem.rule == "dry-run-error"
    assert "IndexError" in problem.message
    assert problem.line == 8  # `return {"first": rows[0]}`


def test_a_failing_step_surfaces_as_step_error_the_handler_can_catch() -> None:
    body = """
    try:
        ctx.step.run("flaky", lambda: 1 / 0)
    except skill.StepError as err:
        return {"failed": err.name}
    return {"failed": None}
    """
    result = dry_run(skill_source(body), "sample.py", "sample")
    assert result.ok
    assert result.return_value == {"failed": "ZeroDivisionError"}
    assert result.steps[0].error == "ZeroDivisionError: division by zero"


def test_non_retriable_error_fails_the_run() -> None:
    body = 'raise skill.NonRetriableError("bad input")'
    result = dry_run(skill_source(body), "sample.py", "sample")
    assert not result.ok
    assert result.error is not None
    assert (result.error.rule, result.error.type) == ("dry-run-error", "NonRetriableError")


def test_given_event_data_reaches_the_handler() -> None:
    source = skill_source(
        'return {"service": ctx.event.data["service"], "n": len(ctx.events)}',
        triggers=[{"event": "demo/check"}],
        decorator='fn_id="sample", trigger=skill.event("demo/check")',
    )
    event = {"name": "demo/check", "data": {"service": "checkout"}}
    result = dry_run(source, "sample.py", "sample", event)
    assert result.ok
    assert result.return_value == {"service": "checkout", "n": 1}


def test_manifest_example_is_the_default_event() -> None:
    source = skill_source(
        'return ctx.event.data["service"]',
        triggers=[{"event": "demo/check", "example": {"service": "api"}}],
        decorator='fn_id="sample", trigger=skill.event("demo/check")',
    )
    report = validate_source(source, "sample.py")
    assert report.ok, report.render()
    assert report.dry_runs[0].return_value == "api"


def test_missing_example_data_is_reported_as_a_dry_run_error() -> None:
    source = skill_source(
        'return ctx.event.data["service"]',
        triggers=[{"event": "demo/check"}],
        decorator='fn_id="sample", trigger=skill.event("demo/check")',
    )
    report = validate_source(source, "sample.py")
    assert report.rules() == ["dry-run-error"]
    assert "KeyError" in report.errors[0].message


def test_module_state_that_changes_between_runs_is_nondeterministic() -> None:
    body = """
    SEEN.append(1)
    if len(SEEN) > 1:
        ctx.step.run("second-time", lambda: 2)
    return ctx.step.run("always", lambda: 1)
    """
    report = validate_source(skill_source(body, top="SEEN = []"), "sample.py")
    assert report.rules() == ["dry-run-nondeterministic"]


def test_mutating_a_step_output_does_not_change_the_replay() -> None:
    body = """
    state = ctx.step.run("read", lambda: {"n": 1})
    state["n"] = state["n"] + 1
    if state["n"] > 2:
        ctx.step.run("never", lambda: 0)
    return state
    """
    report = validate_source(skill_source(body), "sample.py")
    assert report.ok, report.render()
    assert report.dry_runs[0].return_value == {"n": 2}


def test_augmented_item_assignment_is_refused_by_restricted_python() -> None:
    report = validate_source(skill_source('d = {"n": 1}\nd["n"] += 1\nreturn d'), "sample.py")
    assert report.rules() == ["restricted-compile"]
    assert "Augmented assignment" in report.errors[0].message


def test_on_failure_handler_is_dry_run_too() -> None:
    source = skill_source(
        decorator='fn_id="sample", trigger=skill.cron("0 * * * *"), on_failure=on_fail',
        top='def on_fail(ctx):\n    return {"failed": ctx.event.data["function_id"]}\n',
    )
    report = validate_source(source, "sample.py")
    assert report.ok, report.render()
    assert [(r.fn_id, r.return_value) for r in report.dry_runs] == [
        ("sample", {"ok": True}),
        ("sample:on_failure", {"failed": "sample"}),
    ]


def test_dry_run_of_invalid_source_returns_the_findings_without_running() -> None:
    result = dry_run("import os\n", "sample.py", "sample")
    assert not result.ok
    assert result.steps == []
    assert {f.rule for f in result.findings} >= {"import-not-allowed", "manifest-missing"}


def test_dry_run_of_unknown_function() -> None:
    result = dry_run(skill_source(), "sample.py", "nope")
    assert not result.ok
    assert [f.rule for f in result.findings] == ["function-invalid"]


def test_sandbox_crash_is_returned_as_a_dry_run_error() -> None:
    body = "t = ()\nfor i in range(1000):\n    for j in range(1000):\n        t = (t,)\nreturn len({t: 1})"
    result = dry_run(skill_source(body), "sample.py", "sample")
    assert result.error is not None
    assert result.error.rule == "sandbox-crashed"


def test_large_outputs_are_summarized_in_the_result_not_refused() -> None:
    body = """
    for i in range(10):
        ctx.step.run("chunk", lambda: "x" * 300000)
    return {"done": True}
    """
    result = dry_run(skill_source(body), "sample.py", "sample")
    assert result.ok
    outputs = [s.output for s in result.steps]
    assert outputs[0] == "x" * 300000
    assert outputs[-1] == {"omitted_bytes": 300002}
    assert result.return_value == {"done": True}
