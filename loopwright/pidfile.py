"""``var/up.json``: which processes `loopwright up` started, so the next `up` can find them.

Written when `up` starts a child (and rewritten when it restarts one), removed on a clean
stop. After a ``kill -9`` of `up` the file stays: the next `up` reads it and stops the
leftovers that are still ours — a pid is only trusted if the process's start time matches
the one recorded, so a recycled pid is never killed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import psutil

FILENAME = "up.json"


@dataclasses.dataclass
class Recorded:
    pid: int
    #: ``psutil.Process.create_time()``: identifies the process beyond its (reusable) pid.
    started: float

    def alive(self) -> bool:
        try:
            started: float = psutil.Process(self.pid).create_time()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return False
        return abs(started - self.started) < 1.0


@dataclasses.dataclass
class UpState:
    supervisor: Recorded
    children: dict[str, Recorded] = dataclasses.field(default_factory=dict)

    def pids(self) -> list[int]:
        return [self.supervisor.pid, *(c.pid for c in self.children.values())]

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> UpState:
        return cls(
            supervisor=Recorded(**data["supervisor"]),
            children={k: Recorded(**v) for k, v in data.get("children", {}).items()},
        )


def record(pid: int) -> Recorded:
    try:
        started = psutil.Process(pid).create_time()
    except psutil.NoSuchProcess:
        started = 0.0
    return Recorded(pid, started)


class PidFile:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / FILENAME

    def read(self) -> UpState | None:
        try:
            return UpState.from_json(json.loads(self.path.read_text()))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def write(self, state: UpState) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state.to_json(), indent=2))
        os.replace(tmp, self.path)

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def stop_leftovers(state: UpState, timeout_s: float = 10.0) -> list[str]:
    """Stop the recorded children still alive, with their own children (each child led its
    process group); SIGTERM, then SIGKILL. Says what was stopped."""
    groups = {name: _group(r) for name, r in state.children.items()}
    groups = {name: members for name, members in groups.items() if members}
    for members in groups.values():
        for proc in members:
            with contextlib.suppress(psutil.Error):
                proc.terminate()
    everyone = [p for members in groups.values() for p in members]
    _, alive = psutil.wait_procs(everyone, timeout=timeout_s)
    for proc in alive:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    return [f"{name} (pid {state.children[name].pid})" for name in groups]


def _group(recorded: Recorded) -> list[psutil.Process]:
    """The processes of the group ``recorded`` led, started no earlier than it (a pid and
    group id recycled by an unrelated program never match)."""
    members = []
    for proc in psutil.process_iter(["pid", "create_time"]):
        try:
            if os.getpgid(proc.pid) != recorded.pid:
                continue
        except (ProcessLookupError, PermissionError):
            continue
        if proc.info["create_time"] + 1.0 >= recorded.started:
            members.append(proc)
    return members
