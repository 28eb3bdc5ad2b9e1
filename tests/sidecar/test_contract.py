"""Contract checks: manifest schema, manifest against file name and code, declarations."""

from __future__ import annotations

import datetime

import inngest
import pytest
from skillsrc import skill_source

from sidecar.validation import FunctionSpec, validate_source


def rules(source: str, filename: str = "sample.py", **kwargs: object) -> list[str]:
    return validate_source(source, filename, **kwargs).rules()  # type: ignore[arg-type]


def test_manifest_missing() -> None:
    source = skill_source().replace("MANIFEST = ", "SETTINGS = ")
    assert "manifest-missing" in rules(source)


def test_manifest_not_literal() -> None:
    source = skill_source().replace("MANIFEST = {", "MANIFEST = dict(a=1) or {")
    assert "manifest-not-literal" in rules(source)


def test_manifest_schema_errors_point_at_their_keys() -> None:
    source = (
        "MANIFEST = {\n"
        '    "id": "sample",\n'
        '    "description": "",\n'
        '    "author": "robot",\n'
        '    "triggers": [{"cron": "0 * * * *"}],\n'
        '    "capabilities": {"llm": {"per_run_usd": 1, "per_week_usd": 0.5}, "shell": {}},\n'
        "}\n"
        '@skill.function(fn_id="sample", trigger=skill.cron("0 * * * *"))\n'
        "def handler(ctx):\n    return 1\n"
    )
    report = validate_source(source, "sample.py")
    found = [(f.line, f.message.split(":")[0]) for f in report.findings]
    assert found == [
        (3, "MANIFEST['description']"),
        (4, "MANIFEST['author']"),
        (6, "MANIFEST['capabilities']['llm']"),
        (6, "MANIFEST['capabilities']['shell']"),
    ]


def test_manifest_id_must_match_file_name() -> None:
    assert rules(skill_source(), "other.py") == ["manifest-id-mismatch"]


@pytest.mark.parametrize(
    ("triggers", "expected"),
    [
        ([{"cron": "0 * * *"}], "5 fields"),
        ([{"cron": "TZ=Mars/Olympus 0 * * * *"}], "unknown time zone"),
        ([{"cron": "61 * * * *"}], "does not parse"),
        ([{"event": "no-slash"}], "prefix/name"),
        ([{"event": "inngest/function.failed"}], "reserved"),
        ([{"cron": "0 * * * *", "event": "a/b"}], "exactly one"),
        ([{"cron": "0 * * * *", "example": {}}], "goes with an event"),
        ([], "at least 1"),
    ],
)
def test_manifest_triggers_are_checked(triggers: list[dict[str, str]], expected: str) -> None:
    report = validate_source(skill_source(triggers=triggers), "sample.py")
    assert any(expected in f.message for f in report.findings), report.render()


def test_decorator_triggers_must_match_manifest_triggers() -> None:
    source = skill_source(
        triggers=[{"cron": "0 * * * *"}, {"event": "demo/tick"}],
        decorator='fn_id="sample", trigger=skill.cron("*/5 * * * *")',
    )
    assert sorted(rules(source)) == ["trigger-undeclared", "trigger-unused", "trigger-unused"]


def test_cron_with_timezone_prefix_matches_exactly() -> None:
    cron = "TZ=Europe/Paris 0 3 * * *"
    source = skill_source(
        triggers=[{"cron": cron}],
        decorator=f'fn_id="sample", trigger=skill.TriggerCron(cron="{cron}")',
    )
    assert validate_source(source, "sample.py").ok


@pytest.mark.parametrize(
    ("options", "rule"),
    [
        ('fn_id="other"', "function-id-prefix"),
        ('fn_id="sample", retries=50', "function-invalid"),
        ('fn_id="sample", concurrency=[skill.concurrency(limit=0)]', "function-invalid"),
        (
            'fn_id="sample", concurrency=[skill.concurrency(1), skill.concurrency(2), '
            "skill.concurrency(3)]",
            "function-invalid",
        ),
        ('fn_id="sample", concurrency=skill.throttle(1, 1000)', "function-invalid"),
        ('fn_id="sample", throttle=skill.throttle(limit=1, period=10)', "function-invalid"),
        ('fn_id="sample", batch_events=skill.batch(max_size=500)', "function-invalid"),
        ('fn_id="sample", singleton=skill.singleton("wait")', "function-invalid"),
        (
            'fn_id="sample", debounce=skill.debounce(datetime.timedelta(days=30))',
            "function-invalid",
        ),
    ],
)
def test_flow_control_is_sane(options: str, rule: str) -> None:
    decorator = f'{options}, trigger=skill.cron("0 * * * *")'
    source = skill_source(decorator=decorator, imports="import datetime")
    assert rule in rules(source)


def test_decorator_cron_is_checked() -> None:
    source = skill_source(
        triggers=[{"cron": "0 * * * *"}],
        decorator='fn_id="sample", trigger=skill.cron("every hour")',
    )
    assert "trigger-cron-invalid" in rules(source)


def test_decorator_event_is_checked() -> None:
    source = skill_source(
        triggers=[{"event": "demo/x"}], decorator='fn_id="sample", trigger=skill.event("inngest/x")'
    )
    assert "trigger-event-invalid" in rules(source)


def test_function_ids_unique_in_file_and_against_existing_ids() -> None:
    second = (
        '\n@skill.function(fn_id="sample", trigger=skill.cron("0 * * * *"))\n'
        "def again(ctx):\n    return 1\n"
    )
    assert "function-id-duplicate" in rules(skill_source() + second)
    assert rules(skill_source(), existing_function_ids=frozenset({"sample"})) == [
        "function-id-taken"
    ]


def test_a_file_without_functions_is_refused() -> None:
    source = skill_source().split("@skill.function")[0]
    assert "function-none" in rules(source)


def test_capabilities_used_must_be_declared_and_declared_ones_used() -> None:
    body = 'return ctx.step.run("m", lambda: ctx.capabilities.metrics.query("up"))'
    report = validate_source(
        skill_source(body, capabilities={"notify": {"channels": ["inbox"]}}), "sample.py"
    )
    assert sorted((f.rule, f.severity) for f in report.findings) == [
        ("capability-undeclared", "error"),
        ("capability-unused", "warning"),
    ]


def test_literal_emits_and_invokes_are_checked_against_the_manifest() -> None:
    body = (
        'ctx.step.send_event("tell", skill.Event("demo/done", {}))\n'
        'return ctx.step.invoke("call", function_id="other-skill")'
    )
    assert sorted(rules(skill_source(body))) == ["emit-undeclared", "invoke-undeclared"]
    declared = skill_source(
        body,
        extra={"emits": ["demo/done"], "emit_grants": ["demo/done"], "invokes": ["other-skill"]},
    )
    assert validate_source(declared, "sample.py").ok


def test_specs_build_real_sdk_configuration() -> None:
    source = skill_source(
        imports="import datetime",
        triggers=[{"cron": "0 * * * *"}, {"event": "demo/go"}],
        decorator=(
            'fn_id="sample", name="Sample", trigger=[skill.cron("0 * * * *"), '
            'skill.event("demo/go", expression="event.data.ok")], retries=2, '
            "concurrency=[skill.Concurrency(limit=2, key='event.data.id')], "
            "throttle=skill.throttle(5, datetime.timedelta(minutes=1)), "
            "debounce=skill.debounce(period=5000), timeouts=skill.timeouts(finish=60000), "
            'cancel=[skill.cancel("demo/stop")], priority=skill.priority("100"), '
            'idempotency="event.data.id"'
        ),
    )
    report = validate_source(source, "sample.py")
    assert report.ok, report.render()
    assert report.skill is not None
    kwargs = report.skill.functions[0].to_sdk_kwargs()
    assert kwargs["trigger"][1] == inngest.TriggerEvent(event="demo/go", expression="event.data.ok")
    assert kwargs["throttle"].period == datetime.timedelta(minutes=1)
    assert kwargs["concurrency"][0].key == "event.data.id"
    client = inngest.Inngest(app_id="loopwright-test", is_production=False)
    fn = client.create_function(**kwargs)(lambda ctx: None)
    config = fn.get_config("http://localhost/api/inngest").main
    retries = next(iter(config.steps.values())).retries
    assert retries is not None and retries.attempts == 2
    assert config.throttle is not None


def test_function_spec_round_trips_as_json() -> None:
    report = validate_source(skill_source(), "sample.py")
    assert report.skill is not None
    spec = report.skill.functions[0]
    assert FunctionSpec.model_validate_json(spec.model_dump_json()) == spec
