"""A platform process's start-up heap, kept out of the cyclic garbage collector's way.

A full collection walks every object alive, and in a long-lived server most of them are its
imports (FastAPI, the inngest SDK, RestrictedPython: ~160,000 objects in the sidecar), which live
as long as the process. Frozen once after start-up they are never walked again; thresholds stay
CPython's, so garbage is found as soon as before. The sidecar serving a 10-step skill
(bench/skill_steps.py): GC 6.8% of the process's CPU before, 1.6% after. The engine has its
own copy (engine/heap.py): it imports nothing from the platform.
"""

from __future__ import annotations

import gc


def freeze_start_up_heap() -> None:
    """Call once in a server's own process, after its imports and before serving."""
    gc.collect()
    gc.freeze()
