"""The engine client against a real signed engine and a production-mode SDK app."""

from __future__ import annotations

import time
from typing import Any

import pytest

from loopwright.engine_client import (
    EngineClient,
    EngineNotFound,
    EngineRefused,
    EngineTarget,
    NotOffered,
)
from tests.conformance._engine import EngineProcess, free_port

from .conftest import APP_ID, target


def test_a_sync_without_the_signing_key_is_refused_and_says_what_to_set(
    signed_engine: EngineProcess, sdk_app: str
) -> None:
    with EngineClient(target(signed_engine, signing_key=None)) as client:
        result = client.sync(sdk_app)
    assert not result.ok
    assert "INNGEST_SIGNING_KEY" in (result.error or "")


def test_a_put_sync_registers_through_the_sdk(signed_engine: EngineProcess, sdk_app: str) -> None:
    with EngineClient(target(signed_engine)) as client:
        result = client.sync(sdk_app, put=True)
        assert result.ok, result.error
        slugs = {f"{APP_ID}-echo", f"{APP_ID}-nap"}
        assert client.resolve_function("echo") == f"{APP_ID}-echo"
        assert slugs <= {client.resolve_function(s) for s in slugs}


def test_send_with_the_event_key_runs_the_function(synced: EngineClient) -> None:
    (event_id,) = synced.send("ec/echo", {"n": 7})
    run = synced.wait_for_run(event_id, timeout_s=60)
    assert run is not None and run["status"] == "Completed", run
    assert run["output"] == {"n": 7}
    assert [s["name"] for s in synced.steps(run["run_id"])][:1] == ["read"]


def test_a_wrong_event_key_is_refused_and_nothing_runs(
    signed_engine: EngineProcess, synced: EngineClient
) -> None:
    with (
        EngineClient(target(signed_engine, event_key="wrong")) as client,
        pytest.raises(EngineRefused, match="INNGEST_EVENT_KEY"),
    ):
        client.send("ec/echo", {"n": 1})
    assert [e for e in _events(synced) if e["data"] == {"n": 1}] == []


def test_invoke_then_cancel(synced: EngineClient) -> None:
    event_id = synced.invoke(f"{APP_ID}-nap", {})
    run = first_run(synced, event_id)
    synced.cancel(run["run_id"])
    assert synced.wait_for_run(event_id, timeout_s=30) == {
        **synced.run(run["run_id"]), "status": "Cancelled"
    }  # fmt: skip


def test_events_and_schedules_are_read_signed(synced: EngineClient) -> None:
    (event_id,) = synced.send("ec/echo", {"n": 11})
    assert event_id in [e.get("internal_id") or e.get("id") for e in synced.events(limit=50)]
    assert isinstance(synced.schedules(), list)


def test_unknown_runs_are_not_found(synced: EngineClient) -> None:
    with pytest.raises(EngineNotFound, match="run 01ARZ3NDEKTSV4RRFFQ69G5FAV not found"):
        synced.run("01ARZ3NDEKTSV4RRFFQ69G5FAV")


def test_on_real_inngest_engine_only_features_are_refused_before_any_request() -> None:
    # Nothing listens there: a request would raise EngineUnreachable, not NotOffered.
    dead = f"http://127.0.0.1:{free_port()}"
    inngest = EngineTarget(kind="inngest", api_url=dead, event_api_url=dead, event_key="k")
    with EngineClient(inngest) as client:
        for call in (
            lambda: client.invoke("app-fn", {}),
            lambda: client.runs(function="app-fn"),
            lambda: client.steps("01ARZ3NDEKTSV4RRFFQ69G5FAV"),
            client.schedules,
        ):
            with pytest.raises(NotOffered, match="not offered by real Inngest"):
                call()


def first_run(client: EngineClient, event_id: str) -> dict[str, Any]:
    for _ in range(1200):
        runs = client.event_runs(event_id)
        if runs:
            return runs[0]
        time.sleep(0.05)
    raise AssertionError(f"event {event_id} started no run")


def _events(client: EngineClient) -> list[dict[str, object]]:
    return list(client.events(limit=50))
