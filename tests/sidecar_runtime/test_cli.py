"""`loopwright skills ...` against a running sidecar, and `loopwright sidecar --help`.

The tests of this module are the steps of one scenario and run in file order.
"""

from __future__ import annotations

import json
from pathlib import Path

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
    # When, by whom and why, for every version, and the decisions taken about it.
    lines = out.splitlines()
    v1 = next(i for i, line in enumerate(lines) if line.startswith("  v1 "))
    assert "by agent  test" in lines[v1]
    assert any("approve by carol" in line for line in lines[v1:])
    assert any("reject by human: no" in line for line in lines)
    code, out = cli(harness, "show", "cli-poster", "--version", "2", "--json")
    assert code == 0 and json.loads(out)["source"] == poster("v2")
    # The text form prints the validation report, as the help promises.
    code, out = cli(harness, "show", "cli-poster", "--version", "1")
    assert code == 0 and "written" in out and "by agent: test" in out
    assert "cli_poster.py: OK (cli-poster)" in out and "approved" in out and "by carol" in out


def test_pause_resume_and_rollback(harness: Harness) -> None:
    assert cli(harness, "pause", "cli-poster")[1].strip() == "cli-poster v1: paused"
    assert cli(harness, "resume", "cli-poster")[1].strip() == "cli-poster v1: resumed"
    harness.submit("cli-poster", poster("v3"))
    assert cli(harness, "approve", "cli-poster", "--version", "3")[0] == 0
    code, out = cli(harness, "rollback", "cli-poster", "--version", "1")
    assert (code, out.strip()) == (0, "cli-poster v1: active")
    code, out = cli(harness, "rollback", "cli-poster", "3")  # the old positional form
    assert (code, out.strip()) == (0, "cli-poster v3: active")


def test_exit_codes(harness: Harness) -> None:
    code, out = cli(harness, "show", "no-such-skill")
    assert code == 1 and "404" in out
    # an id is one path segment: a control character is a 404 (not a traceback), a '?'
    # starts no query (the skill behind it is not shown)
    for junk in ("a\x01b", "cli-poster?x=1", "cli-poster#x"):
        code, out = cli(harness, "show", junk)
        assert code == 1 and "404" in out, junk
    code, out = cli(harness, "rollback", "cli-poster", "2")  # rejected: refused
    assert code == 1 and "409" in out
    code, out = cli(harness, "rollback", "cli-poster")  # which version?
    assert code == 2 and "--version" in out
    assert cli(harness, "frobnicate")[0] == 2
    dead = runner.invoke(skills_app, ["list", "--url", f"http://127.0.0.1:{free_port()}"])
    assert dead.exit_code == 1 and "not reachable" in dead.output


def test_validate_a_file_without_installing_it(harness: Harness, tmp_path: Path) -> None:
    good = tmp_path / "cli_checked.py"
    good.write_text(skill_source("cli-checked"))
    code, out = cli(harness, "validate", str(good))
    assert (code, out.strip()) == (0, "cli_checked.py: OK (cli-checked)")
    code, out = cli(harness, "validate", str(good), "--json")
    assert code == 0 and json.loads(out)["ok"] is True
    assert harness.skill("cli-checked") is None  # validated, not installed

    bad = tmp_path / "cli_broken.py"
    bad.write_text(skill_source("cli-broken", "import os\nreturn os.getcwd()"))
    code, out = cli(harness, "validate", str(bad))
    assert code == 1 and "cli_broken.py: validation failed" in out and "os" in out
    assert json.loads(cli(harness, "validate", str(bad), "--json")[1])["ok"] is False

    # No sidecar: validated locally, and said so.
    dead = f"http://127.0.0.1:{free_port()}"
    local = runner.invoke(skills_app, ["validate", str(good), "--url", dead])
    assert local.exit_code == 0 and "validated locally" in local.output
    assert "cli_checked.py: OK (cli-checked)" in local.output
    missing = runner.invoke(skills_app, ["validate", str(tmp_path / "nope.py"), "--url", dead])
    assert missing.exit_code == 2 and "cannot read" in missing.output


def test_removed_skills_are_hidden_unless_all(harness: Harness) -> None:
    harness.write("cli-gone", skill_source("cli-gone"))
    harness.wait_active("cli-gone", 1)
    harness.path("cli-gone").unlink()
    harness.wait_skill("cli-gone", lambda s: s["state"] == "removed", "removed")
    code, out = cli(harness, "list")
    assert code == 0 and "cli-gone" not in out and "1 removed skill(s) not shown" in out
    code, out = cli(harness, "list", "--all")
    assert code == 0 and "cli-gone" in out and "removed" in out


def test_a_hand_edit_is_recorded_with_a_human_author(harness: Harness) -> None:
    harness.write("cli-hand", skill_source("cli-hand"))  # straight into the folder
    harness.wait_active("cli-hand", 1)
    code, out = cli(harness, "show", "cli-hand")
    assert code == 0 and "by human  edited on disk" in out


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
