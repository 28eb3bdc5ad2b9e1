"""Tell people a skill version waits for them, with the exact command that approves it.

A version the approval policy holds back posts one notice to the inbox, and to Slack where
Slack is configured, through the platform's notify capability (as the platform itself, skill
id ``loopwright``). Each post's dedupe key names the skill and the version, so the notify
ledger makes it once per version: the sidecar posts again for every version still waiting
when it starts (a crash between the decision and the post loses nothing), and those posts
are no-ops for versions already announced.
"""

from __future__ import annotations

import asyncio
import logging

from sidecar.facade.capabilities import NotifyBackend
from sidecar.facade.errors import CapabilityError
from sidecar.facade.grants import CapabilityGrants

from .capabilities.provider import CapabilityProvider

log = logging.getLogger(__name__)

#: Who posts the notices (the platform, not a skill).
PLATFORM_ID = "loopwright"
#: Slack first: when it is not configured the platform posts it to the inbox instead, and the
#: inbox post that follows is skipped so the inbox shows the notice once.
CHANNELS = ("slack", "inbox")


def notice_text(skill_id: str, number: int, reasons: list[str]) -> str:
    why = "; ".join(reasons) or "the approval policy asks a person"
    return (
        f"{skill_id} v{number} awaits approval ({why}).\n"
        f"Review: loopwright skills show {skill_id} --version {number}\n"
        f"Approve: loopwright skills approve {skill_id} --version {number}\n"
        f"Reject: loopwright skills reject {skill_id} --version {number}"
    )


class ApprovalNotices:
    def __init__(self, provider: CapabilityProvider) -> None:
        self._provider = provider

    def _notify(self) -> NotifyBackend | None:
        grants = CapabilityGrants.model_validate({"notify": {"channels": list(CHANNELS)}})
        return self._provider.backends(PLATFORM_ID, grants).notify

    def post(self, skill_id: str, number: int, reasons: list[str]) -> list[str]:
        """Post the notice (once per version, whatever the number of calls); returns where it
        went. Delivery trouble is logged, never raised: approval works without a notice."""
        notify = self._notify()
        if notify is None:
            log.warning(
                "no notify capability: %s v%d awaits approval unannounced", skill_id, number
            )
            return []
        text = notice_text(skill_id, number, reasons)
        delivered: list[str] = []
        for channel in CHANNELS:
            if channel == "inbox" and "inbox" in delivered:
                break  # Slack fell back to the inbox: it is there already
            key = f"approval-notice:{skill_id}:v{number}:{channel}"
            try:
                result = notify.post(channel, text, thread=None, dedupe_key=key)
            except CapabilityError as err:
                if channel != "inbox":
                    log.info("approval notice not posted to %s: %s", channel, err)
                else:
                    log.warning("approval notice of %s v%d not posted: %s", skill_id, number, err)
                continue
            went = result.get("channel") if isinstance(result, dict) else None
            delivered.append(str(went or channel))
        return delivered

    async def announce(self, skill_id: str, number: int, reasons: list[str]) -> list[str]:
        return await asyncio.to_thread(self.post, skill_id, number, reasons)
