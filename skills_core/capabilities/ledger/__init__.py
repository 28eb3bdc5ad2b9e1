"""The read-only ``ledger`` capability: cron schedules and run history, for the cron watchdog.

``view.py`` answers the calls on the platform side; ``schedule.py`` turns a cron expression
into fire times (skill code cannot import ``croniter``).
"""

from __future__ import annotations

from .schedule import expected_fires, interval_s
from .view import CronSchedule, LedgerView, WindowError

__all__ = ["CronSchedule", "LedgerView", "WindowError", "expected_fires", "interval_s"]
