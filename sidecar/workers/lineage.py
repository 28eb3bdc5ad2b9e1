"""A call's memos as the run's previous call's plus what is new, found by comparing bytes.

The engine sends every memo of a run with each call, and between two calls of a run it only
appends: the memos of call k+1 are those of call k plus the step that call ran. Decoding
every memo of every call (~1,000 keys and values at 1,000 steps) and checking a warm run's
continuation key by key (``warm.py``) costs time that grows with the run. Here the memos
object of call k+1 is checked against call k's by its bytes: when it starts with call k's
object, byte for byte, those memos are the same (same keys, same values), and only the rest
is decoded. Anything else (the first call this process sees of a run, an engine that orders
or spaces memos otherwise, one that was evicted) decodes the object whole, as before.
"""

from __future__ import annotations

import collections
import threading

import msgspec

_decode = msgspec.json.Decoder(dict[str, msgspec.Raw]).decode

#: Bytes of memo objects kept for the runs seen last, beyond which the oldest run is dropped
#: (memory is up to twice that: values decoded whole keep the object they came from).
MAX_KEPT_BYTES = 32 * 1024 * 1024


class CallMemos(dict[str, msgspec.Raw]):
    """One call's memos, each kept as its JSON text, and how they grew from the previous call."""

    #: The call's memo object, as sent.
    raw: bytes
    #: The previous call's memo object, when this one starts with it byte for byte.
    grown_from: bytes | None
    #: The memos this call has beyond it (in order), when ``grown_from`` is set.
    added: tuple[str, ...]

    def extends(self, previous: bytes | None, key: str) -> bool:
        """Whether these memos are exactly those of the call whose object was ``previous``,
        plus the memo of ``key`` (identity, then a tuple compare: no key is looked at)."""
        return previous is not None and self.grown_from is previous and self.added == (key,)


class RecentMemos:
    """The last call's memos of recently seen runs (bounded by ``max_bytes``)."""

    def __init__(self, max_bytes: int = MAX_KEPT_BYTES) -> None:
        self.max_bytes = max_bytes
        self._runs: collections.OrderedDict[str, CallMemos] = collections.OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def split(self, run_id: str, raw: bytes) -> CallMemos:
        """The memos of ``raw`` (a JSON object), decoded whole or from the run's last call.

        Raises ``msgspec`` errors for what is not an object of memos.
        """
        with self._lock:
            previous = self._runs.pop(run_id, None)
            if previous is not None:
                self._bytes -= len(previous.raw)
        memos = _grown(previous, raw) if previous is not None else None
        if memos is None:
            memos = CallMemos(_decode(raw))
            memos.raw, memos.grown_from, memos.added = raw, None, ()
        with self._lock:
            self._runs[run_id] = memos
            self._bytes += len(raw)
            while self._bytes > self.max_bytes and self._runs:
                self._bytes -= len(self._runs.popitem(last=False)[1].raw)
        return memos


def _grown(previous: CallMemos, raw: bytes) -> CallMemos | None:
    """``previous`` plus what ``raw`` has beyond it; None unless ``raw`` starts with it."""
    head = previous.raw[:-1]  # without its closing brace
    if not raw.startswith(head):
        return None
    tail = raw[len(head) :]
    if head != b"{":  # more memos follow a comma
        if not tail.startswith(b","):
            return None if tail != b"}" else _copy(previous, raw, {})
        tail = tail[1:]
    try:
        new = _decode(b"{" + tail)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    if any(key in previous for key in new):  # a memo sent again, maybe changed: decode whole
        return None
    return _copy(previous, raw, new)


def _copy(previous: CallMemos, raw: bytes, new: dict[str, msgspec.Raw]) -> CallMemos:
    memos = CallMemos(previous)
    memos.update(new)
    memos.raw, memos.grown_from, memos.added = raw, previous.raw, tuple(new)
    return memos
