"""Feedback on posted messages, from the CLI and the HTTP route; bad input names what is wrong."""

from __future__ import annotations

import json
from typing import Any

import fastapi
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from loopwright.cli import app
from review import feedback
from review.api import feedback_router
from review.messages import CapabilityMessages
from review.runner import Review
from tests.review._history import START

runner = CliRunner()


def _args(h: Any) -> list[str]:
    return [
        "--caps-db",
        str(h.caps_path),
        "--store",
        f"sqlite:///{h.caps_path.parent / 'platform.db'}",
    ]


def test_inbox_shows_message_ids_and_feedback_stores_run_and_decisions(history: Any) -> None:
    run_id = history.tick(START, {"checkout": (0.03, 0.01)})
    inbox = runner.invoke(app, ["inbox", "--db", str(history.caps_path), "--json"])
    [row] = [json.loads(line) for line in inbox.output.splitlines()]
    assert row["message_id"] == "inbox:1" and row["run_id"] == run_id
    plain = runner.invoke(app, ["inbox", "--db", str(history.caps_path)])
    assert "inbox:1" in plain.output

    result = runner.invoke(
        app,
        [
            "feedback",
            "inbox:1",
            "false-alarm",
            "--note",
            "deploy blip",
            "--by",
            "ana",
            *_args(history),
        ],
    )
    assert result.exit_code == 0, result.output
    assert run_id in result.output and "false-alarm" in result.output
    [item] = feedback.labels(history.store, START - 10, START + 10)
    assert item.run_id == run_id and item.note == "deploy blip" and item.skill_version == 1
    assert [d["subject"] for d in item.decisions] == ["checkout", "payments", "search"]

    # A person changes their mind: one label per message and person.
    runner.invoke(app, ["feedback", "inbox:1", "useful", "--by", "human", *_args(history)])
    runner.invoke(app, ["feedback", "1", "useful", "--by", "human", *_args(history)])
    labels = [f.label for f in feedback.labels(history.store, START - 10, START + 10)]
    assert sorted(labels) == ["false-alarm", "useful"]  # ana's, and "human"'s latest


def test_unknown_message_label_and_skill_exit_1(history: Any) -> None:
    history.tick(START, {"checkout": (0.03, 0.01)})
    bad_id = runner.invoke(app, ["feedback", "inbox:99", "useful", *_args(history)])
    assert bad_id.exit_code == 1 and "unknown message id 'inbox:99'" in bad_id.output
    bad_label = runner.invoke(app, ["feedback", "inbox:1", "meh", *_args(history)])
    assert bad_label.exit_code == 1
    assert "unknown label 'meh'" in bad_label.output and "false-alarm" in bad_label.output
    store = ["--store", f"sqlite:///{history.caps_path.parent / 'platform.db'}"]
    bad_skill = runner.invoke(app, ["review", "scores", "--skill", "nope", *store])
    assert bad_skill.exit_code == 1 and "unknown skill 'nope'" in bad_skill.output
    assert "health-check" in bad_skill.output
    bad_proposal = runner.invoke(app, ["review", "reject", "p-nothing", *store])
    assert bad_proposal.exit_code == 1 and "unknown proposal 'p-nothing'" in bad_proposal.output
    bad_report = runner.invoke(app, ["review", "show", "review-x", *store])
    assert bad_report.exit_code == 1 and "unknown report" in bad_report.output
    bad_now = runner.invoke(app, ["review", "run", "--now", "yesterday", "--dry-run", *store])
    assert bad_now.exit_code == 1 and "--now 'yesterday'" in bad_now.output
    assert feedback.labels(history.store, 0, 2e9) == []  # nothing half-written


def test_http_route_records_feedback_and_refuses_bad_input(history: Any) -> None:
    run_id = history.tick(START, {"checkout": (0.03, 0.01)})
    api = fastapi.FastAPI()
    api.include_router(
        feedback_router(
            lambda: Review(history.store, history.ledger),
            lambda: CapabilityMessages(history.caps_path),
        )
    )
    client = TestClient(api)
    ok = client.post("/v1/feedback", json={"message_id": "inbox:1", "label": "useful", "by": "ana"})
    assert ok.status_code == 200 and ok.json()["run_id"] == run_id
    assert (
        client.post("/v1/feedback", json={"message_id": "inbox:7", "label": "useful"}).status_code
        == 404
    )
    bad = client.post("/v1/feedback", json={"message_id": "inbox:1", "label": "great"})
    assert bad.status_code == 400 and "great" in bad.json()["detail"]
    scores = client.get("/v1/review/scores", params={"window_days": 30000}).json()["data"]
    assert scores == [] or scores[0]["skill_id"] == "health-check"
