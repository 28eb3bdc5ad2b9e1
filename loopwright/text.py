"""Text that came from a skill or a model, made safe to print on a terminal.

A skill controls its names, outputs and error messages; printed raw, a newline forges a log
line and an ANSI escape rewrites the screen. ``plain`` shows every control, format and
bidi-override character as a visible escape instead.
"""

from __future__ import annotations

import unicodedata

_VISIBLE = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\x1b": "\\e"}


def plain(text: str) -> str:
    if text.isprintable():
        return text
    return "".join(_visible(ch) for ch in text)


def _visible(ch: str) -> str:
    if ch in _VISIBLE:
        return _VISIBLE[ch]
    if ch.isprintable() or unicodedata.category(ch) == "Zs":
        return ch
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
