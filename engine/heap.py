"""How the engine process uses Python's cyclic garbage collector.

The engine makes almost no cyclic garbage (at 1,000 runs in flight, a few thousand objects over
thousands of steps); its objects die by reference count. Yet with CPython's default thresholds
(700, 10, 10) a young collection runs every 700 net allocations and walks every object still
alive since the last one: the state of every call in flight. That work grows with the number of
runs in flight, and at 1,000 runs it took about a third of the engine's CPU (13% at 100), most
of it in full collections re-walking the long-lived heap (bench/README.md, "peers.py side by
side, and the engine at 1,000 runs"). With this policy: about 3%, resident memory unchanged.

So, once at start-up: the objects that live as long as the process (imported modules, their
classes and tables) move out of the collector's sight (`gc.freeze`), and young collections run
every `YOUNG_THRESHOLD` net allocations. Cyclic garbage is still collected, only less often; what
it can hold in between is bounded by that threshold.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 50_000
# Collections of the middle and the old generation per collection of the one below: CPython's.
OLDER_THRESHOLDS = (10, 10)


def settle_after_imports() -> None:
    """Call once in the engine's own process, after its imports and before serving."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *OLDER_THRESHOLDS)
