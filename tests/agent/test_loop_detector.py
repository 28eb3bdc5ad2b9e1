"""Loop detection: repeats, A-B-A-B alternation, stale results; state survives a round trip."""

from __future__ import annotations

import json

from agent.loop.detector import LoopDetector


def run(detector: LoopDetector, name: str, args: dict[str, object]) -> str | None:
    text = json.dumps(args)
    verdict = detector.check_call(name, text)
    if verdict is None:
        detector.record_call(name, text)
        return None
    return verdict.kind


def test_the_same_read_twice_is_a_repeat() -> None:
    detector = LoopDetector()
    assert run(detector, "read_skill", {"id": "a"}) is None
    assert run(detector, "read_skill", {"id": "a"}) == "repeat"


def test_argument_order_does_not_hide_a_repeat() -> None:
    detector = LoopDetector()
    detector.record_call("query_metrics", '{"promql": "up", "minutes": 5}')
    assert detector.check_call("query_metrics", '{"minutes": 5, "promql": "up"}') is not None


def test_a_change_to_the_world_makes_reads_new_again() -> None:
    detector = LoopDetector()
    assert run(detector, "test_skill", {"id": "a"}) is None
    assert run(detector, "write_skill", {"id": "a", "source": "v2"}) is None
    assert run(detector, "test_skill", {"id": "a"}) is None


def test_rewriting_the_same_source_is_a_repeat() -> None:
    detector = LoopDetector()
    assert run(detector, "write_skill", {"id": "a", "source": "v1"}) is None
    assert run(detector, "test_skill", {"id": "a"}) is None
    assert run(detector, "write_skill", {"id": "a", "source": "v1"}) == "repeat"


def test_alternating_between_two_changes_is_a_loop() -> None:
    detector = LoopDetector()
    for source in ("v1", "v2", "v1"):
        assert run(detector, "write_skill", {"id": "a", "source": source}) is None
    assert run(detector, "write_skill", {"id": "a", "source": "v2"}) == "alternation"


def test_results_that_add_nothing_new_stop_the_loop() -> None:
    detector = LoopDetector(max_stale=3)
    assert detector.record_result("first") is None
    assert detector.record_result("second") is None
    assert detector.record_result("first") is None
    assert detector.record_result("second") is None
    verdict = detector.record_result("first")
    assert verdict is not None and verdict.kind == "stale"
    assert "added no new information" in verdict.message


def test_state_round_trips_through_json() -> None:
    detector = LoopDetector()
    run(detector, "read_skill", {"id": "a"})
    detector.record_result("x")
    restored = LoopDetector.from_dict(json.loads(json.dumps(detector.to_dict())))
    assert restored == detector
    assert run(restored, "read_skill", {"id": "a"}) == "repeat"
