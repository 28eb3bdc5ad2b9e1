"""Text a skill controls, on its way to a log line, the CLI or the console.

A function ``name`` or a manifest ``description`` reaches log files and terminals. Written
with ``"\\n"``, ``"\\x1b[…"`` or a bidi override (all plain ASCII escapes in the source, so
the source's unicode scan cannot see them) it could forge a log line, recolour or clear a
terminal, or reorder what a reviewer reads. So declared text must be one printable line
(``text_problem``, enforced by the contract), and anything else a skill produced — run
outputs, inbox messages, notes — is escaped when shown (``printable``).
"""

from __future__ import annotations

import unicodedata

#: Categories never shown raw: controls (C0, C1, DEL), format characters (bidi overrides and
#: isolates, zero-width joiners, BOM), line and paragraph separators, surrogates, private use,
#: unassigned code points.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})


def _unsafe(char: str) -> bool:
    return unicodedata.category(char) in _UNSAFE_CATEGORIES


def text_problem(value: str) -> str | None:
    """Why ``value`` is not a single line of printable text, or None."""
    for index, char in enumerate(value):
        if _unsafe(char):
            name = unicodedata.name(char, f"U+{ord(char):04X}")
            return (
                f"character {index} is {name} ({char.encode('unicode_escape').decode()}); "
                "declared text must be one line of printable characters"
            )
    return None


def printable(text: object, *, keep_newlines: bool = False) -> str:
    """``text`` safe for a terminal: every unsafe character as a visible escape (``\\x1b``).

    ``keep_newlines`` lets multi-line text (a message body) keep its plain line breaks.
    """
    value = str(text)
    if not any(_unsafe(c) for c in value):
        return value
    out = []
    for char in value:
        if keep_newlines and char == "\n":
            out.append(char)
        elif _unsafe(char):
            out.append(char.encode("unicode_escape").decode("ascii"))
        else:
            out.append(char)
    return "".join(out)
