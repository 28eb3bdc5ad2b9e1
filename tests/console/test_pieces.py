"""The console's pure pieces: the side-by-side diff, the event editor's checks, the health
series of the overview, run statistics, the live feed's change detection."""

from __future__ import annotations

import asyncio

import pytest

from console.live import RunsFeed
from console.pages.events import EventInvalid, parse_event
from console.pages.overview import health_series
from console.pages.skills import run_stats
from console.render import python_html, side_by_side
from console.runs_source import RunRow


def row(run_id: str, status: str = "completed", skill: str | None = "a", **kw: object) -> RunRow:
    fields: dict[str, object] = {
        "run_id": run_id, "function_id": skill or "fn", "skill_id": skill, "status": status,
        "started_at": 100.0, "ended_at": None, "duration_ms": None, **kw,
    }  # fmt: skip
    return RunRow(**fields)  # type: ignore[arg-type]


def test_side_by_side_pairs_changed_lines_and_keeps_line_numbers() -> None:
    rows = side_by_side("a\nb\nc\n", "a\nB\nc\nd\n")
    assert [(r.kind, r.left_no, r.left, r.right_no, r.right) for r in rows] == [
        ("same", 1, "a", 1, "a"),
        ("changed", 2, "b", 2, "B"),
        ("same", 3, "c", 3, "c"),
        ("added", None, "", 4, "d"),
    ]
    assert [r.kind for r in side_by_side("x\ny\n", "y\n")] == ["removed", "same"]


def test_highlighted_code_is_escaped() -> None:
    html = python_html('NAME = "<script>alert(1)</script>"\n')
    assert "<script>" not in html and "&lt;script&gt;" in html


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"name": "a", "data": {', "Invalid JSON at line 1, column 24"),
        ("[1, 2]", "must be a JSON object"),
        ('{"data": {}}', 'needs a "name"'),
        ('{"name": "  "}', 'needs a "name"'),
        ('{"name": "a", "data": [1]}', '"data" must be a JSON object'),
        ('{"name": "a", "data": {}, "ts": 1}', "Unknown field(s) ts"),
    ],
)
def test_the_event_editor_names_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(EventInvalid, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_event(text)


def test_a_good_event_parses() -> None:
    assert parse_event('{"name": " demo/x ", "data": {"n": 1}}') == ("demo/x", {"n": 1})
    assert parse_event('{"name": "demo/x"}') == ("demo/x", {})


def test_health_series_per_service_oldest_first() -> None:
    def check(at: float, label: str, err: float) -> RunRow:
        out = {"services": {"checkout": {"label": label, "reason": f"r{at}",
               "features": {"error_rate": {"now": err}, "p95": {"now": 0.2}}}}}  # fmt: skip
        return row(f"r{at}", skill="health-check", started_at=at, output=out)

    series = health_series([check(300, "degraded", 0.2), check(100, "normal", 0.01)])
    s = series["checkout"]
    assert s["label"] == "degraded" and s["at"] == 300
    assert s["points"] == [[100, 0.01, 0.2, "normal"], [300, 0.2, 0.2, "degraded"]]
    assert health_series([row("x", output={"status": "no-data"})]) == {}


def test_run_stats_count_finished_runs_only() -> None:
    stats = run_stats([row("3", "running"), row("2", "failed"), row("1"), row("0", skill=None)])
    assert stats["a"]["last"].run_id == "3"
    assert (stats["a"]["done"], stats["a"]["ok"], stats["a"]["rate"]) == (2, 1, 0.5)
    assert "fn" not in stats


class ListSource:
    name = "list"

    def __init__(self) -> None:
        self.rows: list[RunRow] = []

    async def runs(self, **_: object) -> list[RunRow]:
        return list(self.rows)

    async def run(self, run_id: str) -> RunRow:
        raise NotImplementedError

    async def steps(self, run_id: str) -> list[object]:
        raise NotImplementedError


async def test_the_live_feed_sends_new_and_changed_runs_once() -> None:
    source = ListSource()
    feed = RunsFeed(source, poll_s=0.01)  # type: ignore[arg-type]
    source.rows = [row("1", "running")]
    async with feed.subscribe() as queue:
        first = await asyncio.wait_for(queue.get(), 5)
        assert [r.run_id for r in first] == ["1"]  # type: ignore[union-attr]
        source.rows = [row("2", "running"), row("1", "completed")]
        second = await asyncio.wait_for(queue.get(), 5)
        assert [(r.run_id, r.status) for r in second] == [("1", "completed"), ("2", "running")]  # type: ignore[union-attr]
        await asyncio.sleep(0.05)
        assert queue.empty()  # nothing changed: nothing sent
    await feed.aclose()
