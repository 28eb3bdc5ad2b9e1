"""An SDK call parsed with its memos left raw reads exactly as the SDK's own parse of it."""

from __future__ import annotations

import json

import pytest
from inngest._internal import server_lib

from sidecar.workers import lazy_request
from sidecar.workers.lazy_request import parse_requests_lazily
from sidecar.workers.memos import _parsed

sdks_parse = lazy_request._sdk_from_raw

CTX = {"attempt": 2, "disable_immediate_execution": False, "max_attempts": 4, "run_id": "01R",
       "stack": {"stack": ["a", "b"]}}  # fmt: skip
EVENT = {"name": "app/go", "data": {"n": 1, "text": "é\n"}, "id": "e1", "ts": 7}
STEPS: dict[str, object] = {
    "ran": {"data": {"n": 1, "big": 2**70, "f": 1.5, "list": [1, None, "x"]}},
    "failed": {"error": {"name": "Boom", "message": "no", "stack": "trace"}},
    "slept": None,
    "event": EVENT,
    "text": "plain",
    "unicode": {"data": '\u2603 \\ "'},
}


def body(**fields: object) -> bytes:
    request = {"ctx": CTX, "event": EVENT, "events": [EVENT], "steps": STEPS, "use_api": False}
    request.update(fields)
    return json.dumps({k: v for k, v in request.items() if v is not ...}).encode()


@pytest.fixture(autouse=True)
def lazily() -> None:
    assert parse_requests_lazily()


@pytest.mark.parametrize(
    "raw",
    [
        body(),
        body(events=...),
        body(steps={}),
        body(use_api=True, events=None),
        body(extra={"ignored": True}),
        body().decode(),  # the SDK's parse takes text as well as bytes
    ],
    ids=["all", "no-events", "no-memos", "use-api", "extra-field", "text"],
)
def test_a_call_reads_as_the_sdk_parses_it(raw: bytes | str) -> None:
    lazy = server_lib.ServerRequest.from_raw(raw)
    sdks = sdks_parse(raw)
    assert isinstance(lazy, server_lib.ServerRequest), lazy
    assert isinstance(sdks, server_lib.ServerRequest)
    assert lazy.model_dump(exclude={"steps"}) == sdks.model_dump(exclude={"steps"})
    assert list(lazy.steps) == list(sdks.steps)
    for key, memo in sdks.steps.items():
        assert _parsed(lazy.steps[key]) == _parsed(memo), key


BAD = {
    "junk": b"not json",
    "array": b"[]",
    "no-steps": body(steps=...),
    "null-steps": body(steps=None),
    "list-steps": body(steps=[1]),
    "no-ctx": body(ctx=...),
    "text-attempt": body(ctx={**CTX, "attempt": "2"}),  # the SDK's models are strict
    "no-event": body(event=...),
    "no-use-api": body(use_api=...),
    "text-use-api": body(use_api="yes"),
    "truncated": body()[:-1],
}


@pytest.mark.parametrize("raw", list(BAD.values()), ids=list(BAD))
def test_a_bad_call_is_refused_as_the_sdk_refuses_it(raw: bytes) -> None:
    lazy = server_lib.ServerRequest.from_raw(raw)
    sdks = sdks_parse(raw)
    assert isinstance(lazy, Exception) and isinstance(sdks, Exception)
    assert (type(lazy), str(lazy)) == (type(sdks), str(sdks))


def test_memos_stay_unparsed_until_read() -> None:
    lazy = server_lib.ServerRequest.from_raw(body())
    assert isinstance(lazy, server_lib.ServerRequest)
    assert bytes(lazy.steps["ran"]) == json.dumps(STEPS["ran"]).encode()  # type: ignore[call-overload]


def test_an_sdk_without_the_expected_internals_is_left_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sdks_own = classmethod(lambda cls, raw: cls())
    monkeypatch.setattr(server_lib.ServerRequest, "from_raw", sdks_own)
    monkeypatch.setattr(server_lib.ServerRequest, "model_fields", {})  # no ``steps`` field
    assert not parse_requests_lazily()  # the sidecar then logs a warning (sidecar/service.py)
    assert server_lib.ServerRequest.__dict__["from_raw"] is sdks_own
