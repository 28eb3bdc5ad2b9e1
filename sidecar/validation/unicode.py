"""Hidden Unicode: refuse characters that make code read differently than it runs.

Trojan Source (CVE-2021-42574) hides logic with bidirectional controls; zero-width and other
format characters hide differences between names; and Python normalizes identifiers with NFKC,
so fullwidth ``eval`` (U+FF45 U+FF56 U+FF41 U+FF4C) *is* ``eval``, while a Cyrillic ``e``
(U+0435) makes a different name that looks the same. So: no bidi controls, no invisible or
control characters anywhere, and ASCII identifiers only. Non-ASCII text stays allowed in string
literals and comments, where a French or Japanese message belongs.
"""

from __future__ import annotations

import io
import tokenize
import unicodedata

from .findings import Finding, finding

BIDI_CONTROLS = frozenset(
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
)
#: Default-ignorable characters that are not category Cf (Hangul fillers, variation selectors...).
INVISIBLE_EXTRA = frozenset("\u115f\u1160\u3164\uffa0\u180e\u2800") | frozenset(
    chr(c) for c in range(0xFE00, 0xFE10)
)
ALLOWED_CONTROLS = frozenset("\t\n\r\f")


def scan(source: str, file: str) -> list[Finding]:
    findings = [*_scan_characters(source, file), *_scan_identifiers(source, file)]
    return findings


def _scan_characters(source: str, file: str) -> list[Finding]:
    out = []
    for line_no, line in enumerate(source.splitlines(), start=1):
        for col, ch in enumerate(line):
            if ch.isascii() and (ch.isprintable() or ch in ALLOWED_CONTROLS):
                continue
            name = unicodedata.name(ch, f"U+{ord(ch):04X}")
            category = unicodedata.category(ch)
            if ch in BIDI_CONTROLS:
                out.append(
                    finding(
                        file,
                        "unicode-bidi",
                        f"bidirectional control character {name} (U+{ord(ch):04X})",
                        line=line_no,
                        col=col,
                    )
                )
            elif category == "Cf" or ch in INVISIBLE_EXTRA:
                out.append(
                    finding(
                        file,
                        "unicode-invisible",
                        f"invisible character {name} (U+{ord(ch):04X})",
                        line=line_no,
                        col=col,
                    )
                )
            elif category in ("Cc", "Cs", "Co", "Cn") and ch not in ALLOWED_CONTROLS:
                out.append(
                    finding(
                        file,
                        "unicode-control",
                        f"control or unassigned character U+{ord(ch):04X}",
                        line=line_no,
                        col=col,
                    )
                )
    return out


def _scan_identifiers(source: str, file: str) -> list[Finding]:
    out = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.NAME and not tok.string.isascii():
                normalized = unicodedata.normalize("NFKC", tok.string)
                note = f" (Python reads it as {normalized!r})" if normalized.isascii() else ""
                out.append(
                    finding(
                        file,
                        "identifier-non-ascii",
                        f"identifier {tok.string!r} contains non-ASCII characters{note}",
                        line=tok.start[0],
                        col=tok.start[1],
                    )
                )
    except (tokenize.TokenError, SyntaxError, IndentationError):
        pass  # the parse stage reports syntax problems
    return out
