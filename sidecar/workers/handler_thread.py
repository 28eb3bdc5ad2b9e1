"""Inside a worker: one run's handler in a thread of its own, so it can wait parked between calls.

The handler talks to the sidecar itself (``remote.RemoteStepBackend``) while it runs; the
worker's main thread only waits for it to *yield*: it ended (it sent ``done``, ``failed`` or
``abandoned``), or it was told to let the job go while waiting for a step's answer and asked to
be kept (``abandon`` with ``park``). A parked handler blocks in ``park`` until the main thread
resumes it (the run's next call: the step's answer is the next message it reads) or drops it
(it then unwinds with ``Abandoned``, as an abandoned job does, and tells the sidecar nothing).

Only one thread reads or writes the pipe at a time: the main thread while every handler is
parked or ended, else the one running handler.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from .protocol import Message

RUNNING, PARKED, ENDED = "running", "parked", "ended"


class HandlerThread:
    def __init__(self, body: Callable[[HandlerThread], None]) -> None:
        self._turn = threading.Condition()
        self._state = RUNNING
        #: Set when the main thread drops the parked handler: it must unwind, silently.
        self.dropped = False
        #: The ``abandon`` message that parked it (which runs to evict along the way).
        self.park_request: Message = {}
        self._thread = threading.Thread(target=self._main, args=(body,), daemon=True)

    def start(self) -> str:
        """Run the handler until it parks or ends: ``PARKED`` or ``ENDED``."""
        self._thread.start()
        return self._wait_yield()

    def resume(self) -> str:
        """Let the parked handler go on (its step's answer is on the pipe) until it yields."""
        with self._turn:
            self._state = RUNNING
            self._turn.notify_all()
        return self._wait_yield()

    def drop(self) -> None:
        """Make the parked handler unwind, and wait until it did."""
        self.dropped = True
        self.resume()  # its backend is abandoned from now on: it cannot park again

    # --- in the handler's thread ----------------------------------------------------------

    def park(self, request: Message) -> bool:
        """Wait here until resumed (True) or dropped (False: the caller unwinds)."""
        with self._turn:
            self.park_request = request
            self._state = PARKED
            self._turn.notify_all()
            while self._state == PARKED:
                self._turn.wait()
        return not self.dropped

    def _main(self, body: Callable[[HandlerThread], None]) -> None:
        try:
            body(self)
        finally:
            with self._turn:
                self._state = ENDED
                self._turn.notify_all()

    def _wait_yield(self) -> str:
        with self._turn:
            while self._state == RUNNING:
                self._turn.wait()
            return self._state
