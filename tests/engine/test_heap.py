"""The engine process freezes its start-up heap (engine/heap.py), checked in a fresh interpreter
so the test process keeps its own collector state."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import gc, json
default = gc.get_threshold()
import engine.server
from engine.heap import freeze_start_up_heap
freeze_start_up_heap()
print(json.dumps({"threshold": gc.get_threshold(), "default": default,
                  "frozen": gc.get_freeze_count(), "enabled": gc.isenabled()}))
"""


def test_the_start_up_heap_is_frozen_and_collection_goes_on_as_before() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    state = json.loads(out.stdout)
    assert state["enabled"], "cyclic garbage must still be collected"
    assert state["threshold"] == state["default"], "collections must run as often as before"
    assert state["frozen"] > 10_000, "the engine's imports should be out of the collector's way"
