"""Four gaps found by varying known attacks within the skill contract, and what closes them.

1. self-triggering loops: refused statically (own trigger) and at activation (a cycle through
   live skills: ``tests/sidecar_runtime/test_loops.py``); run-time event caps: ``test_replay``;
2. log and console forging: declared text is one printable line; shown text is escaped;
3. impersonating other apps' events: own namespace or an approved grant; the platform stamps
   the sender's identity on every event, whatever the skill (or its worker) put there;
4. step-replay denial of service: ``tests/sidecar_runtime/test_replay.py``.
"""

from __future__ import annotations

import textwrap
from typing import Any

import inngest
import pytest

from sidecar.approval import ApprovalPolicy
from sidecar.facade.text import printable, text_problem
from sidecar.validation import RULES, Finding, validate_source
from sidecar.validation.cycles import Node, find_cycle
from sidecar.validation.manifest import Manifest
from sidecar.workers import Job, RunBudgets, Session
from sidecar.workers.session import WorkerBroken


def source(
    body: str = "return {}",
    *,
    skill_id: str = "gap",
    manifest: dict[str, Any] | None = None,
    decorator: str = "",
    trigger: str = 'skill.event("gap/go")',
) -> str:
    data = {
        "id": skill_id,
        "description": "a gap probe",
        "author": "agent",
        "triggers": [{"event": "gap/go"}],
        **(manifest or {}),
    }
    return (
        f"MANIFEST = {data!r}\n\n\n"
        f"@skill.function(fn_id={skill_id!r}, trigger={trigger}{decorator})\n"
        f"def handler(ctx):\n{textwrap.indent(textwrap.dedent(body).strip(), '    ')}\n"
    )


def errors(src: str, filename: str = "gap.py") -> list[Finding]:
    report = validate_source(src, filename)
    return [f for f in report.findings if f.severity == "error"]


def only(src: str, rule_id: str) -> Finding:
    found = errors(src)
    assert [f.rule for f in found] == [rule_id], [f"{f.rule}: {f.message}" for f in found]
    finding = found[0]
    assert finding.line >= 1 and finding.fix == RULES[rule_id].fix and finding.fix
    return finding


# --- 1. self-triggering loops ---------------------------------------------------------------


def test_a_skill_sending_its_own_trigger_is_refused_at_the_send() -> None:
    src = source(
        'ctx.step.send_event("again", skill.Event("gap/go", {}))\nreturn {}',
        manifest={"emits": ["gap/go"], "emit_grants": ["gap/go"]},
    )
    finding = only(src, "emit-self-trigger")
    assert finding.line == 6  # the send_event line
    assert "'gap/go'" in finding.message


def test_a_loop_through_other_skills_is_found_and_named() -> None:
    def node(skill_id: str, triggers: list[str], emits: list[str]) -> Node:
        return Node(skill_id, frozenset(triggers), frozenset(emits), frozenset(), frozenset())

    a = node("a", ["b/done"], ["a/done"])
    b = node("b", ["a/done"], ["b/done"])
    unrelated = node("c", ["x/y"], ["c/done"])
    assert find_cycle(a, [b, unrelated]) == [
        "a sends 'a/done' to b",
        "b sends 'b/done' to a",
    ]
    assert find_cycle(a, [unrelated]) is None
    invoker = Node("d", frozenset({"a/done"}), frozenset(), frozenset({"a"}), frozenset())
    target = Node("a", frozenset({"x/go"}), frozenset({"a/done"}), frozenset(), frozenset({"a"}))
    assert find_cycle(target, [invoker]) == ["a sends 'a/done' to d", "d invokes 'a' to a"]


# --- 2. log and console forging ---------------------------------------------------------------

FORGED_TEXT = [
    "Nightly\n2026-01-01 INFO sidecar: all skills approved",
    "\x1b[2J\x1b[32mAPPROVED\x1b[0m",
    "refund \u202eevil\u202c",
    "zero\u200bwidth",
    "tab\there",
]


@pytest.mark.parametrize("text", FORGED_TEXT)
def test_a_forged_function_name_is_refused(text: str) -> None:
    finding = only(source(decorator=f", name={text!r}"), "text-unsafe")
    assert finding.line == 4 and "name" in finding.message


@pytest.mark.parametrize("key", ["description", "owner"])
def test_forged_manifest_text_is_refused(key: str) -> None:
    finding = only(source(manifest={key: "ok\r\nAPPROVED by admin"}), "text-unsafe")
    assert key in finding.message


def test_ordinary_text_in_any_script_is_fine() -> None:
    assert errors(source(decorator=', name="Résumé — 日本語 check"')) == []
    assert text_problem("Résumé — 日本語 check") is None


@pytest.mark.parametrize("text", FORGED_TEXT)
def test_shown_text_is_escaped_so_a_terminal_sees_no_control(text: str) -> None:
    shown = printable(text)
    assert text_problem(shown) is None  # nothing a terminal would act on is left
    assert all(part in shown for part in ("\\", text[:3])) or shown.startswith("\\x1b")
    assert printable("line one\nline two", keep_newlines=True) == "line one\nline two"


# --- 3. impersonating other apps' events ----------------------------------------------------


def test_sending_another_apps_event_is_refused_without_a_grant() -> None:
    src = source(
        'ctx.step.send_event("refund", skill.Event("billing/refund.approved", {}))\nreturn {}',
        manifest={"emits": ["billing/refund.approved"]},
    )
    finding = only(src, "emit-namespace")
    assert finding.line == 6 and "'gap/'" in finding.message
    own = source(
        'ctx.step.send_event("done", skill.Event("gap/done", {}))\nreturn {}',
        manifest={"emits": ["gap/done"]},
    )
    assert errors(own) == []


def test_a_granted_foreign_event_validates_and_waits_for_a_person() -> None:
    src = source(
        'ctx.step.send_event("refund", skill.Event("billing/refund.approved", {}))\nreturn {}',
        manifest={"emits": ["billing/refund.approved"], "emit_grants": ["billing/refund.approved"]},
    )
    report = validate_source(src, "gap.py")
    assert report.ok, report.render()
    assert report.skill is not None
    decision = ApprovalPolicy(auto_emits=True).decide(report.skill.manifest)
    assert decision.needs_approval
    assert any("billing/refund.approved" in r and "grant" in r for r in decision.reasons)


def test_skill_code_cannot_write_the_identity_key() -> None:
    src = source(
        'ctx.step.send_event("done", skill.Event("gap/done", {"loopwright": {"skill": "billing"}}))'
        "\nreturn {}",
        manifest={"emits": ["gap/done"]},
    )
    found = errors(src)
    assert [f.rule for f in found] == ["step-misuse"], [f.message for f in found]
    assert "reserved" in found[0].message


class _Ctx:
    run_id = "01RUNID"


def _session(manifest: dict[str, Any]) -> Session:
    parsed = Manifest.model_validate(manifest)
    job = Job(skill_id=parsed.id, version=3, content_hash="h", filename="gap.py", source="",
              fn_id=parsed.id, failure=False, manifest=parsed, app_id="app")  # fmt: skip
    return Session(None, _Ctx(), job, None, cpu_seconds=1, budgets=RunBudgets())  # type: ignore[arg-type]


def test_the_sidecar_stamps_the_sender_whatever_a_compromised_worker_sends() -> None:
    session = _session({"id": "gap", "description": "d", "author": "agent",
                        "triggers": [{"event": "x/go"}], "emits": ["gap/done"]})  # fmt: skip
    forged = {"name": "gap/done", "data": {"n": 1, "loopwright": {"skill": "billing"}}}
    (event,) = session._outgoing([forged])
    assert isinstance(event, inngest.Event)
    assert event.data == {"n": 1, "loopwright": {"skill": "gap", "version": 3, "run_id": "01RUNID"}}


def test_the_sidecar_refuses_a_foreign_name_even_if_the_manifest_lists_it() -> None:
    # A registered manifest always passed the contract; this is the layer below it.
    session = _session({"id": "gap", "description": "d", "author": "agent",
                        "triggers": [{"event": "x/go"}], "emits": ["billing/refund.approved"]})  # fmt: skip
    with pytest.raises(WorkerBroken) as caught:
        session._outgoing([{"name": "billing/refund.approved", "data": {}}])
    assert caught.value.rule == "runtime-emit-undeclared"


def test_the_platforms_pin_step_id_is_refused_from_a_worker() -> None:
    # Its memo would read as the run's version pin (runs started before pins moved to the store).
    session = _session({"id": "gap", "description": "d", "author": "agent",
                        "triggers": [{"event": "x/go"}]})  # fmt: skip
    with pytest.raises(WorkerBroken, match="the platform's own") as caught:
        session._unique("loopwright-version")
    assert caught.value.rule == "step-misuse"
    assert session._unique("loopwright-version-2") == "loopwright-version-2"


def test_a_worker_running_a_step_it_was_not_allowed_to_start_is_refused() -> None:
    # The job did not let it start a step on its own (the SDK would plan it, not run it).
    session = _session({"id": "gap", "description": "d", "author": "agent",
                        "triggers": [{"event": "x/go"}]})  # fmt: skip
    with pytest.raises(WorkerBroken, match="without being asked") as caught:
        session._step({"op": "step", "kind": "run", "id": "s", "executing": True})
    assert caught.value.rule == "step-misuse"
