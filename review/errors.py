"""Errors of the review: each names what was wrong and how to fix it (the CLI exits 1)."""

from __future__ import annotations


class ReviewError(Exception):
    """Bad input or a refused action; the message is shown as is."""


class SidecarRefused(ReviewError):
    """The sidecar answered with a 4xx: the request itself was refused (not an outage)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class UnknownMessage(ReviewError):
    def __init__(self, message_id: str) -> None:
        super().__init__(
            f"unknown message id {message_id!r}: `loopwright inbox` shows the ids "
            "(inbox:N for the inbox; slack:CHANNEL:TS for Slack)"
        )


class UnknownLabel(ReviewError):
    def __init__(self, label: str, allowed: tuple[str, ...]) -> None:
        super().__init__(f"unknown label {label!r}: use one of {', '.join(allowed)}")


class UnknownSkill(ReviewError):
    def __init__(self, skill_id: str, known: list[str]) -> None:
        hint = f"known: {', '.join(known)}" if known else "the ledger has no runs yet"
        super().__init__(f"unknown skill {skill_id!r} ({hint})")


class UnknownProposal(ReviewError):
    def __init__(self, proposal_id: str) -> None:
        super().__init__(
            f"unknown proposal {proposal_id!r}: `loopwright review proposals` lists them"
        )


class UnknownReport(ReviewError):
    def __init__(self, report_id: str) -> None:
        super().__init__(f"unknown report {report_id!r}: `loopwright review show` lists them")
