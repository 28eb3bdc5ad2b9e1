"""`loopwright review demo-history`: simulated history a fresh demo's review can work on."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa
from typer.testing import CliRunner

from loopwright.cli import app
from loopwright.ledger import LedgerReader, tables
from loopwright.store import open_store
from review import feedback
from review.demo_history import APP_ID, RUN_PREFIX
from review.runner import Review
from skills_core.capabilities.notify.inbox import read_inbox
from tests.review._history import HEALTH_SOURCE, SKILL, START
from tests.review._platform import RecordingPlatform

runner = CliRunner()
END = START + 28 * 86_400


def _args(tmp_path: Path) -> list[str]:
    return ["--store", f"sqlite:///{tmp_path / 'platform.db'}", "--caps-db", str(tmp_path / "c.db")]


def test_demo_history_is_written_once_and_the_review_tunes_from_it(tmp_path: Path) -> None:
    seed = ["review", "demo-history", "--version", "1", "--now", str(END), "--json"]
    first = runner.invoke(app, [*seed, *_args(tmp_path)])
    assert first.exit_code == 0, first.output
    counts = json.loads(first.stdout)
    assert counts["runs"] == 4 * 7 * 48 and counts["false_alarms"] > 0 and counts["incidents"] > 0

    again = runner.invoke(app, [*seed, *_args(tmp_path)])  # writing twice changes nothing
    assert again.exit_code == 0, again.output
    store = open_store(f"sqlite:///{tmp_path / 'platform.db'}")
    rows = store.read(
        lambda c: c.execute(sa.select(tables.runs.c.run_id, tables.runs.c.app_id)).all()
    )
    runs = list(rows)
    assert len(runs) == counts["runs"]
    assert all(run_id.startswith(RUN_PREFIX) and app == APP_ID for run_id, app in runs)
    inbox = read_inbox(tmp_path / "c.db", limit=10_000)
    assert len(inbox) == len({m.run_id + m.text for m in inbox if m.run_id})
    assert all(m.text.startswith("[SIMULATED history]") for m in inbox)
    labels = feedback.labels(store, 0, 2e10, SKILL)
    assert len(labels) == counts["false_alarms"] + counts["incidents"]
    assert {f.by for f in labels} == {"demo-history"}

    platform = RecordingPlatform(SKILL, HEALTH_SOURCE, "health_check.py")
    data = Review(store, LedgerReader(store), platform).run(END, dry_run=True)
    assert [p["skill_id"] for p in data["picks"]] == [SKILL]
    [proposal] = data["proposals"]
    assert proposal["path"] == "tuning" and proposal["backtest"]["new_misses"] == []


def test_demo_history_without_a_sidecar_names_it_and_writes_nothing(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["review", "demo-history", "--sidecar", "http://127.0.0.1:9", *_args(tmp_path)]
    )
    assert result.exit_code == 1
    assert "the sidecar at http://127.0.0.1:9 did not answer" in result.output
    assert not (tmp_path / "c.db").exists()
