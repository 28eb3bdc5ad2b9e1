"""Hints: advice a message carries at most once a day per channel, not at the end of each one.

A skill names a hint the platform knows (``notify.post(..., hint="llm-not-configured")``)
and the platform appends its text when that hint was not shown on the channel in the last
``ONCE_EVERY_S``. The decision is stored with the post's dedupe key, so a retry or replay of
the same post decides the same way (and posts nothing new anyway: the post is deduplicated).
"""

from __future__ import annotations

import time

import sqlalchemy as sa

from loopwright.store import metadata, upsert

from ..store import CapabilityStore

ONCE_EVERY_S = 24 * 3600

shown = sa.Table(
    "notify_hints",
    metadata,
    sa.Column("hint", sa.Text, primary_key=True),
    sa.Column("channel", sa.Text, primary_key=True),
    sa.Column("shown_at", sa.Float, nullable=False),  # when it last went out on this channel
    sa.Column("dedupe_key", sa.Text, nullable=False),  # the post that carried it (and retries)
)

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

    def due(db: sa.Connection) -> bool:
        query = sa.select(shown.c.shown_at, shown.c.dedupe_key).where(
            shown.c.hint == hint, shown.c.channel == channel
        )
        row = db.execute(query).first()
        if row is not None and row.dedupe_key == dedupe_key:
            return True  # this very post, again: decide as the first time
        if row is not None and now - row.shown_at < ONCE_EVERY_S:
            return False
        values = {"hint": hint, "channel": channel, "shown_at": now, "dedupe_key": dedupe_key}
        upsert(db, shown, values, ["hint", "channel"], replace=["shown_at", "dedupe_key"])
        return True

    return f"{text}\n{HINTS[hint]}" if store.write(due) else text
