"""The SDK's memos are parsed when read, exactly as the SDK parses them all on arrival."""

from __future__ import annotations

import pytest
from inngest._internal import types as sdk_types
from inngest._internal.step_lib.base import MemoizedError, Output, StepMemos

from sidecar.workers.memos import parse_memos_lazily

RAW: dict[str, object] = {
    "ran": {"data": {"n": 1}},
    "failed": {"error": {"name": "Boom", "message": "no", "stack": "trace"}},
    "slept": None,
    "event": {"name": "app/ev", "data": {"k": 1}, "id": "e1", "ts": 5},
    "text": "plain",
}
PARSED = {
    "ran": Output(data={"n": 1}),
    "failed": Output(error=MemoizedError(name="Boom", message="no", stack="trace")),
    "slept": Output(data=None),
    "event": Output(data={"name": "app/ev", "data": {"k": 1}, "id": "e1", "ts": 5}),
    "text": Output(data="plain"),
}


def test_memos_read_lazily_are_the_sdks_outputs() -> None:
    assert parse_memos_lazily()
    memos = StepMemos.from_raw(dict(RAW))
    assert memos.size == len(RAW)
    assert list(memos.values()) == list(PARSED.values())
    for key, output in PARSED.items():
        assert memos.pop(key) == output
    assert memos.size == 0
    assert memos.pop("ran") is sdk_types.empty_sentinel


def test_an_sdk_without_the_expected_internals_is_left_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sdks_own = classmethod(lambda cls, raw: cls({}))
    monkeypatch.setattr(StepMemos, "from_raw", sdks_own)
    monkeypatch.setattr("sidecar.workers.memos.Output", object)  # no ``from_raw`` to parse with
    assert not parse_memos_lazily()  # the sidecar then logs a warning (sidecar/service.py)
    assert StepMemos.__dict__["from_raw"] is sdks_own
