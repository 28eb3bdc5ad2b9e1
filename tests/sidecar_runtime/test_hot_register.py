"""Write a file → validated → registered → a real run through the engine completes.

The skill's own steps are the run's steps, visible in the engine's step history (the run's
version pin is kept in the platform store); capability calls reach the inbox.
"""

from __future__ import annotations

from ._harness import Harness, poll, skill_source

GREETER = skill_source(
    "hr-greeter",
    """
    who = ctx.event.data.get("who", "nobody")
    greeting = ctx.step.run("greet", lambda: f"hello {who}")
    ctx.step.run("tell", lambda: ctx.capabilities.notify.post("inbox", greeting))
    ctx.log("greeted", who=who)
    return {"greeting": greeting}
    """,
    example={"who": "dry-run"},
    capabilities={"notify": {"channels": ["inbox"]}},
)


def test_a_written_file_goes_live_and_runs_through_the_engine(harness: Harness) -> None:
    harness.write("hr-greeter", GREETER)
    skill = harness.wait_active("hr-greeter", 1)
    assert skill["function_ids"] == ["hr-greeter"]

    run = harness.trigger("test/hr-greeter", {"who": "ada"})
    assert run["status"] == "Completed", run
    assert run["output"] == {"greeting": "hello ada"}
    assert run["function_slug"] == "lw-hot-register-hr-greeter"

    steps = harness.steps(run["run_id"])
    assert [s["name"] for s in steps] == ["greet", "tell"]
    assert steps[0]["output"] == "hello ada"
    assert [m["text"] for m in harness.inbox.messages() if m["skill_id"] == "hr-greeter"] == [
        "hello ada"
    ]


def test_the_version_record_holds_source_report_and_metadata(harness: Harness) -> None:
    harness.write("hr-greeter", GREETER)
    harness.wait_active("hr-greeter", 1)
    version = harness.version("hr-greeter", 1)
    assert version["source"] == GREETER
    assert version["state"] == "active"
    # Written straight into the folder (not through the API): a hand edit, by a person.
    assert version["author"] == "human"
    assert version["reason"] == "edited on disk (the manifest says author 'agent')"
    assert version["parent"] is None and version["content_hash"]
    assert version["report"]["ok"] is True
    assert [d["fn_id"] for d in version["report"]["dry_runs"]] == ["hr-greeter"]
    assert version["approval"] == {"needs_approval": False, "reasons": []}

    listed = harness.api.get("/v1/skills").json()["data"]
    assert [s["id"] for s in listed if s["id"] == "hr-greeter"] == ["hr-greeter"]


def test_the_api_writes_through_the_folder_and_returns_the_outcome(harness: Harness) -> None:
    source = skill_source("hr-api", 'return {"via": "api"}')
    outcome = harness.submit("hr-api", source, author="human", reason="written by a person")
    assert outcome["state"] == "active" and outcome["version"] == 1
    assert outcome["report"]["ok"] is True
    assert outcome["sync"]["ok"] is True
    assert harness.path("hr-api").read_text() == source
    version = harness.version("hr-api", 1)
    assert (version["author"], version["reason"]) == ("human", "written by a person")

    again = harness.submit("hr-api", source)
    assert (again["version"], again["state"]) == (1, "active")  # same content: no new version
    assert harness.trigger("test/hr-api")["output"] == {"via": "api"}


def test_a_failing_step_is_retried_then_seen_as_step_error(harness: Harness) -> None:
    source = skill_source(
        "hr-flaky",
        """
        def boom():
            if ctx.event.data.get("fail"):
                raise ValueError("broken on purpose")
            return 1

        try:
            ctx.step.run("boom", boom)
        except skill.StepError as err:
            return {"caught": err.name, "message": err.message}
        return {"caught": None}
        """,
        options="retries=1",
    )
    assert harness.submit("hr-flaky", source)["state"] == "active"
    run = harness.trigger("test/hr-flaky", {"fail": True})
    assert run["status"] == "Completed", run
    assert run["output"] == {"caught": "ValueError", "message": "broken on purpose"}
    boom = [s for s in harness.steps(run["run_id"]) if s["name"] == "boom"]
    assert boom and boom[0]["attempts"] == 2


def test_a_retried_step_does_not_post_twice(harness: Harness) -> None:
    source = skill_source(
        "hr-once",
        """
        def post_then_fail():
            sent = ctx.capabilities.notify.post("inbox", "exactly once")
            if ctx.attempt == 0 and ctx.event.data.get("flaky"):
                raise ValueError("fail after posting")
            return sent

        return ctx.step.run("post", post_then_fail)
        """,
        capabilities={"notify": {"channels": ["inbox"]}},
        options="retries=2",
    )
    assert harness.submit("hr-once", source)["state"] == "active"
    run = harness.trigger("test/hr-once", {"flaky": True})
    assert run["status"] == "Completed", run
    posted = [m for m in harness.inbox.messages() if m["skill_id"] == "hr-once"]
    assert len(posted) == 1 and run["output"]["message_id"] == posted[0]["id"]


def test_the_test_endpoint_dry_runs_and_really_runs(harness: Harness) -> None:
    harness.write("hr-greeter", GREETER)
    harness.wait_active("hr-greeter", 1)
    dry = harness.post(
        "/v1/skills/hr-greeter/test",
        {"fn_id": "hr-greeter", "event": {"name": "test/hr-greeter", "data": {"who": "dry"}}},
    )
    assert dry.status_code == 200, dry.text
    assert dry.json()["mode"] == "dry" and dry.json()["return_value"] == {"greeting": "hello dry"}
    assert [s["id"] for s in dry.json()["steps"]] == ["greet", "tell"]

    real = harness.post(
        "/v1/skills/hr-greeter/test",
        {"fn_id": "hr-greeter", "event": {"data": {"who": "real"}}, "mode": "real"},
    )
    assert real.status_code == 200, real.text
    assert real.json()["run"]["status"] == "Completed"
    assert real.json()["run"]["output"] == {"greeting": "hello real"}
    assert [s["name"] for s in real.json()["steps"]] == ["greet", "tell"]

    missing = harness.post("/v1/skills/hr-greeter/test", {"fn_id": "nope", "mode": "real"})
    assert missing.status_code == 409


def test_validate_checks_without_registering(harness: Harness) -> None:
    harness.write("hr-greeter", GREETER)
    harness.wait_active("hr-greeter", 1)
    resp = harness.post(
        "/v1/validate", {"source": skill_source("hr-greeter", "return 1"), "filename": "x.py"}
    )
    assert resp.status_code == 200
    rules = {f["rule"] for f in resp.json()["findings"]}
    assert "manifest-id-mismatch" in rules
    # Skill "hr" may name a function "hr-greeter"… but that id belongs to skill hr-greeter.
    clash = skill_source("hr", "return 1").replace('fn_id="hr"', 'fn_id="hr-greeter"')
    taken = harness.post("/v1/validate", {"source": clash, "filename": "hr.py"})
    assert taken.json()["ok"] is False
    assert "function-id-taken" in {f["rule"] for f in taken.json()["findings"]}
    assert harness.skill("hr") is None  # validating registers nothing


def test_on_failure_handlers_run_in_the_sandbox_too(harness: Harness) -> None:
    source = skill_source(
        "hr-fails",
        """
        if ctx.event.data.get("fail"):
            raise skill.NonRetriableError("asked to fail")
        return {"ok": True}
        """,
        capabilities={"notify": {"channels": ["inbox"]}},
        options="retries=0, on_failure=handle_failure",
        top="""
        def handle_failure(ctx):
            failed = ctx.event.data["function_id"]
            ctx.step.run("report", lambda: ctx.capabilities.notify.post("inbox", "failed: " + failed))
            return {"reported": True}
        """,
    )
    assert harness.submit("hr-fails", source)["state"] == "active"
    run = harness.trigger("test/hr-fails", {"fail": True})
    assert run["status"] == "Failed"
    posted = poll(
        lambda: [m for m in harness.inbox.messages() if m["skill_id"] == "hr-fails"],
        what="the on_failure handler's message",
    )
    assert posted[0]["text"].startswith("failed: ") and "hr-fails" in posted[0]["text"]


def test_events_waits_and_invokes_go_through_the_real_sdk(harness: Harness) -> None:
    callee = skill_source("hr-callee", 'return {"called_with": ctx.event.data.get("x")}')
    assert harness.submit("hr-callee", callee)["state"] == "active"
    chain = skill_source(
        "hr-chain",
        """
        ids = ctx.step.send_event("emit", skill.Event("test/hr-chain-sent", {"n": 1}))
        got = ctx.step.wait_for_event("wait", event="test/hr-chain-reply", timeout=10000)
        called = ctx.step.invoke("call", function_id="hr-callee", data={"x": 7})
        return {"sent": len(ids), "reply": got.data if got else None, "called": called}
        """,
        manifest={
            "emits": ["test/hr-chain-sent"],
            "emit_grants": ["test/hr-chain-sent"],
            "invokes": ["hr-callee"],
        },
    )
    outcome = harness.submit("hr-chain", chain)
    assert outcome["state"] == "awaiting_approval"  # sends events, invokes: a person decides
    assert harness.post("/v1/skills/hr-chain/approve").json()["state"] == "active"

    run = harness.run_of(harness.send("test/hr-chain"))
    poll(
        lambda: any(s["name"] == "wait" for s in harness.steps(run["run_id"])),
        what="the run to wait for the reply",
    )
    sent = harness.engine.get("/v1/events", params={"name": "test/hr-chain-sent"}).json()["data"]
    # The sidecar stamps the sender's identity on what a skill sends.
    source = {"skill": "hr-chain", "version": 1, "run_id": run["run_id"]}
    assert [e["data"] for e in sent] == [{"n": 1, "loopwright": source}]
    harness.send("test/hr-chain-reply", {"answer": 42})
    done = harness.wait_run(run["run_id"])
    assert done["status"] == "Completed", done
    assert done["output"] == {"sent": 1, "reply": {"answer": 42}, "called": {"called_with": 7}}
