"""`loopwright runs` and `runs show` read the run ledger that an app's SDK middleware writes
(here a plain SDK app on a real engine joins the ledger the way every platform app does)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import inngest
import inngest.fast_api
import pytest
from typer.testing import CliRunner

from loopwright.cli import app
from loopwright.ledger import LedgerWriter, RunRecord
from loopwright.ledger.middleware import LedgerRecorder
from loopwright.store import open_store
from tests.conformance._engine import EngineAPI, running_engine
from tests.conformance._sdk_app import SdkServer

runner = CliRunner()


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, str]]:
    work = tmp_path_factory.mktemp("views")
    store_path = str(work / "platform.db")
    recorder = LedgerRecorder(open_store(store_path), app_id="views")
    with running_engine(work) as engine:
        client = inngest.Inngest(
            app_id="views", is_production=False, api_base_url=engine.url,
            event_api_base_url=engine.url, middleware=[recorder.middleware],
        )  # fmt: skip
        tries: list[int] = []

        @client.create_function(
            fn_id="watch", trigger=inngest.TriggerEvent(event="views/go"), retries=2
        )
        def watch(ctx: inngest.ContextSync) -> dict[str, object]:
            def flaky() -> int:
                tries.append(1)
                if len(tries) == 1:
                    raise ValueError("first try fails")
                return 42

            value = ctx.step.run("fetch", flaky)
            ctx.step.run("post", lambda: "posted")
            return {"value": value, "ratio": 2 / 3, "note": "line one\n\x1b[2Jforged"}

        server = SdkServer()
        inngest.fast_api.serve(server.fastapi, client, [watch, recorder.listener(client)])
        api = EngineAPI(engine.url)
        with server.running():
            assert api.sync(f"{server.origin}/api/inngest")["ok"]
            (event_id,) = client.send_sync(inngest.Event(name="views/go"))
            yield store_path, api.completed_run(event_id)["run_id"], engine.url
        api.close()


def test_runs_lists_the_run_from_the_ledger(finished_run: tuple[str, str, str]) -> None:
    store, run_id, _ = finished_run
    result = runner.invoke(app, ["runs", "--store", store, "--json"])
    assert result.exit_code == 0, result.output
    (row,) = [json.loads(line) for line in result.output.splitlines()]
    assert (row["run_id"], row["status"], row["function_id"]) == (
        run_id,
        "completed",
        "views-watch",
    )
    assert row["output"]["value"] == 42


def test_the_table_fits_80_columns_with_a_copyable_prefix(
    finished_run: tuple[str, str, str],
) -> None:
    store, run_id, _ = finished_run
    result = runner.invoke(app, ["runs", "--store", store], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert all(len(line) <= 80 for line in result.output.splitlines())
    assert run_id[:14] in result.output and "completed" in result.output
    shown = runner.invoke(app, ["runs", "show", run_id[:14], "--store", store, "--json"])
    assert shown.exit_code == 0 and json.loads(shown.output)["run_id"] == run_id


def test_skill_filter_matches_the_local_function_id(finished_run: tuple[str, str, str]) -> None:
    store, run_id, _ = finished_run
    result = runner.invoke(app, ["runs", "--store", store, "--skill", "watch", "--json"])
    assert result.exit_code == 0 and run_id in result.output
    result = runner.invoke(app, ["runs", "--store", store, "--skill", "nobody", "--json"])
    assert result.exit_code == 0 and result.output == ""


def test_runs_show_prints_a_readable_timeline(finished_run: tuple[str, str, str]) -> None:
    store, run_id, engine = finished_run
    result = runner.invoke(
        app,
        ["runs", "show", run_id, "--store", store, "--outputs", "--engine", engine],
        env={"COLUMNS": "80"},
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert "views-watch" in out and "completed" in out and "2 attempts" in out
    assert out.index("fetch") < out.index("post")
    assert "first try fails" in out  # the retried step's error, from the ledger
    assert '"value": 42' in out  # the output, pretty, never cut mid-token
    assert '"ratio": 0.667,' in out  # rounded for reading; --json keeps it raw
    raw = runner.invoke(app, ["runs", "show", run_id, "--store", store, "--json"])
    assert json.loads(raw.output)["output"]["ratio"] == 2 / 3
    assert "\x1b" not in out and "[2Jforged" in out  # a skill's escapes are shown, not run


def test_step_outputs_say_when_the_engine_has_none(finished_run: tuple[str, str, str]) -> None:
    store, run_id, _ = finished_run
    result = runner.invoke(
        app,
        ["runs", "show", run_id, "--store", store, "--outputs", "--engine", "http://127.0.0.1:9"],
    )
    assert result.exit_code == 0, result.output
    assert "step outputs: not available" in result.output


def test_unknown_run_exits_1_naming_it(tmp_path: Path) -> None:
    store = str(tmp_path / "empty.db")
    result = runner.invoke(app, ["runs", "show", "01ARZ3NDEKTSV4RRFFQ69G5FAV", "--store", store])
    assert result.exit_code == 1 and "no run '01ARZ3NDEKTSV4RRFFQ69G5FAV'" in result.output
    listed = runner.invoke(app, ["runs", "--store", store])
    assert listed.exit_code == 0 and "No runs recorded yet" in listed.output


def test_runs_of_one_millisecond_get_ids_that_tell_them_apart(tmp_path: Path) -> None:
    """The engine's ULIDs are monotonic: two cron runs fired in one millisecond share the
    first 25 characters, so the 14 shown by default would name both."""
    store = str(tmp_path / "platform.db")
    twins = ["01M8WMXQT83M5KAAAAAAAAAAA1", "01M8WMXQT83M5KAAAAAAAAAAA2"]
    loner = "01M8WMZJD7BYT2AAAAAAAAAAAA"
    writer = LedgerWriter(open_store(store))
    for n, run_id in enumerate([*twins, loner]):
        writer.record_run(
            RunRecord(
                run_id=run_id, app_id="app", function_id=f"app-fn{n}", skill_id=f"s{n}",
                skill_version=1, trigger="cron", event_name=None, event_id=None,
                cron="*/30 * * * *", status="completed", started_at=1_800_000_000.0 + n,
                ended_at=1_800_000_001.0 + n,
            )
        )  # fmt: skip
    result = runner.invoke(app, ["runs", "--store", store], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert all(len(line) <= 80 for line in result.output.splitlines())
    shown = [line.split()[0] for line in result.output.splitlines()[1:]]
    assert sorted(shown) == sorted([*twins, loner[:14]])
    for short, full in [(twins[0], twins[0]), (loner[:14], loner)]:
        found = runner.invoke(app, ["runs", "show", short, "--store", store, "--json"])
        assert found.exit_code == 0 and json.loads(found.output)["run_id"] == full
    ambiguous = runner.invoke(app, ["runs", "show", twins[0][:14], "--store", store])
    assert ambiguous.exit_code == 1
