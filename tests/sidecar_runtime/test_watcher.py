"""The watcher: real watchfiles events on a temporary folder, editor noise ignored."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from sidecar.files import is_skill_file, skill_id_for, write_atomically
from sidecar.watcher import Watcher


@pytest.mark.parametrize(
    ("name", "expected"),
    [("latency_watch.py", True), (".latency_watch.py.swp", False), ("latency_watch.py~", False),
     ("latency_watch.py.tmp", False), (".hidden.py", False), ("#latency_watch.py#", False),
     ("notes.txt", False), ("__init__.py", False), ("4913", False)],
)  # fmt: skip
def test_which_names_are_skill_files(name: str, expected: bool) -> None:
    assert is_skill_file(name) is expected


def test_file_names_map_to_skill_ids() -> None:
    assert skill_id_for("latency_watch.py") == "latency-watch"
    assert skill_id_for("Latency.py") is None
    assert skill_id_for("a.py") is None  # too short for an id


def test_atomic_renames_edits_and_deletes_are_reported(tmp_path: Path) -> None:
    seen: list[str] = []

    async def scenario() -> None:
        stop = asyncio.Event()
        watcher = Watcher(tmp_path, lambda path: seen.append(path.name))
        task = asyncio.create_task(watcher.run(stop))
        await asyncio.sleep(0.3)
        write_atomically(tmp_path / "alpha.py", "x = 1\n")  # temp file + rename
        await _until(lambda: "alpha.py" in seen)
        (tmp_path / ".beta.py.swp").write_text("noise")
        (tmp_path / "beta.py~").write_text("noise")
        (tmp_path / "beta.txt").write_text("noise")
        (tmp_path / "beta.py").write_text("y = 2\n")  # in-place write
        await _until(lambda: "beta.py" in seen)
        os.unlink(tmp_path / "alpha.py")
        await _until(lambda: seen.count("alpha.py") >= 2)
        stop.set()
        await task

    asyncio.run(scenario())
    assert set(seen) == {"alpha.py", "beta.py"}


def test_the_event_arrives_quickly_with_small_step(tmp_path: Path) -> None:
    """The measured point of ``step_ms=5``: watchfiles' default step of 50 ms costs ~100 ms."""
    delays: list[float] = []

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        arrived = asyncio.Event()
        watcher = Watcher(tmp_path, lambda path: arrived.set())
        task = asyncio.create_task(watcher.run(stop))
        await asyncio.sleep(0.3)
        for i in range(5):
            arrived.clear()
            started = loop.time()
            write_atomically(tmp_path / "gamma.py", f"x = {i}\n")
            await asyncio.wait_for(arrived.wait(), timeout=5)
            delays.append(loop.time() - started)
            await asyncio.sleep(0.1)
        stop.set()
        await task

    asyncio.run(scenario())
    assert sorted(delays)[2] < 0.05, delays


async def _until(check: object, within: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not check():  # type: ignore[operator]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out waiting for the watcher")
        await asyncio.sleep(0.01)
