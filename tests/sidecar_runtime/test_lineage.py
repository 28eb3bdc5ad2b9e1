"""A run's call's memos are split from its previous call's by bytes, and read exactly as a
whole decode of the same object would."""

from __future__ import annotations

import json

import msgspec
import pytest

from sidecar.workers.lineage import RecentMemos


def memo_object(memos: dict[str, object], **dumps: object) -> bytes:
    return json.dumps(memos, **dumps).encode()  # type: ignore[arg-type]


def decoded(memos: dict[str, msgspec.Raw]) -> dict[str, object]:
    return {key: msgspec.json.decode(value) for key, value in memos.items()}


def test_a_call_that_adds_a_memo_is_split_from_the_previous_one() -> None:
    recent = RecentMemos()
    first = recent.split("run", memo_object({}))
    assert first == {} and first.grown_from is None
    memos: dict[str, object] = {}
    previous = first
    for i in range(5):
        memos[f"k{i}"] = {"data": {"i": i, "text": "a,b}"}}
        call = recent.split("run", memo_object(memos, separators=(",", ":")))
        assert call.grown_from is previous.raw and call.added == (f"k{i}",)
        assert call.extends(previous.raw, f"k{i}") and not call.extends(previous.raw, "other")
        assert decoded(call) == memos
        previous = call


@pytest.mark.parametrize(
    "second",
    [
        {"a": {"data": 9}, "b": {"data": 2}},  # an earlier memo changed
        {"b": {"data": 2}},  # one went missing
        {"b": {"data": 2}, "a": {"data": 1}},  # the same memos, another order
    ],
    ids=["changed", "missing", "reordered"],
)
def test_a_call_that_does_not_extend_the_previous_is_decoded_whole(
    second: dict[str, object],
) -> None:
    recent = RecentMemos()
    recent.split("run", memo_object({"a": {"data": 1}}))
    call = recent.split("run", memo_object(second))
    assert call.grown_from is None and call.added == ()
    assert decoded(call) == second


def test_a_memo_sent_again_in_the_new_part_is_decoded_whole() -> None:
    recent = RecentMemos()
    before = recent.split("run", b'{"a":{"data":1}}')
    call = recent.split("run", b'{"a":{"data":1},"a":{"data":2},"b":null}')
    assert call.grown_from is None and not call.extends(before.raw, "b")
    assert decoded(call) == {"a": {"data": 2}, "b": None}  # the last value wins, as in JSON


def test_the_same_call_again_adds_nothing_and_runs_do_not_mix() -> None:
    recent = RecentMemos()
    raw = memo_object({"a": {"data": 1}})
    first = recent.split("run-1", raw)
    again = recent.split("run-1", raw)
    assert again.grown_from is first.raw and again.added == ()
    other = recent.split("run-2", memo_object({"a": {"data": 1}, "b": {"data": 2}}))
    assert other.grown_from is None  # another run's memos are never a base


def test_what_is_not_an_object_of_memos_is_refused() -> None:
    recent = RecentMemos()
    recent.split("run", b'{"a":1}')
    with pytest.raises(msgspec.ValidationError):
        recent.split("run", b"[1]")


def test_kept_memos_are_bounded_by_bytes() -> None:
    recent = RecentMemos(max_bytes=100)
    big = memo_object({"a": {"data": "x" * 60}})
    recent.split("old", big)
    recent.split("new", big)  # 2 x 74 bytes: the oldest run goes
    assert recent.split("old", big).grown_from is None
    assert recent.split("new", big).grown_from is None  # evicted in turn by "old"
