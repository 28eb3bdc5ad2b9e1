"""The incident lifecycle: open → updated → resolved → reopened, and the store that applies it
(idempotent per check, silences, acknowledgements), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from loopwright.cli import app
from loopwright.store import Store
from skills_core.capabilities.incidents import (
    IncidentNotFound,
    IncidentStore,
    Observation,
    Policy,
    advance,
)
from tests.ledger.conftest import store  # noqa: F401 - the dialect-parametrised store fixture

T0 = 1_764_547_200.0  # 2025-12-01T00:00:00Z
STEP = 300.0


def seen(label: str, *signals: str, at: float, onset: float | None = None) -> Observation:
    return Observation("checkout", label, signals, f"{label} on {signals}", onset or at, at)


def test_a_bad_check_opens_an_incident_named_by_its_onset() -> None:
    moved = advance(None, seen("critical", "error_rate", at=T0 + 120, onset=T0 + 60))
    assert moved.action == "opened" and moved.incident is not None
    assert moved.incident.id == "checkout-20251201T0000Z"
    assert moved.incident.onset == T0 + 60  # the first anomalous sample, not the detection


def test_a_new_kind_of_signal_updates_and_retriages_a_severity_change_only_updates() -> None:
    opened = advance(None, seen("degraded", "error_rate", at=T0)).incident
    same = advance(opened, seen("degraded", "error_rate", at=T0 + STEP))
    assert same.action == "ongoing" and not same.retriage
    worse = advance(same.incident, seen("critical", "error_rate", at=T0 + 2 * STEP))
    assert (worse.action, worse.retriage, worse.previous_severity) == ("updated", False, "degraded")
    latency = advance(worse.incident, seen("critical", "p95", at=T0 + 3 * STEP))
    assert (latency.action, latency.retriage, latency.new_signals) == ("updated", True, ("p95",))
    assert latency.incident is not None
    assert latency.incident.signals == ("error_rate", "p95") and latency.incident.revision == 3


def test_normal_checks_resolve_after_the_policy_count_and_a_flap_reopens() -> None:
    policy = Policy(resolve_after=3, reopen_within_s=3600)
    incident = advance(None, seen("critical", "error_rate", at=T0), policy).incident
    for i in (1, 2):
        moved = advance(incident, seen("normal", at=T0 + i * STEP), policy)
        assert moved.action == "recovering"
        incident = moved.incident
    resolved = advance(incident, seen("normal", at=T0 + 3 * STEP), policy)
    assert resolved.action == "resolved" and resolved.incident is not None
    assert resolved.incident.open_minutes == 15
    flap = advance(resolved.incident, seen("critical", "error_rate", at=T0 + 4 * STEP), policy)
    assert (flap.action, flap.retriage) == ("reopened", False)
    assert flap.incident is not None and flap.incident.reopened == 1
    later = advance(resolved.incident, seen("critical", "cpu", at=T0 + 3 * 3600), policy)
    assert later.action == "opened"  # long after: a new incident, not a flap


def test_a_bad_check_in_between_resets_the_recovery() -> None:
    policy = Policy(resolve_after=2)
    incident = advance(None, seen("critical", "error_rate", at=T0), policy).incident
    incident = advance(incident, seen("normal", at=T0 + STEP), policy).incident
    incident = advance(incident, seen("critical", "error_rate", at=T0 + 2 * STEP), policy).incident
    moved = advance(incident, seen("normal", at=T0 + 3 * STEP), policy)
    assert moved.action == "recovering"


@pytest.fixture
def incidents(store: Store) -> Iterator[IncidentStore]:  # noqa: F811
    yield IncidentStore(store, Policy(resolve_after=2), clock=lambda: T0 + 10_000)


def test_the_store_answers_a_repeated_check_the_same_way(incidents: IncidentStore) -> None:
    first = incidents.observe(seen("critical", "error_rate", at=T0))
    again = incidents.observe(seen("critical", "error_rate", at=T0))
    assert first["action"] == "opened" and again["action"] == "opened" and again["replayed"]
    assert incidents.observe(seen("critical", "error_rate", at=T0 + STEP))["action"] == "ongoing"
    assert [i.id for i in incidents.recent(open_only=True)] == ["checkout-20251201T0000Z"]
    incidents.observe(seen("normal", at=T0 + 2 * STEP))
    answer = incidents.observe(seen("normal", at=T0 + 3 * STEP))
    assert answer["action"] == "resolved" and answer["incident"]["open_minutes"] == 15
    assert incidents.recent(open_only=True) == []


def test_silences_and_acks(incidents: IncidentStore) -> None:
    incidents.silence("checkout", seconds=3600 * 24 * 365 * 10, by="ana", reason="migration")
    answer = incidents.observe(seen("critical", "error_rate", at=T0))
    assert answer["silenced"] and answer["action"] == "opened"  # tracked, just not announced
    assert incidents.silences()[0]["by"] == "ana"
    assert incidents.unsilence("checkout") and not incidents.unsilence("checkout")
    acked = incidents.ack(answer["incident"]["id"], "bo")
    assert acked.acked_by == "bo"
    with pytest.raises(IncidentNotFound, match="nope"):
        incidents.ack("nope", "bo")


def test_the_cli_lists_shows_acks_and_silences(tmp_path: object) -> None:
    from pathlib import Path

    from loopwright.store import open_store

    path = str(Path(str(tmp_path)) / "platform.db")
    IncidentStore(open_store(path)).observe(seen("critical", "error_rate", at=T0))
    runner = CliRunner()
    listed = runner.invoke(app, ["incidents", "--store", path], env={"COLUMNS": "80"})
    assert listed.exit_code == 0 and "checkout-20251201T0000Z" in listed.output
    assert "open" in listed.output and "critical" in listed.output
    acked = runner.invoke(
        app, ["incidents", "ack", "checkout-20251201T0000Z", "--by", "ana", "--store", path]
    )
    assert acked.exit_code == 0 and "acknowledged by ana" in acked.output
    shown = runner.invoke(
        app,
        [
            "incidents",
            "show",
            "checkout-20251201T0000Z",
            "--store",
            path,
            "--inbox",
            str(Path(str(tmp_path)) / "none.db"),
        ],
    )
    assert shown.exit_code == 0 and "acked    by ana" in shown.output
    missing = runner.invoke(app, ["incidents", "show", "nope", "--store", path])
    assert missing.exit_code == 1 and "no incident 'nope'" in missing.output
    bad = runner.invoke(app, ["incidents", "silence", "checkout", "--for", "soon", "--store", path])
    assert bad.exit_code == 2 and "like 30m, 2h or 1d" in bad.output
    ok = runner.invoke(app, ["incidents", "silence", "checkout", "--for", "2h", "--store", path])
    assert ok.exit_code == 0 and "silenced until" in ok.output
    listed = runner.invoke(app, ["incidents", "--store", path], env={"COLUMNS": "100"})
    assert "silenced: checkout" in listed.output


def test_the_policy_is_read_from_its_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    from skills_core.capabilities.incidents import incident_policy

    # loopwright.toml's [incidents] reaches the sidecar as these (tests/config)
    monkeypatch.setenv("LOOPWRIGHT_INCIDENT_RESOLVE_AFTER", "5")
    monkeypatch.setenv("LOOPWRIGHT_INCIDENT_REOPEN_WITHIN_MINUTES", "30")
    assert incident_policy() == Policy(resolve_after=5, reopen_within_s=1800)
    monkeypatch.setenv("LOOPWRIGHT_INCIDENT_RESOLVE_AFTER", "0")
    with pytest.raises(ValueError, match="LOOPWRIGHT_INCIDENT_RESOLVE_AFTER='0': must be at least"):
        incident_policy()
