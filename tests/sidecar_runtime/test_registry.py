"""The registry: immutable versions, the state machine, previews, ownership of function ids."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from sidecar.registry import Registry, TransitionError, UnknownVersion, VersionState
from tests.store_dialects import DIALECTS, fresh_store_url


@pytest.fixture(params=DIALECTS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with fresh_store_url(request.param, tmp_path, "r.db") as fresh:
        yield fresh


def valid_report(*fn_ids: str) -> dict[str, object]:
    return {"ok": True, "findings": [], "skill": None, "fn": list(fn_ids)}


def propose(reg: Registry, skill_id: str, source: str) -> int:
    version = reg.propose(skill_id, f"{skill_id}.py", source, f"h-{source}", author="agent",
                          reason="test")  # fmt: skip
    return version.number


def test_versions_are_numbered_with_their_parent(url: str) -> None:
    reg = Registry(url)
    assert propose(reg, "s", "one") == 1
    assert propose(reg, "s", "two") == 2
    v2 = reg.version("s", 2)
    assert (v2.parent, v2.state, v2.author, v2.content_hash) == (1, "proposed", "agent", "h-two")
    with pytest.raises(sa.exc.IntegrityError):
        propose(reg, "s", "one")  # one content, one version
    assert reg.version_by_hash("s", "h-one").number == 1  # type: ignore[union-attr]
    with pytest.raises(UnknownVersion):
        reg.version("s", 9)


def test_the_state_machine(url: str) -> None:
    reg = Registry(url)
    n = propose(reg, "s", "one")
    reg.record_validation("s", n, valid_report("s"), ["s"])
    reg.activate("s", n, actor="policy", action="activate")
    m = propose(reg, "s", "two")
    reg.record_validation("s", m, {"ok": False, "findings": [{"severity": "error"}]}, [])
    assert reg.version("s", m).state is VersionState.QUARANTINED
    with pytest.raises(TransitionError):
        reg.activate("s", m, actor="x", action="activate")
    k = propose(reg, "s", "three")
    reg.record_validation("s", k, valid_report("s"), ["s"])
    reg.decide("s", k, {"needs_approval": True, "reasons": ["slack"]}, awaiting=True)
    reg.activate("s", k, actor="alice", action="approve", approved_by="alice")
    assert [v.state for v in reg.versions("s")] == ["retired", "quarantined", "active"]
    assert reg.skill("s").active_version == k  # type: ignore[union-attr]
    reg.activate("s", n, actor="bob", action="rollback")  # re-point to a retired version
    assert [v.state for v in reg.versions("s")] == ["active", "quarantined", "retired"]
    actions = [e.action for e in reversed(reg.audit("s"))]
    assert actions[-2:] == ["rollback", "rollback"]  # retire k, activate n


def test_a_preview_is_rolled_back(url: str) -> None:
    reg = Registry(url)
    n = propose(reg, "s", "one")
    reg.record_validation("s", n, valid_report("s"), ["s"])
    with reg.preview():
        reg.activate("s", n, actor="policy", action="activate")
        assert reg.skill("s").active_version == n  # type: ignore[union-attr]
        assert [v.number for v in reg.activated_versions("s")] == [n]
    assert reg.skill("s").active_version is None  # type: ignore[union-attr]
    assert reg.version("s", n).state is VersionState.VALIDATED
    assert [e.action for e in reg.audit("s")] == ["validated", "proposed"]


def test_removal_pause_and_function_ownership(url: str) -> None:
    reg = Registry(url)
    n = propose(reg, "a", "one")
    reg.record_validation("a", n, valid_report("a"), ["a", "a-digest"])
    reg.activate("a", n, actor="policy", action="activate")
    propose(reg, "b", "x")
    assert reg.taken_function_ids(except_skill="b") == {"a", "a-digest"}
    assert reg.taken_function_ids(except_skill="a") == frozenset()
    reg.set_paused("a", True, actor="ops")
    assert reg.skill("a").paused  # type: ignore[union-attr]
    skill = reg.remove("a", actor="file")
    assert (skill.removed, skill.active_version) == (True, None)
    assert reg.version("a", n).state is VersionState.RETIRED
    # Ownership outlives removal: runs in flight may still be served under these ids.
    assert reg.taken_function_ids(except_skill="b") == {"a", "a-digest"}


def test_the_database_is_wal(tmp_path: Path) -> None:
    Registry(tmp_path / "r.db").close()
    conn = sqlite3.connect(tmp_path / "r.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
