"""The notify capability: Slack (webhook or Web API) and the local inbox, each post once."""

from .inbox import InboxMessage, read_inbox
from .messages import PostRequest, PostResult
from .service import NotifyService

__all__ = ["InboxMessage", "NotifyService", "PostRequest", "PostResult", "read_inbox"]
