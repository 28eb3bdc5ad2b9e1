"""The worker conversation at its two ends, without a process: the sidecar's ``Channel`` over a
pipe, and the worker's step backend ending a job on its own once it ran a step's callback."""

from __future__ import annotations

import contextlib
import io
import json
import os
import time
from collections.abc import Iterator

import pytest

from sidecar.workers.protocol import (
    ANY_NEW_STEP,
    Channel,
    ChannelClosed,
    ChannelTimeout,
    Message,
    encode,
)
from sidecar.workers.remote import Abandoned, RemoteStepBackend, WorkerChannel


@pytest.fixture
def pipes() -> Iterator[tuple[Channel, int, int]]:
    """(the sidecar's channel, the worker's write end, the worker's read end)."""
    to_worker_r, to_worker_w = os.pipe()
    from_worker_r, from_worker_w = os.pipe()
    channel = Channel(to_worker_w, from_worker_r)
    yield channel, from_worker_w, to_worker_r
    for fd in (to_worker_r, to_worker_w, from_worker_r, from_worker_w):
        with contextlib.suppress(OSError):
            os.close(fd)


def test_a_message_already_in_the_pipe_is_read_without_waiting(pipes: tuple) -> None:
    channel, worker_out, _ = pipes
    os.write(worker_out, encode({"op": "step", "id": "a"}) + encode({"op": "callback_done"}))
    assert channel.recv(5)["op"] == "step"
    assert channel.recv(5)["op"] == "callback_done"


def test_a_message_in_pieces_is_put_together(pipes: tuple) -> None:
    channel, worker_out, _ = pipes
    line = encode({"op": "done", "output": "x" * 1000})
    os.write(worker_out, line[:10])
    os.write(worker_out, line[10:])
    assert channel.recv(5) == {"op": "done", "output": "x" * 1000}


def test_a_silent_worker_times_out_and_a_gone_one_is_closed(pipes: tuple) -> None:
    channel, worker_out, _ = pipes
    started = time.monotonic()
    with pytest.raises(ChannelTimeout):
        channel.recv(0.2)
    assert 0.15 < time.monotonic() - started < 2
    os.write(worker_out, b'{"op": "ha')  # half a message, then the worker exits
    os.close(worker_out)
    with pytest.raises(ChannelClosed):
        channel.recv(5)


class _Recorded(WorkerChannel):
    """A worker channel whose sidecar end is a list (what was sent) and a script (answers)."""

    def __init__(self, answers: list[Message]) -> None:
        super().__init__(io.BytesIO(b"".join(encode(a) for a in answers)), io.BytesIO())

    def sent(self) -> list[Message]:
        raw = self._writer.getvalue()  # type: ignore[attr-defined]
        return [json.loads(line) for line in raw.splitlines()]


@pytest.mark.parametrize("asked", [False, True])
def test_after_running_a_callback_the_worker_waits_for_the_sidecars_word(asked: bool) -> None:
    # Asked: the sidecar says ``execute``; else the job let the first new step run at once.
    # The sidecar then lets the job go (``abandon``) or keeps the handler parked (``warm.py``).
    channel = _Recorded(([{"op": "execute"}] if asked else []) + [{"op": "abandon"}])
    backend = RemoteStepBackend(channel, "x.py", {}, execute_first=None if asked else ANY_NEW_STEP)
    with pytest.raises(Abandoned):
        backend.run("a", lambda: 41 + 1)
    assert backend.abandoned
    sent = [{k: v for k, v in m.items() if k != "cpu"} for m in channel.sent()]
    step = {"op": "step", "kind": "run", "id": "a", **({} if asked else {"executing": True})}
    assert sent[0] == step and {"op": "callback_done", "output": 42} in sent
    with pytest.raises(Abandoned):  # skill code that swallowed it gets no further step
        backend.run("b", lambda: 1)


def test_a_memo_still_answers_without_ending_the_job() -> None:
    channel = _Recorded([{"op": "memo", "value": 7}])
    backend = RemoteStepBackend(channel, "x.py", {})
    assert backend.run("a", lambda: 1) == 7
    assert not backend.abandoned
