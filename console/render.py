"""Turning data into safe HTML pieces: highlighted code, pretty JSON, side-by-side diffs, times.

Everything a skill or an LLM wrote reaches the page through Jinja's autoescape or through
Pygments (which escapes what it highlights); nothing here marks unescaped input as safe.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import functools
import json
import time
from typing import Any

from markupsafe import Markup
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

_FORMATTER = HtmlFormatter(cssclass="hl", linenos="inline", wrapcode=True)
_LEXER = PythonLexer()


@functools.lru_cache(maxsize=64)
def python_html(source: str) -> Markup:
    """Highlighted Python; Pygments escapes every token it emits. A version's source never
    changes, so the same page shown again reuses its highlighting."""
    return Markup(highlight(source, _LEXER, _FORMATTER))


def highlight_css() -> str:
    return str(_FORMATTER.get_style_defs(".hl"))


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str)


@dataclasses.dataclass(frozen=True)
class DiffRow:
    kind: str  # "same" | "changed" | "added" | "removed"
    left_no: int | None
    left: str
    right_no: int | None
    right: str


@functools.lru_cache(maxsize=32)
def side_by_side(old: str, new: str) -> tuple[DiffRow, ...]:
    a, b = old.splitlines(), new.splitlines()
    rows: list[DiffRow] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag == "equal":
            rows += [
                DiffRow("same", i + 1, a[i], j + 1, b[j])
                for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
            ]
            continue
        left, right = list(range(i1, i2)), list(range(j1, j2))
        for n in range(max(len(left), len(right))):
            li = left[n] if n < len(left) else None
            rj = right[n] if n < len(right) else None
            kind = (
                "changed"
                if li is not None and rj is not None
                else ("removed" if rj is None else "added")
            )
            rows.append(
                DiffRow(
                    kind,
                    li + 1 if li is not None else None,
                    a[li] if li is not None else "",
                    rj + 1 if rj is not None else None,
                    b[rj] if rj is not None else "",
                )
            )
    return tuple(rows)  # cached: shared by every page that shows this diff


def when(epoch: float | None) -> str:
    if not epoch:
        return "-"
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def day(epoch: float) -> str:
    """The UTC day of a time, as the ledger's rollups key it."""
    return time.strftime("%Y-%m-%d", time.gmtime(epoch))


def iso(epoch: float | None) -> str:
    if not epoch:
        return ""
    return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat().replace("+00:00", "Z")


def ago(epoch: float | None, now: float | None = None) -> str:
    if not epoch:
        return "never"
    seconds = (now or time.time()) - epoch
    if seconds < 0:
        return "in " + ago(now or time.time(), epoch).removesuffix(" ago")
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit} ago"
    return f"{seconds:.0f} s ago"


def ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.0f} ms" if value < 1000 else f"{value / 1000:.1f} s"


def usd(value: float | None) -> str:
    return "-" if value is None else f"${value:.4f}"


FILTERS = {"when": when, "ago": ago, "ms": ms, "usd": usd, "pretty": pretty, "iso": iso}
