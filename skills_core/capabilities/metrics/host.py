"""Local host resources through psutil: the metrics source that needs no server at all."""

from __future__ import annotations

import psutil

from ..settings import HostSource
from .samples import HostResources


class HostProbe:
    """Reads CPU, memory and disk use of this machine."""

    def __init__(self, config: HostSource) -> None:
        self._disk_path = config.disk_path
        # psutil measures CPU between two calls; the first call only starts the interval.
        psutil.cpu_percent(interval=None)

    def read(self) -> HostResources:
        return HostResources(
            cpu_percent=psutil.cpu_percent(interval=None),
            memory_percent=psutil.virtual_memory().percent,
            disk_percent=psutil.disk_usage(self._disk_path).percent,
        )
