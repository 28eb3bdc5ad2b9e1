"""The engine process's GC policy (engine/heap.py), checked in a fresh interpreter so the test
process keeps its own collector settings."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import gc, json
from engine.heap import OLDER_THRESHOLDS, YOUNG_THRESHOLD, settle_after_imports
settle_after_imports()
print(json.dumps({"threshold": gc.get_threshold(), "frozen": gc.get_freeze_count(),
                  "expected": [YOUNG_THRESHOLD, *OLDER_THRESHOLDS], "enabled": gc.isenabled()}))
"""


def test_settle_after_imports_freezes_the_start_up_heap_and_raises_the_young_threshold() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    state = json.loads(out.stdout)
    assert state["enabled"], "cyclic garbage must still be collected"
    assert list(state["threshold"]) == state["expected"]
    assert state["expected"][0] > 700  # above CPython's default, or the policy does nothing
    assert state["frozen"] > 0, "the objects alive at start-up should be frozen"
