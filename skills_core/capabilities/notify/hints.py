"""Hints: advice a message carries at most once a day per channel, not at the end of each one.

A skill names a hint the platform knows (``notify.post(..., hint="llm-not-configured")``)
and the platform appends its text when that hint was not shown on the channel in the last
``ONCE_EVERY_S``. The decision is stored with the post's dedupe key, so a retry or replay of
the same post decides the same way (and posts nothing new anyway: the post is deduplicated).
"""

from __future__ import annotations

import sqlite3
import time

from ..store import CapabilityStore

ONCE_EVERY_S = 24 * 3600

#: Hint name → the text appended (the platform's words, so they name the right settings).
HINTS = {
    "llm-not-configured": (
        "Tip (shown once a day): no LLM is configured, so documented rules decided. Set "
        "LOOPWRIGHT_LLM_BASE_URL and LOOPWRIGHT_LLM_MODEL (any OpenAI-compatible endpoint); "
        "see docs/CORE_SKILLS.md."
    ),
}


def unknown_hint(name: str) -> str:
    return f"unknown notify hint {name!r}; the platform knows {sorted(HINTS)}"


def with_hint(
    store: CapabilityStore, text: str, hint: str | None, *, channel: str, dedupe_key: str
) -> str:
    """``text``, followed by the hint's text when it is due on ``channel``."""
    if hint is None:
        return text
    now = time.time()

    def due(db: sqlite3.Connection) -> bool:
        row = db.execute(
            "SELECT shown_at, dedupe_key FROM notify_hints WHERE hint = ? AND channel = ?",
            (hint, channel),
        ).fetchone()
        if row is not None and row["dedupe_key"] == dedupe_key:
            return True  # this very post, again: decide as the first time
        if row is not None and now - row["shown_at"] < ONCE_EVERY_S:
            return False
        db.execute(
            "INSERT INTO notify_hints (hint, channel, shown_at, dedupe_key) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (hint, channel) DO UPDATE SET shown_at = excluded.shown_at, "
            "dedupe_key = excluded.dedupe_key",
            (hint, channel, now, dedupe_key),
        )
        return True

    return f"{text}\n{HINTS[hint]}" if store.write(due) else text
