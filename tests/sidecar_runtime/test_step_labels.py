"""Step labels: ``ctx.step.run("classify", fn, service, label=service)`` keeps the literal id
(replay and the validator see ``classify``, ``classify:1``…) while the run ledger, and so
`loopwright runs show` and the console, name each use ``classify (checkout)``. A label that is
not one short printable line is refused with the fix."""

from __future__ import annotations

import asyncio
import json

from typer.testing import CliRunner

from console.ledger_runs import LedgerRuns
from loopwright.cli import app
from loopwright.ledger import LedgerReader
from loopwright.store import open_store

from ._harness import Harness, skill_source
from .test_ledger import finished

runner = CliRunner()

LOOP = """
verdicts = {}
for service in ctx.event.data["services"]:
    verdicts[service] = ctx.step.run("classify", lambda s: s.upper(), service, label=service)
ctx.step.run("summary", lambda: len(verdicts))
return verdicts
"""


def test_labelled_steps_are_named_in_the_ledger_and_in_runs_show(harness: Harness) -> None:
    source = skill_source("lb-loop", LOOP, example={"services": ["a"]})
    assert harness.submit("lb-loop", source)["state"] == "active"
    run = harness.trigger("test/lb-loop", {"services": ["checkout", "search"]})
    assert run["status"] == "Completed", run
    store = harness.sidecar.settings.store
    finished(LedgerReader(open_store(store)), run["run_id"])
    steps = LedgerReader(open_store(store)).steps(run["run_id"])
    assert [(s.step_id, s.name) for s in steps] == [
        ("classify", "classify (checkout)"),
        ("classify:1", "classify (search)"),
        ("summary", "summary"),
    ]
    # The engine's own steps are unchanged: labels never reach the protocol.
    engine = [s["name"] for s in harness.steps(run["run_id"])]
    assert engine == ["classify", "classify", "summary"]

    shown = runner.invoke(app, ["runs", "show", run["run_id"], "--store", str(store)])
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert any("classify (checkout)" in line for line in lines)
    assert any("classify (search)" in line for line in lines)
    assert any(" summary " in f" {line} " for line in lines)
    raw = runner.invoke(app, ["runs", "show", run["run_id"], "--store", str(store), "--json"])
    names = [s["name"] for s in json.loads(raw.output)["steps"]]
    assert "classify (search)" in names
    # The console's run page reads the same names (its template shows each step's name).
    rows = asyncio.run(LedgerRuns(open_store(store)).steps(run["run_id"]))
    assert [r.name for r in rows][:2] == ["classify (checkout)", "classify (search)"]


def test_a_bad_label_from_the_data_fails_the_run_naming_the_fix(harness: Harness) -> None:
    harness.submit("lb-bad", skill_source("lb-bad", LOOP, example={"services": ["a"]}))
    run = harness.trigger("test/lb-bad", {"services": ["x" * 65]})
    assert run["status"] == "Failed", run
    record = finished(LedgerReader(open_store(harness.sidecar.settings.store)), run["run_id"])
    assert record.error_message is not None
    assert "label" in record.error_message and "shorten it to 64" in record.error_message


def test_a_bad_literal_label_is_refused_at_submission(harness: Harness) -> None:
    body = 'return ctx.step.run("work", lambda: 1, label="line one\\nline two")'
    outcome = harness.submit("lb-literal", skill_source("lb-literal", body))
    assert outcome["state"] == "quarantined", outcome
    text = json.dumps(outcome)
    assert "label" in text and "one line of printable characters" in text
