"""The SDK's parse of an execution call, without parsing the run's memos.

The engine sends every memo of the run with each call, so the body grows with the run (~75 KB
at 1,000 steps), and the SDK parses all of it into Python objects before it looks at any
(``ServerRequest.from_raw``: ~0.6 ms a call at 1,000 steps, the largest per-call cost that
grew with the run in the sidecar). A warm call (``warm.py``) reads one memo; a cold one reads
each once, through ``memos._parsed``.

``parse_requests_lazily`` makes the SDK split the body first (msgspec, which keeps each
part's JSON text), validate everything but the memos with its own model exactly as before, and
hand the memos on with each value's text undecoded: only what the run's previous call did not
have is split out of them (``lineage.py``), and ``memos._parsed`` decodes a memo when it is
read. A body the fast path cannot split goes to the SDK's own parse whole, so every refusal
reads as before.
"""

from __future__ import annotations

import msgspec
from inngest._internal import server_lib

from .lineage import RecentMemos

_UNSET = msgspec.UNSET


class _Outline(msgspec.Struct):
    """An execution request's top level, each part kept as its JSON text."""

    steps: msgspec.Raw
    ctx: msgspec.Raw | msgspec.UnsetType = _UNSET
    event: msgspec.Raw | msgspec.UnsetType = _UNSET
    events: msgspec.Raw | msgspec.UnsetType = _UNSET
    use_api: msgspec.Raw | msgspec.UnsetType = _UNSET


_decode_outline = msgspec.json.Decoder(_Outline).decode
_sdk_from_raw = server_lib.ServerRequest.from_raw
_recent = RecentMemos()


def _from_raw_lazily(raw: object) -> server_lib.ServerRequest | Exception:
    if not isinstance(raw, bytes | str):
        return _sdk_from_raw(raw)
    try:
        outline = _decode_outline(raw)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return _sdk_from_raw(raw)  # its own error, worded as ever
    rest = b",".join(
        b'"%s":%s' % (name.encode(), bytes(value))
        for name in ("ctx", "event", "events", "use_api")
        if (value := getattr(outline, name)) is not _UNSET
    )
    request = _sdk_from_raw(b'{"steps":{},' + rest + b"}" if rest else b'{"steps":{}}')
    if isinstance(request, Exception):
        return _sdk_from_raw(raw)
    try:
        memos = _recent.split(request.ctx.run_id, bytes(outline.steps))
    except (msgspec.DecodeError, msgspec.ValidationError):
        return _sdk_from_raw(raw)
    request.steps = memos  # type: ignore[assignment]  # each decoded when read
    return request


def parse_requests_lazily() -> bool:
    """Make the SDK keep each call's memos raw (for the whole process; see the module doc).

    False (and nothing changed) when the SDK's internals are not the ones this was written for.
    """
    request_model = server_lib.ServerRequest
    if request_model.from_raw is _from_raw_lazily:  # type: ignore[comparison-overlap]
        return True
    if "steps" not in request_model.model_fields or not hasattr(request_model, "from_raw"):
        return False
    request_model.from_raw = _from_raw_lazily  # type: ignore[method-assign,assignment]
    return True
