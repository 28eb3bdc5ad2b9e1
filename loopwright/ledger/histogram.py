"""Fixed log-spaced duration buckets, so daily rollups can add counts atomically in SQL and
percentiles can still be estimated from them."""

from __future__ import annotations

import math
from collections.abc import Mapping

#: Upper bounds in milliseconds; the last bucket is unbounded.
BOUNDS_MS: tuple[float, ...] = (
    1,
    2,
    5,
    10,
    20,
    50,
    100,
    200,
    500,
    1_000,
    2_000,
    5_000,
    10_000,
    30_000,
    60_000,
    300_000,
    math.inf,
)


def column(bound: float) -> str:
    return "d_inf" if math.isinf(bound) else f"d_le_{int(bound)}"


BUCKET_COLUMNS: tuple[str, ...] = tuple(column(b) for b in BOUNDS_MS)


def bucket_of(duration_ms: float) -> str:
    for bound in BOUNDS_MS:
        if duration_ms <= bound:
            return column(bound)
    return BUCKET_COLUMNS[-1]


def label(name: str) -> str:
    """The bucket's upper bound as the readers show it ("20" ms, "inf")."""
    return "inf" if name == "d_inf" else name.removeprefix("d_le_")


def percentile(hist: Mapping[str, int], q: float) -> float | None:
    """The upper bound of the bucket holding the q-quantile (0 < q ≤ 1); None when empty.

    An estimate by construction: it is exact to the bucket, never more precise."""
    total = sum(hist.values())
    if total == 0:
        return None
    rank = q * total
    seen = 0
    for bound in BOUNDS_MS:
        seen += hist.get(label(column(bound)), 0)
        if seen >= rank:
            return bound
    return math.inf
