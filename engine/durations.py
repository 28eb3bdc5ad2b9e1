"""Go-style durations, as they appear in function configs (`"30s"`, `"1h30m"`, `"1.5h"`, `"300ms"`).

The Python SDK sends one whole number in one unit, but other SDKs send compound values, and Inngest
adds `d` and `w` to Go's units, so the engine parses the whole grammar. Parsing is exact: values are
summed in integer nanoseconds, with fractions truncated, like Go's `time.ParseDuration`. Signs are
refused because no duration in a function config can be negative.
"""

from __future__ import annotations

import math
import re

__all__ = ["DurationError", "format_duration", "parse_duration"]

_NS_PER_UNIT: dict[str, int] = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,  # micro sign, what Go prints
    "\u03bcs": 1_000,  # Greek small mu, which Go also accepts
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
    "d": 86_400_000_000_000,
    "w": 604_800_000_000_000,
}
_MAX_NS = 2**63 - 1  # Go's time.Duration is an int64 of nanoseconds
_PART = re.compile(r"(\d*)(?:\.(\d*))?([^\d.]*)")
_ACCEPTED = (
    'a Go duration such as "30s", "1h30m", "1.5h" or "300ms" (units ns, us, ms, s, m, h, d, w)'
)


class DurationError(ValueError):
    """A duration string that does not follow the Go grammar."""

    def __init__(self, text: str, reason: str) -> None:
        super().__init__(f"invalid duration {text!r}: {reason}; expected {_ACCEPTED}")
        self.text = text


def parse_duration(text: str) -> float:
    """Return the duration `text` in seconds, or raise DurationError."""
    if text == "0":
        return 0.0
    if not text:
        raise DurationError(text, "it is empty")
    if text[0] in "+-":
        raise DurationError(text, "a sign is not allowed")
    total, pos = 0, 0
    while pos < len(text):
        match = _PART.match(text, pos)
        assert match is not None  # every group may be empty, so the pattern always matches
        whole, frac, unit = match.groups()
        if not whole and not frac:
            raise DurationError(text, f"expected a number at position {pos}")
        if not unit:
            raise DurationError(text, f"missing unit after {match.group(0)!r}")
        if unit not in _NS_PER_UNIT:
            raise DurationError(text, f"unknown unit {unit!r}")
        scale = _NS_PER_UNIT[unit]
        total += int(whole or "0") * scale
        if frac:
            total += int(frac) * scale // 10 ** len(frac)
        if total > _MAX_NS:
            raise DurationError(text, "it is longer than about 292 years")
        pos = match.end()
    return total / 1e9


def format_duration(seconds: float) -> str:
    """Format `seconds` the way Go's `Duration.String` does: "1h30m0s", "1.5s", "300ms", "0s"."""
    if not math.isfinite(seconds):
        raise ValueError(f"cannot format a non-finite duration: {seconds!r}")
    ns = round(seconds * 1e9)
    sign, ns = ("-", -ns) if ns < 0 else ("", ns)
    if ns == 0:
        return "0s"
    if ns < 1_000:
        return f"{sign}{ns}ns"
    if ns < 1_000_000:
        return f"{sign}{_decimal(ns, 3)}\u00b5s"
    if ns < 1_000_000_000:
        return f"{sign}{_decimal(ns, 6)}ms"
    minutes, rest = divmod(ns, 60_000_000_000)
    hours, minutes = divmod(minutes, 60)
    text = f"{_decimal(rest, 9)}s"
    if hours or minutes:
        text = f"{minutes}m{text}"
    if hours:
        text = f"{hours}h{text}"
    return sign + text


def _decimal(value: int, places: int) -> str:
    """`value / 10**places` without trailing zeros, as Go's fmtFrac prints it."""
    whole, frac = divmod(value, 10**places)
    digits = f"{frac:0{places}d}".rstrip("0")
    return f"{whole}.{digits}" if digits else str(whole)
