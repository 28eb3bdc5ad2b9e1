"""What "JSON-only" means for data that leaves skill code.

Step outputs are memoized by the engine as JSON and handed back on every replay, so an output
must survive a strict JSON round trip unchanged: a tuple would come back as a list, an int key
as a string, a NaN not at all. ``to_json_value`` checks exactly that, enforces Inngest's 4 MiB
cap, and returns the round-tripped value, so the first run sees the same data as every replay
and no live object (a facade object, a function, a module) can ride along.
"""

from __future__ import annotations

import json
from typing import Any

from .errors import StepOutputInvalid, StepOutputTooLarge
from .limits import MAX_STEP_OUTPUT_BYTES

#: A JSON value as Python sees it after ``json.loads``.
JSON = Any


def to_json_value(value: object, what: str, *, max_bytes: int = MAX_STEP_OUTPUT_BYTES) -> JSON:
    """Return ``value`` after a strict JSON round trip, or raise a step-output violation."""
    try:
        text = json.dumps(value, allow_nan=False, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError) as err:
        raise StepOutputInvalid(
            f"{what} is not JSON: {err}. Return only dict (str keys), list, str, int, float, "
            "bool or None"
        ) from None
    size = len(text.encode("utf-8"))
    if size > max_bytes:
        raise StepOutputTooLarge(
            f"{what} is {size} bytes of JSON; the limit is {max_bytes} bytes. Return a summary "
            "(aggregates, top-N) instead of raw data"
        )
    round_tripped = json.loads(text)
    if not _same(round_tripped, value):
        raise StepOutputInvalid(
            f"{what} changes in a JSON round trip (tuples become lists, non-str keys become "
            "str); build it from dict with str keys, list, str, int, float, bool and None only"
        )
    return round_tripped


def _same(decoded: object, original: object) -> bool:
    # Type-exact comparison: `(1, 2) == [1, 2]` is False already, but `{1: "a"}` vs
    # `{"1": "a"}` and `1 == 1.0` need care, and dict subclasses (Counter) are fine as dicts.
    if isinstance(original, bool) or original is None:
        return decoded is original
    if isinstance(original, int):
        return type(decoded) is int and decoded == original
    if isinstance(original, float):
        return type(decoded) in (float, int) and decoded == original
    if isinstance(original, str):
        return decoded == original
    if isinstance(original, list):
        return (
            isinstance(decoded, list)
            and len(decoded) == len(original)
            and all(_same(d, o) for d, o in zip(decoded, original, strict=True))
        )
    if isinstance(original, dict):
        return (
            isinstance(decoded, dict)
            and all(isinstance(k, str) for k in original)
            and decoded.keys() == original.keys()
            and all(_same(decoded[k], original[k]) for k in original)
        )
    return False
