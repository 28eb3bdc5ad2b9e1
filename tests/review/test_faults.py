"""Empty windows, clock skew, opted-out skills and the once-a-week promotion limit."""

from __future__ import annotations

from typing import Any

from typer.testing import CliRunner

from loopwright.cli import app
from review import proposals
from review.gate import promotions_left
from review.runner import Review
from tests.review._history import DAY, HEALTH_SOURCE, SKILL, START
from tests.review._platform import RecordingPlatform

runner = CliRunner()


def test_empty_window_says_what_is_missing(history: Any) -> None:
    data = Review(history.store, history.ledger).run(START + 7 * DAY, dry_run=True)
    assert data["scorecards"] == [] and data["proposals"] == []
    assert any("no runs recorded between" in n for n in data["notes"])
    assert "no skill ran in the window" in data["markdown"]


def test_clock_skew_is_reported(history: Any) -> None:
    history.tick(START, {})
    history.tick(START + 2 * DAY, {})  # stamped two days after the window's end
    data = Review(history.store, history.ledger).run(START + 1800, dry_run=True)
    assert any("clock skew" in n for n in data["notes"]), data["notes"]
    assert data["scorecards"][0]["runs"] == 1


def test_opted_out_skill_is_scored_never_changed(seeded: Any) -> None:
    off = HEALTH_SOURCE.replace(
        '    "owner": "loopwright",\n', '    "owner": "loopwright",\n    "review": "off",\n'
    )
    assert off != HEALTH_SOURCE
    platform = RecordingPlatform(SKILL, off, "health_check.py")
    data = Review(seeded.store, seeded.ledger, platform).run(START + 28 * DAY)
    assert data["proposals"] == [] and data["picks"] == []
    assert any("opts out" in n for n in data["notes"])
    assert data["scorecards"][0]["skill_id"] == SKILL
    assert proposals.listed(seeded.store) == []


def test_one_promotion_per_skill_per_week() -> None:
    assert promotions_left([], START)
    assert not promotions_left([START - 6 * DAY], START)
    assert promotions_left([START - 7 * DAY - 1], START)


def test_cli_dry_run_changes_nothing(seeded: Any) -> None:
    store = [
        "--store",
        f"sqlite:///{seeded.caps_path.parent / 'platform.db'}",
        "--caps-db",
        str(seeded.caps_path),
        "--sidecar",
        "http://127.0.0.1:9",
    ]
    result = runner.invoke(
        app, ["review", "run", "--now", "2026-11-30T06:00Z", "--dry-run", *store]
    )
    assert result.exit_code == 0, result.output
    assert "# Weekly review" in result.output and "(dry run)" in result.output
    assert "health-check" in result.output
    assert proposals.listed(seeded.store) == []
    scores = runner.invoke(
        app, ["review", "scores", "--now", "2026-11-30T06:00Z", "--json", "--store", store[1]]
    )
    assert scores.exit_code == 0, scores.output
    assert '"skill_id": "health-check"' in scores.output
