"""What a post asks for and what it answers, whichever channel carries it."""

from __future__ import annotations

import pydantic

from .hints import HINTS, unknown_hint

#: Slack truncates above 40,000 characters; refuse earlier than it would mangle.
MAX_TEXT = 40_000


class PostRequest(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")

    channel: str = pydantic.Field(min_length=1)
    text: str = pydantic.Field(min_length=1, max_length=MAX_TEXT)
    #: Posts with the same key on the same channel form one thread (one incident → one thread).
    thread_key: str | None = pydantic.Field(default=None, min_length=1, max_length=200)
    #: Identifies this post across retries and replays (run id + step id + call number).
    dedupe_key: str = pydantic.Field(min_length=1, max_length=300)
    #: The run that posts (the platform fills it in), so feedback finds the run's decisions.
    run_id: str | None = pydantic.Field(default=None, max_length=200)
    #: A hint the platform appends at most once a day per channel (``hints.HINTS``).
    hint: str | None = None

    @pydantic.field_validator("hint")
    @classmethod
    def _known_hint(cls, hint: str | None) -> str | None:
        if hint is not None and hint not in HINTS:
            raise ValueError(unknown_hint(hint))
        return hint


class PostResult(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(frozen=True)

    #: Where the message went (``inbox`` when the requested channel fell back to it).
    channel: str
    requested_channel: str
    message_id: str
    thread: str | None = None
    #: The id of the thread's first message (Slack ``thread_ts``), when the channel threads.
    thread_root: str | None = None
    #: True when no new message was sent because this dedupe key had already posted.
    duplicate: bool = False
    #: True when an earlier attempt may have posted and the channel cannot tell (webhooks).
    uncertain: bool = False
    run_id: str | None = None

    @pydantic.computed_field  # type: ignore[prop-decorator]
    @property
    def delivered(self) -> str:
        """Where it went, for people: ``inbox — Slack not configured`` rather than ``#slack``."""
        return delivered_to(self.channel, self.requested_channel)


#: How people know the channels a skill can ask for.
CHANNEL_NAMES = {"slack": "Slack", "inbox": "inbox"}


def delivered_to(channel: str, requested: str) -> str:
    """``slack``; ``inbox``; or ``inbox — Slack not configured`` when it fell back."""
    if channel == requested:
        return channel
    return f"{channel} — {CHANNEL_NAMES.get(requested, requested)} not configured"
