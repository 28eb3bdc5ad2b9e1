"""The store: FIFO turns, idempotent writes from steps, events, failed turns."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.errors import ConversationNotFound
from agent.store import AgentStore
from tests.store_dialects import DIALECTS, fresh_store_url


@pytest.fixture(params=DIALECTS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AgentStore]:
    with fresh_store_url(request.param, tmp_path, "agent.db") as url:
        db = AgentStore(url)
        yield db
        db.close()


def test_turns_queue_in_order_per_conversation(store: AgentStore) -> None:
    a = store.create_conversation("a")
    b = store.create_conversation("b")
    first = store.add_turn(a, "one")
    second = store.add_turn(a, "two")
    other = store.add_turn(b, "elsewhere")
    assert (first["ahead"], second["ahead"], other["ahead"]) == (0, 1, 0)
    assert store.turns_ahead(second["turn_id"]) == 1
    store.begin_turn(first["turn_id"])
    assert store.turns_ahead(second["turn_id"]) == 1  # running still counts
    store.finish_turn(first["turn_id"], context={}, transcript=[], outcome={"reason": "answered"})
    assert store.turns_ahead(second["turn_id"]) == 0


def test_finishing_twice_changes_nothing(store: AgentStore) -> None:
    cid = store.create_conversation("c")
    turn = store.add_turn(cid, "hi")["turn_id"]
    store.begin_turn(turn)
    message = {"role": "user", "content": "hi"}
    store.finish_turn(
        turn,
        context={"messages": [message]},
        transcript=[message],
        outcome={"reason": "answered", "reply": "x"},
    )
    store.finish_turn(
        turn, context={"messages": []}, transcript=[message, message], outcome={"reason": "other"}
    )
    detail = store.conversation(cid)
    assert detail["context"] == {"messages": [message]}
    assert detail["messages"] == [message]
    assert detail["turns"][0]["stop_reason"] == "answered"
    finished = [e for e in store.events(cid) if e["kind"] == "turn.finished"]
    assert len(finished) == 1


def test_events_are_keyed_and_resumable(store: AgentStore) -> None:
    cid = store.create_conversation("c")
    turn = store.add_turn(cid, "hi")["turn_id"]
    store.add_event(cid, turn, f"{turn}:llm-0", "model.reply", {"content": "a"})
    store.add_event(cid, turn, f"{turn}:llm-0", "model.reply", {"content": "again"})
    events = store.events(cid)
    assert [e["kind"] for e in events] == ["turn.queued", "model.reply"]
    assert store.events(cid, after=events[0]["seq"])[0]["data"] == {"content": "a"}


def test_a_failed_turn_is_closed_so_the_queue_moves(store: AgentStore) -> None:
    cid = store.create_conversation("c")
    first = store.add_turn(cid, "one")["turn_id"]
    second = store.add_turn(cid, "two")["turn_id"]
    store.fail_turn(first, "the model is down")
    assert store.turn(first)["status"] == "failed"
    assert "the model is down" in store.turn(first)["reply"]
    assert store.turns_ahead(second) == 0
    store.fail_turn("turn_unknown", "ignored")  # an unknown turn is not an error here


def test_unknown_conversations_are_designed_errors(store: AgentStore) -> None:
    with pytest.raises(ConversationNotFound):
        store.add_turn("nope", "hi")
    with pytest.raises(ConversationNotFound):
        store.conversation("nope")


def test_drafts_keep_the_latest_source(store: AgentStore) -> None:
    store.put_draft("a", "v1")
    store.put_draft("a", "v2")
    assert store.get_draft("a") == "v2" and store.draft_ids() == ["a"]
    assert store.get_draft("b") is None
