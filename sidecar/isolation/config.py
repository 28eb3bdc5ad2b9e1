"""How workers are isolated, and what happens when they cannot be."""

from __future__ import annotations

import dataclasses
from typing import Literal

#: ``allow``: run agent-written skills unisolated (development), loudly; ``refuse``: do not run
#: them (core skills, which the platform ships, still run); ``auto``: refuse in production
#: mode (a signing key is set), allow otherwise.
UnisolatedPolicy = Literal["allow", "refuse", "auto"]


@dataclasses.dataclass(frozen=True)
class IsolationSettings:
    #: Box every worker with bubblewrap, namespaces and seccomp when the host allows it.
    #: False means "do not even try" (the status says so; the policy below still applies).
    enabled: bool = True
    unisolated: UnisolatedPolicy = "auto"
    #: The host user and group the sandbox runs as when the sidecar runs as root: neither
    #: root nor the platform's user. (Without root the sandbox runs as the platform's user,
    #: mapped to this id inside, and the status says so.)
    uid: int = 64_000
    gid: int = 64_000
    #: Size of each worker's private /tmp (tmpfs): the most disk one worker can fill.
    tmp_bytes: int = 16 * 1024 * 1024
    #: Processes (and threads) each worker may have at once: a fork bomb stops there.
    max_processes: int = 32
    #: Keep one worker boxed and waiting in the zygote, so starting one is a hand-over, not
    #: three forks (False: box each worker on request).
    park: bool = True
    #: Seconds the sandbox's zygote may take to start and import (a loaded host is slow).
    start_seconds: float = 120.0

    def __post_init__(self) -> None:
        if self.unisolated not in ("allow", "refuse", "auto"):
            raise ValueError("isolation.unisolated is 'allow', 'refuse' or 'auto'")
        if self.tmp_bytes < 64 * 1024:
            raise ValueError("isolation.tmp_bytes must be at least 64 KiB")
        if self.max_processes < 2:
            raise ValueError("isolation.max_processes must be at least 2")
        if not (0 < self.uid < 2**31 and 0 < self.gid < 2**31):
            raise ValueError("isolation.uid and isolation.gid must be positive (never root)")

    def refuses_unisolated(self, production: bool) -> bool:
        return self.unisolated == "refuse" or (self.unisolated == "auto" and production)
