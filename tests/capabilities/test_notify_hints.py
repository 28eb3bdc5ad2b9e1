"""Hints ("no LLM configured: set …") go out at most once a day per channel, replay-safe."""

from __future__ import annotations

from pathlib import Path

import pydantic
import pytest

from sidecar.capabilities import Inbox
from sidecar.facade.errors import NotifyFailed
from skills_core.capabilities import CapabilityStore, NotifyService, PostRequest, read_inbox
from skills_core.capabilities.notify import hints

from .factories import grant, make_settings

HINT = "llm-not-configured"
TIP = hints.HINTS[HINT]


def post(notify: NotifyService, key: str, hint: str | None = HINT) -> None:
    skill = grant(notify={"channels": ["slack"]})
    notify.post(
        skill, PostRequest(channel="slack", text=f"summary {key}", dedupe_key=key, hint=hint)
    )


def test_the_hint_goes_out_once_a_day(
    tmp_path: Path, store: CapabilityStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    notify = NotifyService(make_settings(tmp_path), store)
    clock = [1_000_000.0]
    monkeypatch.setattr(hints.time, "time", lambda: clock[0])
    post(notify, "run-1")
    post(notify, "run-1")  # the same post replayed: nothing new
    clock[0] += 3600
    post(notify, "run-2")  # an hour later: no hint
    post(notify, "run-3", hint=None)
    clock[0] += hints.ONCE_EVERY_S
    post(notify, "run-4")  # a day later: again
    texts = [m.text for m in read_inbox(store)]
    assert texts == [
        f"summary run-1\n{TIP}",
        "summary run-2",
        "summary run-3",
        f"summary run-4\n{TIP}",
    ]
    assert "LOOPWRIGHT_LLM_BASE_URL" in TIP


def test_a_retried_post_keeps_its_hint(
    tmp_path: Path, store: CapabilityStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hint's claim names the post: if the first attempt's send failed after the claim,
    its retry still carries the hint."""
    assert hints.with_hint(store, "a", HINT, channel="inbox", dedupe_key="k1") == f"a\n{TIP}"
    assert hints.with_hint(store, "a", HINT, channel="inbox", dedupe_key="k1") == f"a\n{TIP}"
    assert hints.with_hint(store, "b", HINT, channel="inbox", dedupe_key="k2") == "b"
    assert hints.with_hint(store, "c", HINT, channel="slack", dedupe_key="k3") == f"c\n{TIP}"


def test_an_unknown_hint_is_refused_with_the_known_ones() -> None:
    with pytest.raises(
        pydantic.ValidationError, match=r"unknown notify hint 'x'.*llm-not-configured"
    ):
        PostRequest(channel="inbox", text="t", dedupe_key="k", hint="x")


def test_the_local_inbox_shows_it_once_a_day_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "inbox.jsonl"
    Inbox(path).post("s", "one", thread=None, dedupe_key="1", hint=HINT)
    Inbox(path).post("s", "two", thread=None, dedupe_key="2", hint=HINT)  # after a restart
    assert [m["text"] for m in Inbox(path).messages()] == [f"one\n{TIP}", "two"]
    with pytest.raises(NotifyFailed, match="unknown notify hint"):
        Inbox(path).post("s", "x", thread=None, dedupe_key="3", hint="x")
