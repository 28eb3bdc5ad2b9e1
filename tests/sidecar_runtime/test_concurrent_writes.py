"""Concurrent writes: the last complete content wins, each content is validated once at most,
and skills written at the same time are processed independently."""

from __future__ import annotations

import concurrent.futures
import time

from ._harness import Harness, skill_source


def counter(n: int) -> str:
    return skill_source("cw-burst", f'return {{"n": {n}}}')


def test_a_burst_of_writes_ends_on_the_last_content(harness: Harness) -> None:
    for n in range(12):
        harness.write("cw-burst", counter(n))
    skill = harness.wait_skill(
        "cw-burst",
        lambda s: (
            s["active_version"] is not None
            and harness.version("cw-burst", s["active_version"])["source"] == counter(11)
        ),
        "the last content active",
    )
    hashes = [v["content_hash"] for v in skill["versions"]]
    assert len(hashes) == len(set(hashes)) <= 12
    # Versions superseded while they validated were never made live.
    live = [v for v in skill["versions"] if v["activated_at"] is not None]
    assert live[-1]["number"] == skill["active_version"]
    assert harness.trigger("test/cw-burst")["output"] == {"n": 11}


def test_rewriting_known_content_validates_nothing_new(harness: Harness) -> None:
    before = harness.skill("cw-burst")
    assert before is not None
    harness.write("cw-burst", counter(11))
    harness.write("cw-burst", counter(11))
    time.sleep(0.5)
    after = harness.skill("cw-burst")
    assert after is not None and after["latest_version"] == before["latest_version"]


def test_skills_written_together_are_independent(harness: Harness) -> None:
    ids = [f"cw-many-{i}" for i in range(5)]
    broken = "cw-many-bad"
    for skill_id in ids:
        harness.write(skill_id, skill_source(skill_id, f'return {{"id": "{skill_id}"}}'))
    harness.write(broken, skill_source(broken, "return {"))
    for skill_id in ids:
        harness.wait_active(skill_id, 1)
    harness.wait_skill(broken, lambda s: s["latest_state"] == "quarantined", "quarantined")
    for skill_id in ids:
        assert harness.trigger(f"test/{skill_id}")["output"] == {"id": skill_id}


def test_concurrent_api_writers_all_get_an_answer(harness: Harness) -> None:
    sources = [skill_source("cw-api", f'return {{"writer": {i}}}') for i in range(4)]
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(lambda s: harness.submit("cw-api", s), sources))
    assert {o["state"] for o in outcomes} <= {"active", "validated", "superseded"}
    on_disk = harness.path("cw-api").read_text()
    skill = harness.wait_skill(
        "cw-api",
        lambda s: (
            s["active_version"] is not None
            and harness.version("cw-api", s["active_version"])["source"] == on_disk
        ),
        "the file's content active",
    )
    assert skill["state"] == "active"


def test_a_slow_non_atomic_writer_ends_on_its_complete_content(harness: Harness) -> None:
    final = skill_source("cw-slow", 'return {"complete": True}')
    path = harness.path("cw-slow")
    with path.open("w") as f:
        for start in range(0, len(final), 40):
            f.write(final[start : start + 40])
            f.flush()
            time.sleep(0.03)
    skill = harness.wait_skill(
        "cw-slow",
        lambda s: (
            s["active_version"] is not None
            and harness.version("cw-slow", s["active_version"])["source"] == final
        ),
        "the complete content active",
    )
    partial = [v for v in skill["versions"] if v["number"] != skill["active_version"]]
    assert all(v["state"] in ("quarantined", "validated") for v in partial)
    assert harness.trigger("test/cw-slow")["output"] == {"complete": True}
