"""The demo fleet's deploy log: JSONL in the shape the deploys capability reads (``jsonl``).

A fresh log is seeded with a few past deploys per service, so "what deployed recently?" has
an ordinary answer before any incident; ``error-burst-after-deploy`` appends the bad one.
"""

from __future__ import annotations

import datetime
import threading
from pathlib import Path

from skills_core.capabilities.deploys import Deploy

from .profiles import ServiceProfile

AUTHORS = ("dana", "lee", "sam", "kim")


class DeployLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def append(self, deploy: Deploy) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, self.path.open("a", encoding="utf-8") as log:
            log.write(deploy.model_dump_json() + "\n")

    def seed(self, profiles: tuple[ServiceProfile, ...], now: datetime.datetime) -> None:
        """Write a plausible history if the log does not exist yet."""
        if self.path.exists():
            return
        history = []
        for i, profile in enumerate(profiles):
            for days_ago, bump in ((3.2 + i * 0.3, "-rc"), (1.1 + i * 0.2, "")):
                history.append(
                    Deploy(
                        service=profile.name,
                        version=f"{profile.version}{bump}" if bump else profile.version,
                        at=now - datetime.timedelta(days=days_ago),
                        author=AUTHORS[i % len(AUTHORS)],
                        description=f"routine release of {profile.name} (simulated)",
                    )
                )
        for deploy in sorted(history, key=lambda d: d.at):
            self.append(deploy)


def next_version(version: str) -> str:
    """``v2.14.0`` → ``v2.14.1`` (anything else gets ``.1`` appended)."""
    head, _, last = version.rpartition(".")
    return f"{head}.{int(last) + 1}" if head and last.isdigit() else f"{version}.1"
