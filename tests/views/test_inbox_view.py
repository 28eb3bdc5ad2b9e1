"""`loopwright inbox` shows what skills posted to the local inbox, oldest first."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from loopwright.cli import app
from skills_core.capabilities.grant import Grant
from skills_core.capabilities.notify.messages import PostRequest
from skills_core.capabilities.services import CapabilityServices
from skills_core.capabilities.settings import CapabilitySettings

runner = CliRunner()


def test_inbox_shows_posts_in_order_and_filters_threads(tmp_path: Path) -> None:
    db = tmp_path / "capabilities.db"
    settings = CapabilitySettings.from_env({"LOOPWRIGHT_CAPABILITIES_DB": str(db)})
    grant = Grant(skill_id="health-check", notify_channels=("inbox",))
    with CapabilityServices.build(settings) as services:
        services.notify.post(
            grant,
            PostRequest(
                channel="inbox", text="checkout degraded", dedupe_key="r1:s1", thread_key="inc-1"
            ),
        )
        services.notify.post(
            grant, PostRequest(channel="inbox", text="search normal", dedupe_key="r2:s1")
        )
    result = runner.invoke(app, ["inbox", "--db", str(db), "--json"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [r["text"] for r in rows] == ["checkout degraded", "search normal"]
    result = runner.invoke(app, ["inbox", "--db", str(db), "--thread", "inc-1"])
    assert "checkout degraded" in result.output and "search normal" not in result.output


def test_missing_inbox_exits_1(tmp_path: Path) -> None:
    result = runner.invoke(app, ["inbox", "--db", str(tmp_path / "none.db")])
    assert result.exit_code == 1 and "no inbox yet" in result.output


def test_skill_written_text_cannot_drive_the_terminal(tmp_path: Path) -> None:
    db = tmp_path / "capabilities.db"
    settings = CapabilitySettings.from_env({"LOOPWRIGHT_CAPABILITIES_DB": str(db)})
    grant = Grant(skill_id="health-check", notify_channels=("inbox",))
    forged = "ok\x1b[2J\x1b[31m\rAPPROVED \u202eevil"
    with CapabilityServices.build(settings) as services:
        services.notify.post(
            grant,
            PostRequest(channel="inbox", text=forged, dedupe_key="r1:s1", thread_key="[bold]x"),
        )
    result = runner.invoke(app, ["inbox", "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "\r" not in result.output
    assert "\u202e" not in result.output
    assert "\\x1b[2J" in result.output and "\\u202e" in result.output
    assert "[bold]x" in result.output  # markup in a thread key is shown, not interpreted
