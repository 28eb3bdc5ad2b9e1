"""Attacks that pass every static check and are stopped while the skill runs in the sandbox.

Each one is written so the AST policy cannot see it (computed values, aliases, data-dependent
sizes); the case names the run-time layer that stops it and the exact rule. They run through
``validate_source``, whose dry run executes the skill in a separate, limited process: the
validator itself must survive every one of them, crashes included.
"""

from __future__ import annotations

import pytest
from probes import Attack, probe

from sidecar.validation import RULES, SandboxLimits, validate_source

NOTIFY = {"notify": {"channels": ["inbox"]}}
HTTP = {"http": {"hosts": ["status.example.com"]}}
#: Short CPU and memory limits, so the attacks that exhaust them end fast.
FAST = SandboxLimits(cpu_seconds=1, wall_seconds=10, memory_bytes=256 * 1024 * 1024)

RUNTIME_ATTACKS = [
    # --- resource exhaustion -----------------------------------------------------------------
    Attack("string-repetition-bomb", probe('return len("a" * 10**10)'),
           stopped_by="guarded-access", rule="limit-exceeded"),
    Attack("integer-power-bomb", probe("n = 10**10\nreturn 2**n > 0"),
           stopped_by="guarded-access", rule="limit-exceeded"),
    Attack("left-shift-bomb", probe("n = 10**10\nreturn (1 << n) > 0"),
           stopped_by="guarded-access", rule="limit-exceeded"),
    Attack("in-place-doubling-bomb", probe("s = ['x']\nfor i in range(40):\n    s += s\nreturn len(s)"),
           stopped_by="guarded-access", rule="limit-exceeded"),
    Attack("str-padding-bomb", probe('return len("x".ljust(10**10))'),
           stopped_by="guarded-access", rule="limit-exceeded"),
    Attack("huge-range-loop", probe("for i in range(10**12):\n    pass\nreturn 1"),
           stopped_by="guarded-access", rule="limit-exceeded"),
    Attack("cpu-burn-nested-loops",
           probe("t = 0\nfor i in range(100000):\n    for j in range(100000):\n        t += 1\nreturn t"),
           stopped_by="dry-run-sandbox", rule="sandbox-cpu-limit"),
    Attack("regex-backtracking-missed-by-heuristic",
           probe('return bool(re.match("(a|a)*$", "a" * 40 + "!"))', imports="import re"),
           stopped_by="dry-run-sandbox", rule="sandbox-cpu-limit"),
    Attack("memory-bomb-below-size-caps",
           probe("hoard = [[0] * 1000000 for i in range(5000)]\nreturn len(hoard)"),
           stopped_by="dry-run-sandbox", rule="sandbox-memory-limit",
           # Page faults are slow on small VMs: give the allocation time to reach the cap.
           limits=SandboxLimits(cpu_seconds=5, wall_seconds=15, memory_bytes=128 * 1024 * 1024)),
    Attack("hash-of-deep-tuple-segfaults",
           probe("t = ()\nfor i in range(1000):\n    for j in range(1000):\n        t = (t,)\n"
                 "return len({t: 1})"),
           stopped_by="dry-run-sandbox", rule="sandbox-crashed"),
    Attack("mutual-recursion", probe("return ping(0)",
                                     top="def ping(n):\n    return pong(n)\n\n\n"
                                         "def pong(n):\n    return ping(n)\n"),
           stopped_by="dry-run-sandbox", rule="sandbox-recursion-limit"),
    Attack("regex-built-at-run-time",
           probe('pattern = "(a" + "+)+$"\nreturn bool(re.match(pattern, "a" * 40 + "!"))',
                 imports="import re"),
           stopped_by="import-wrapper", rule="runtime-regex-rejected"),
    # --- determinism ---------------------------------------------------------------------------
    Attack("clock-through-class-alias",
           probe('clock = datetime.datetime\nreturn {"t": str(clock.now())}',
                 imports="import datetime"),
           stopped_by="import-wrapper", rule="runtime-nondeterministic-call"),
    # --- platform objects: read, write, index, iterate ------------------------------------------
    Attack("read-other-declarations-through-the-client", probe("return len(skill.declarations)"),
           stopped_by="guarded-access", rule="guarded-access"),
    Attack("monkeypatch-client-to-spy-on-later-runs",
           probe("skill.function = None\nreturn 1"),
           stopped_by="guarded-access", rule="guarded-write"),
    Attack("overwrite-context", probe("ctx.event = None\nreturn 1"),
           stopped_by="guarded-access", rule="guarded-write"),
    Attack("index-the-context", probe('return ctx["event"]'),
           stopped_by="guarded-access", rule="guarded-access"),
    Attack("iterate-the-client", probe("return [name for name in skill]"),
           stopped_by="guarded-access", rule="guarded-access"),
    Attack("declare-functions-at-run-time",
           probe('skill.function(fn_id="probe-2", trigger=skill.cron("* * * * *"))\nreturn 1'),
           stopped_by="facade", rule="step-misuse"),
    # --- capabilities: only what the manifest grants ------------------------------------------
    Attack("post-to-undeclared-channel",
           probe('return ctx.step.run("post", lambda: ctx.capabilities.notify.post("slack", "hi"))',
                 capabilities=NOTIFY),
           stopped_by="facade", rule="capability-denied"),
    Attack("reach-engine-api-over-http",
           probe('return ctx.step.run("poke", lambda: ctx.capabilities.http.get('
                 '"http://127.0.0.1:8288/v0/gql"))', capabilities=HTTP),
           stopped_by="facade", rule="capability-denied"),
    Attack("credentials-in-url",
           probe('return ctx.step.run("poke", lambda: ctx.capabilities.http.get('
                 '"https://user:pw@status.example.com/"))', capabilities=HTTP),
           stopped_by="facade", rule="capability-denied"),
    Attack("swallow-the-denial",
           probe("def post():\n    try:\n        return ctx.capabilities.notify.post('slack', 'x')\n"
                 "    except Exception:\n        return 'swallowed'\n\n"
                 'return ctx.step.run("post", post)', capabilities=NOTIFY),
           stopped_by="facade", rule="capability-denied"),
    Attack("send-engine-event-with-computed-name",
           probe('name = "inngest/" + "function.failed"\n'
                 'return ctx.step.send_event("forge", {"name": name, "data": {}})',
                 emits=["probe/ok"]),
           stopped_by="facade", rule="runtime-emit-undeclared"),
    Attack("invoke-core-function-with-computed-id",
           probe('target = "health" + "-check"\n'
                 'return ctx.step.invoke("call", function_id=target, data={})'),
           stopped_by="facade", rule="runtime-emit-undeclared"),
    # --- step outputs: JSON only, 4 MiB -------------------------------------------------------
    Attack("exfiltrate-context-through-step-output",
           probe('return ctx.step.run("leak", lambda: ctx)'),
           stopped_by="facade", rule="step-output-invalid"),
    Attack("return-a-function", probe('return {"handler": ctx.log}'),
           stopped_by="facade", rule="step-output-invalid"),
    Attack("oversized-step-output", probe('return ctx.step.run("big", lambda: "a" * 5000000)'),
           stopped_by="facade", rule="step-output-too-large"),
    # --- ids -------------------------------------------------------------------------------------
    Attack("shadow-a-core-function",
           probe("return 1", skill_id="health-check"), filename="health_check.py",
           existing=frozenset({"health-check", "heartbeat"}),
           stopped_by="contract", rule="function-id-taken"),
]  # fmt: skip


@pytest.mark.parametrize("attack", RUNTIME_ATTACKS, ids=repr)
def test_runtime_attack_is_stopped(attack: Attack) -> None:
    report = validate_source(
        attack.source,
        attack.filename,
        existing_function_ids=attack.existing,
        limits=attack.limits or FAST,
    )
    assert not report.ok, report.render()
    assert RULES[attack.rule].layer == attack.stopped_by
    assert report.errors[0].rule == attack.rule, report.render()
    assert report.skill is None
    # It got past the static layers: the sandbox loaded it.
    assert "load" in report.layers_run
    # And it had no effect: no capability backend was reached (a denied call never is), no
    # event was sent, no function invoked, no step output recorded.
    for run in report.dry_runs:
        assert run.capability_calls == [], run.capability_calls
        assert [s.op for s in run.steps if s.op in ("send_event", "invoke")] == []
        assert [s.output for s in run.steps if s.output is not None] == []


def test_sandbox_timeout_kills_a_busy_skill() -> None:
    source = probe(
        "t = 0\nfor i in range(100000):\n    for j in range(100000):\n        t += 1\nreturn t"
    )
    report = validate_source(
        source, "probe.py", limits=SandboxLimits(cpu_seconds=30, wall_seconds=2.5)
    )
    assert report.rules() == ["sandbox-timeout"]
    assert report.errors[0].line == 6  # the decorated function being dry-run


def test_runtime_corpus_is_large_enough() -> None:
    assert len(RUNTIME_ATTACKS) >= 25
