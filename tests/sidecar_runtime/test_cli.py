"""`loopwright skills ...` against a running sidecar, and `loopwright sidecar --help`.

The tests of this module are the steps of one scenario and run in file order.
"""

from __future__ import annotations

import json

import typer
from typer.testing import CliRunner

from sidecar.cli import sidecar_command, skills_app

from ._engine import free_port
from ._harness import Harness, skill_source

runner = CliRunner()
SLACK = {"notify": {"channels": ["slack"]}}


def poster(tag: str) -> str:
    return skill_source(
        "cli-poster",
        f'ctx.step.run("p", lambda: ctx.capabilities.notify.post("slack", "{tag}"))\n'
        f'return {{"code": "{tag}"}}',
        capabilities=SLACK,
    )


def cli(harness: Harness, *args: str) -> tuple[int, str]:
    result = runner.invoke(skills_app, [*args, "--url", str(harness.api.base_url)])
    return result.exit_code, result.output


def test_the_review_loop_from_the_command_line(harness: Harness) -> None:
    assert harness.submit("cli-poster", poster("v1"))["state"] == "awaiting_approval"
    code, out = cli(harness, "list")
    assert code == 0 and "cli-poster" in out and "awaiting_approval" in out
    code, out = cli(harness, "list", "--json")
    assert code == 0 and json.loads(out)[0]["awaiting_approval"] == [1]

    code, out = cli(harness, "approve", "cli-poster", "--by", "carol")
    assert (code, out.strip()) == (0, "cli-poster v1: active")
    assert harness.trigger("test/cli-poster")["output"] == {"code": "v1"}

    harness.submit("cli-poster", poster("v2"))
    code, out = cli(harness, "diff", "cli-poster")
    assert (
        code == 0
        and '-    ctx.step.run("p", lambda: ctx.capabilities.notify.post("slack", "v1"))' in out
    )
    code, out = cli(harness, "reject", "cli-poster", "--reason", "no")
    assert (code, out.strip()) == (0, "cli-poster v2: rejected (no)")

    code, out = cli(harness, "show", "cli-poster")
    assert code == 0 and "v1    active" in out and "v2    rejected" in out
    code, out = cli(harness, "show", "cli-poster", "--version", "2", "--json")
    assert code == 0 and json.loads(out)["source"] == poster("v2")


def test_pause_resume_and_rollback(harness: Harness) -> None:
    assert cli(harness, "pause", "cli-poster")[1].strip() == "cli-poster v1: paused"
    assert cli(harness, "resume", "cli-poster")[1].strip() == "cli-poster v1: resumed"
    harness.submit("cli-poster", poster("v3"))
    assert cli(harness, "approve", "cli-poster", "--version", "3")[0] == 0
    code, out = cli(harness, "rollback", "cli-poster", "1")
    assert (code, out.strip()) == (0, "cli-poster v1: active")


def test_exit_codes(harness: Harness) -> None:
    code, out = cli(harness, "show", "no-such-skill")
    assert code == 1 and "404" in out
    code, out = cli(harness, "rollback", "cli-poster", "2")  # rejected: refused
    assert code == 1 and "409" in out
    assert cli(harness, "rollback", "cli-poster")[0] == 2  # missing argument
    assert cli(harness, "frobnicate")[0] == 2
    dead = runner.invoke(skills_app, ["list", "--url", f"http://127.0.0.1:{free_port()}"])
    assert dead.exit_code == 1 and "not reachable" in dead.output


def test_the_sidecar_command_has_help() -> None:
    app = typer.Typer()
    app.command("sidecar")(sidecar_command)
    app.command("noop")(lambda: None)
    result = runner.invoke(app, ["sidecar", "--help"])
    assert result.exit_code == 0
    for option in ("--engine", "--port", "--skills-dir", "--db", "--sync-mode"):
        assert option in result.output
    bad = runner.invoke(app, ["sidecar", "--sync-mode", "carrier-pigeon"])
    assert bad.exit_code == 2
