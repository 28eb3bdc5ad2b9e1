"""The skill-facing facade on its own: steps, JSON-only outputs, events, context, client."""

from __future__ import annotations

import datetime

import pytest

from sidecar.facade import (
    EventView,
    FakeCapabilities,
    RecordingStepBackend,
    SkillClient,
    SkillContext,
    Step,
    StepGrants,
    build_capabilities,
    to_json_value,
)
from sidecar.facade.errors import (
    EmitDenied,
    LLMBudgetExceeded,
    StepMisuse,
    StepOutputInvalid,
    StepOutputTooLarge,
)
from sidecar.facade.grants import CapabilityGrants
from sidecar.facade.limits import MAX_STEPS_PER_RUN
from sidecar.facade.scope import current_step, inside_step


def make_step(**grants: frozenset[str]) -> tuple[Step, RecordingStepBackend]:
    backend = RecordingStepBackend()
    return Step(backend, run_id="run-1", grants=StepGrants(**grants)), backend


@pytest.mark.parametrize(
    "value",
    [(1, 2), {1: "a"}, float("nan"), {"f": print}, {1, 2}, datetime.date(2024, 1, 1), b"x"],
)
def test_outputs_must_survive_a_strict_json_round_trip(value: object) -> None:
    with pytest.raises(StepOutputInvalid):
        to_json_value(value, "output")


def test_json_outputs_come_back_as_plain_copies() -> None:
    original = {"a": [1, 2.5, "x", None, True], "b": {"c": {}}}
    copy = to_json_value(original, "output")
    assert copy == original and copy is not original


def test_outputs_over_four_mebibytes_are_refused() -> None:
    with pytest.raises(StepOutputTooLarge):
        to_json_value("a" * (4 * 1024 * 1024), "output")


def test_repeated_step_ids_are_counted_like_the_sdk() -> None:
    step, backend = make_step()
    for n in range(3):
        step.run("fetch", lambda n=n: n)
    assert [r.id for r in backend.records] == ["fetch", "fetch:1", "fetch:2"]


def test_step_callbacks_run_inside_a_step_scope() -> None:
    step, _ = make_step()
    seen = step.run("where", lambda: current_step().step_id)  # type: ignore[union-attr]
    assert seen == "where"
    assert current_step() is None


def test_a_step_label_reaches_the_backend_beside_the_unchanged_id() -> None:
    step, backend = make_step()
    for service in ["checkout", "search"]:
        step.run("classify", lambda s: s, service, label=service)
    assert [(r.id, r.detail.get("label")) for r in backend.records] == [
        ("classify", "checkout"),
        ("classify:1", "search"),
    ]


@pytest.mark.parametrize(
    ("label", "fix"),
    [
        ("", "non-empty string"),
        (7, "non-empty string"),
        ("x" * 65, "shorten it to 64"),
        ("two\nlines", "one line of printable characters"),
        ("\u202eevil", "one line of printable characters"),
    ],
)
def test_bad_step_labels_are_refused_naming_the_fix(label: object, fix: str) -> None:
    step, backend = make_step()
    with pytest.raises(StepMisuse, match=fix):
        step.run("classify", lambda: 1, label=label)  # type: ignore[arg-type]
    assert backend.records == []


@pytest.mark.parametrize("step_id", ["", "has space", "x" * 81, 42, "-lead", "loopwright-version"])
def test_step_ids_are_checked(step_id: object) -> None:
    step, _ = make_step()
    with pytest.raises(StepMisuse):
        step.run(step_id, lambda: 1)  # type: ignore[arg-type]


def test_nested_steps_are_refused() -> None:
    step, _ = make_step()
    with pytest.raises(StepMisuse):
        step.run("outer", lambda: step.run("inner", lambda: 1))


def test_step_budget_matches_inngest() -> None:
    step, _ = make_step()
    for i in range(MAX_STEPS_PER_RUN):
        step.sleep(f"s{i}", 1)
    with pytest.raises(StepMisuse):
        step.sleep("one-more", 1)


@pytest.mark.parametrize("duration", [-1, True, 1.5, "5m", datetime.timedelta(days=400)])
def test_durations_are_milliseconds_or_timedeltas_within_bounds(duration: object) -> None:
    step, _ = make_step()
    with pytest.raises(StepMisuse):
        step.sleep("nap", duration)  # type: ignore[arg-type]


def test_sleep_until_needs_an_aware_datetime() -> None:
    step, backend = make_step()
    with pytest.raises(StepMisuse):
        step.sleep_until("later", datetime.datetime(2030, 1, 1))
    step.sleep_until("later", datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC))
    assert backend.records[-1].detail == {"until": "2030-01-01T00:00:00+00:00"}


def test_send_event_only_declared_names() -> None:
    step, backend = make_step(emits=frozenset({"demo/done"}))
    with pytest.raises(EmitDenied):
        step.send_event("a", {"name": "inngest/function.failed", "data": {}})
    with pytest.raises(StepMisuse):
        step.send_event("b", {"name": "demo/done", "user": {}})
    assert step.send_event("c", [{"name": "demo/done", "data": {"x": 1}}]) == ["dry-run-c-0"]
    assert backend.records[-1].detail["events"] == [{"name": "demo/done", "data": {"x": 1}}]


def test_invoke_only_declared_functions() -> None:
    step, _ = make_step(invokes=frozenset({"other"}))
    with pytest.raises(EmitDenied):
        step.invoke("a", function_id="health-check")
    assert step.invoke("b", function_id="other", data={"k": 1}) is None


def test_wait_for_event_returns_a_read_only_view() -> None:
    backend = RecordingStepBackend(stubs={"w": {"name": "demo/x", "data": {"k": [1]}, "ts": 5}})
    step = Step(backend, run_id="r", grants=StepGrants())
    found = step.wait_for_event("w", event="demo/x", timeout=1000)
    assert isinstance(found, EventView)
    assert (found.name, found.data, found.ts) == ("demo/x", {"k": [1]}, 5)
    assert step.wait_for_event("w2", event="demo/x", timeout=1000) is None


def test_context_exposes_only_its_public_names_and_logs_json() -> None:
    lines: list[tuple[str, dict[str, object]]] = []
    step, _ = make_step()
    ctx = SkillContext(
        events=[EventView.from_json({"name": "demo/x", "data": {"a": 1}})],
        run_id="r",
        attempt=0,
        step=step,
        capabilities=build_capabilities(
            CapabilityGrants(), FakeCapabilities().backends(), lambda call: None
        ),
        log_sink=lambda message, fields: lines.append((message, fields)),
    )
    assert ctx.exposes("event") and not ctx.exposes("_sink")
    ctx.log("hello", n=1)
    assert lines == [("hello", {"n": 1})]
    with pytest.raises(StepOutputInvalid):
        ctx.log("bad", obj=object())
    assert repr(ctx) == "<SkillContext>"


def test_llm_budget_is_enforced_per_run_and_catchable() -> None:
    grants = CapabilityGrants.model_validate({"llm": {"per_run_usd": 0.01, "per_week_usd": 1}})
    fake = FakeCapabilities(fixtures={"llm.complete": {"text": "x", "usd": 0.01}})
    caps = build_capabilities(grants, fake.backends(), lambda call: None)
    with inside_step("r", "s"):
        caps.llm.complete("hi")  # type: ignore[attr-defined]
        with pytest.raises(LLMBudgetExceeded):
            caps.llm.complete("again")  # type: ignore[attr-defined]


def test_notify_gets_an_idempotency_key_per_run_step_and_call() -> None:
    grants = CapabilityGrants.model_validate({"notify": {"channels": ["inbox"]}})
    caps = build_capabilities(grants, FakeCapabilities().backends(), lambda call: None)
    with inside_step("run-9", "post:1"):
        first = caps.notify.post("inbox", "a")  # type: ignore[attr-defined]
        second = caps.notify.post("inbox", "b")  # type: ignore[attr-defined]
    assert first["message_id"] == "run-9:post:1:notify.post:0"
    assert second["message_id"] == "run-9:post:1:notify.post:1"


def test_unexpected_backend_errors_become_capability_errors() -> None:
    class Broken:
        def query(self, promql: str, *, source: str) -> object:
            raise OSError("connection refused to 10.0.0.5")

    from sidecar.facade.capabilities import CapabilityBackends
    from sidecar.facade.errors import CapabilityError

    grants = CapabilityGrants.model_validate({"metrics": {"sources": ["prometheus"]}})
    caps = build_capabilities(grants, CapabilityBackends(metrics=Broken()), lambda c: None)  # type: ignore[arg-type]
    with inside_step("r", "s"), pytest.raises(CapabilityError) as err:
        caps.metrics.query("up")  # type: ignore[attr-defined]
    assert "10.0.0.5" not in str(err.value)


def test_client_records_plain_declarations() -> None:
    client = SkillClient()

    @client.function(
        fn_id="x",
        trigger=client.cron("0 * * * *"),
        throttle=client.Throttle(limit=1, period=datetime.timedelta(seconds=30)),
    )
    def handler(ctx: object) -> None:
        return None

    [decl] = client.declarations
    assert decl.to_json()["options"] == {
        "throttle": {"kind": "throttle", "limit": 1, "period": 30000, "key": None, "burst": None}
    }
    assert decl.handler is handler
    with pytest.raises(TypeError):
        client.function(fn_id="y", trigger={}, middleware=[])
