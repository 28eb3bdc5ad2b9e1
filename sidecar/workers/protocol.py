"""The conversation between the sidecar and a worker process: JSON lines over two pipes.

One job is one SDK call of one function (the engine calls the sidecar once per step)::

    sidecar                                   worker
    start {job}                     ──▶       loads the version, calls the handler
                                    ◀──       step {kind: run, id}
    memo {value}  (SDK had it)      ──▶       ctx.step.run returns value
                                    ◀──       step {kind: run, id}
    execute       (SDK runs it)     ──▶       runs the callback
                                    ◀──       capability {capability, method, args}
    capability_result {...}         ──▶
                                    ◀──       callback_done {output} | callback_error | callback_failed
    abandon       (SDK interrupted) ──▶       unwinds the handler
                                    ◀──       abandoned
    ...
                                    ◀──       done {output} | failed {kind, ...}

When the SDK will run the first new ``step.run`` the moment it meets it (the usual call), the
job says so (``execute_first``: ``ANY_NEW_STEP`` or the one hashed step id a targeted call
runs); the worker then runs that step's callback at once, without waiting for ``execute``::

                                    ◀──       step {kind: run, id, executing: true}
                                    ◀──       capability ... / callback_done {output}

That saves a round trip per call and changes no power: a callback's effects all go through
capability calls, which the sidecar serves only inside the SDK's own run of the step.

The sidecar may let a job go but keep its handler, waiting at the step it just ran or asked for
(``warm.py``); the run's next call then continues it instead of starting over, and the answer
to that step is all the worker gets::

    abandon {park: run_id, evict: [run_id...]}  ──▶   parks the handler (drops those evicted)
                                    ◀──       parked   (or abandoned: it could not be kept)
    ...
    resume {run_id, cpu_seconds, execute_first, steps} ──▶  wakes the parked handler
    memo {value} | step_error       ──▶       the step it waited at returns
                                    ◀──       step ... (as in any job)

A ``start`` job may name parked runs to ``drop`` first (stale: the run went on elsewhere).

``step_error`` answers a step whose memo is an error (``skill.StepError`` in the skill). The
worker sends ``log`` lines at any time. It announces itself with ``ready`` once imported.
A job names its version by content hash; a worker that has not loaded that version yet asks
for it (``need_source``) and gets its source and manifest (``source``), once per version.

The sidecar never trusts what a worker says: every request is checked again on the sidecar's
side (step ids, events, invoke targets, capability grants), and a worker that breaks the
protocol, exceeds a limit or stays silent past its deadline is killed.
"""

from __future__ import annotations

import json
import os
import select
import time
from typing import Any

#: Largest message either side accepts (a 4 MiB step output, JSON-escaped, fits).
MAX_MESSAGE_BYTES = 16 * 1024 * 1024

Message = dict[str, Any]

#: ``execute_first`` of a job: the SDK runs whichever new ``step.run`` comes first.
ANY_NEW_STEP = "*"


class ChannelError(Exception):
    """The worker cannot be talked to any more; it must be killed."""


class ChannelClosed(ChannelError):
    """The worker's end is gone (it exited or was killed)."""


class ChannelTimeout(ChannelError):
    """The worker said nothing before the deadline."""


class ProtocolError(ChannelError):
    """The worker sent something that is not a message of the protocol."""


def encode(message: Message) -> bytes:
    return json.dumps(message, separators=(",", ":"), allow_nan=False).encode() + b"\n"


class Channel:
    """The sidecar's end: non-blocking pipes, every read and write under a deadline."""

    def __init__(self, write_fd: int, read_fd: int) -> None:
        self._out = write_fd
        self._in = read_fd
        os.set_blocking(write_fd, False)
        os.set_blocking(read_fd, False)
        self._buffer = bytearray()

    def send(self, message: Message, timeout: float) -> None:
        data = memoryview(encode(message))
        deadline = time.monotonic() + timeout
        while data:
            try:
                written = os.write(self._out, data)
            except BlockingIOError:
                written = 0
            except (BrokenPipeError, OSError) as err:
                raise ChannelClosed(f"worker pipe closed: {err}") from None
            data = data[written:]
            if data and not select.select([], [self._out], [], _left(deadline))[1]:
                raise ChannelTimeout("the worker stopped reading")

    def recv(self, timeout: float) -> Message:
        deadline = time.monotonic() + timeout
        while True:
            end = self._buffer.find(b"\n")
            if end >= 0:
                line = bytes(self._buffer[:end])
                del self._buffer[: end + 1]
                return _decode(line)
            if len(self._buffer) > MAX_MESSAGE_BYTES:
                raise ProtocolError(f"a worker message exceeded {MAX_MESSAGE_BYTES} bytes")
            # Read first, wait only when nothing is there: the answer is often already in the
            # pipe (the worker ran while this thread was writing), and every system call of
            # this thread may have to win the GIL back from the event loop's thread.
            try:
                chunk = os.read(self._in, 1 << 20)
            except BlockingIOError:
                if not select.select([self._in], [], [], _left(deadline))[0]:
                    raise ChannelTimeout("the worker did not answer in time") from None
                continue
            except OSError as err:
                raise ChannelClosed(f"worker pipe closed: {err}") from None
            if not chunk:
                raise ChannelClosed("the worker exited")
            self._buffer += chunk


def _left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise ChannelTimeout("deadline passed")
    return left


def _decode(line: bytes) -> Message:
    try:
        message = json.loads(line)
    except ValueError:
        raise ProtocolError(f"not JSON: {line[:200]!r}") from None
    if not isinstance(message, dict) or not isinstance(message.get("op"), str):
        raise ProtocolError(f"not a message: {line[:200]!r}")
    return message
