"""Live runs: the in-memory view of a run that has work in flight.

A run is loaded from SQLite when one of its queue items comes due and is dropped
from memory as soon as nothing of it is queued or in flight, so a sleeping or
waiting run costs rows on disk, not objects in memory.

The request body is assembled from pre-serialised fragments (one per memo), so the
engine never re-encodes earlier step outputs: its own work per step stays flat as a
run grows; only the copy of the bytes it sends grows, as the protocol requires.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import sqlite3
from typing import Any

from . import jsonio
from .store import Database

MAX_REQUEST_BYTES = 4 * 1024 * 1024


@dataclasses.dataclass
class RunState:
    run_id: str
    fn_uuid: str
    slug: str
    status: str
    events: list[dict[str, Any]]
    keys: list[tuple[str, int]]
    priority: int
    pending: set[str]
    memos: dict[str, bytes] = dataclasses.field(default_factory=dict)
    stack: list[str] = dataclasses.field(default_factory=list)
    scheduled: set[str] = dataclasses.field(default_factory=set)
    race: set[str] = dataclasses.field(default_factory=set)
    step_count: int = 0
    state_bytes: int = 0
    in_flight: int = 0
    busy: int = 0
    discovery_waiting: bool = False
    begun: bool = False
    event_json: bytes = b""
    events_json: bytes = b""
    lock: asyncio.Lock = dataclasses.field(default_factory=asyncio.Lock, repr=False)
    _steps_blob: bytearray = dataclasses.field(default_factory=bytearray, repr=False)
    _stack_blob: bytearray = dataclasses.field(default_factory=bytearray, repr=False)

    def __post_init__(self) -> None:
        self.event_json = jsonio.dumpb(self.events[0])
        self.events_json = jsonio.dumpb(self.events)

    @property
    def idle(self) -> bool:
        return self.busy == 0 and self.in_flight == 0

    def add_memo(self, step_id: str, memo_json: bytes) -> None:
        fragment = b'"' + step_id.encode() + b'":' + memo_json
        previous = self.memos.get(step_id)
        self.memos[step_id] = fragment
        self.scheduled.discard(step_id)
        if previous is None:
            self.stack.append(step_id)
            self.step_count += 1
            self.state_bytes += len(memo_json)
            # Append-only blobs: the next request copies them once instead of re-joining
            # or re-encoding every earlier memo and stack entry.
            sep = b"," if self._steps_blob else b""
            self._steps_blob += sep + fragment
            self._stack_blob += sep + b'"' + step_id.encode() + b'"'
        elif previous != fragment:
            self._steps_blob = bytearray(b",".join(self.memos.values()))

    def memo_map(self) -> dict[str, Any]:
        memos: dict[str, Any] = jsonio.loads(b"{" + b",".join(self.memos.values()) + b"}")
        return memos

    def request_body(
        self,
        *,
        step_id: str,
        attempt: int,
        max_attempts: int,
        disable_immediate: bool,
        qi_id: str = "",
        with_stack: bool = True,
    ) -> bytes:
        """The call body (protocol 4.1). `with_stack=False` sends `ctx.stack` as `{}`, which
        the Python SDK accepts and ignores (other SDKs read the stack), unless `use_api` leaves
        the memos out of the body."""
        use_api = len(self._steps_blob) + len(self.events_json) > MAX_REQUEST_BYTES
        head = jsonio.dumpb(
            {
                "run_id": self.run_id,
                "attempt": attempt,
                "max_attempts": max_attempts,
                "disable_immediate_execution": disable_immediate,
                "use_api": use_api,
                "fn_id": self.fn_uuid,
                "qi_id": qi_id,
                "step_id": step_id,
                "env": "",
            }
        )
        if with_stack or use_api:  # with use_api the stack is all the body says of progress
            stack = (
                b',"stack":{"stack":[' + self._stack_blob + b'],"current":%d}}' % len(self.stack)
            )
        else:
            stack = b',"stack":{}}'

        ctx = head[:-1] + stack
        steps: bytes | bytearray = b"" if use_api else self._steps_blob
        events = b"[]" if use_api else self.events_json
        flag = b"true" if use_api else b"false"
        return b"".join(
            (
                b'{"event":',
                self.event_json,
                b',"events":',
                events,
                b',"steps":{',
                steps,
                b'},"ctx":',
                ctx,
                b',"use_api":',
                flag,
                b',"version":2}',
            )
        )


class LiveRuns:
    """The cache of live runs, with single-flight loading from the database."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._runs: dict[str, RunState] = {}
        self._loading: dict[str, asyncio.Future[RunState | None]] = {}
        # Calls dispatched but not yet picked up, per run: a run between two calls is not
        # idle, and evicting it would make the next call reload every memo from disk.
        self._expected: collections.Counter[str] = collections.Counter()

    def __len__(self) -> int:
        return len(self._runs)

    def cached(self, run_id: str) -> RunState | None:
        return self._runs.get(run_id)

    async def get(self, run_id: str) -> RunState | None:
        run = self._runs.get(run_id)
        if run is not None:
            return run
        pending = self._loading.get(run_id)
        if pending is not None:
            return await pending
        fut: asyncio.Future[RunState | None] = asyncio.get_running_loop().create_future()
        self._loading[run_id] = fut
        try:
            run = await self._db.read(lambda conn: load_run(conn, run_id))
            if run is not None and run.status == "Running":
                self._runs.setdefault(run_id, run)
                run = self._runs[run_id]
            fut.set_result(run)
            return run
        except BaseException as exc:
            fut.set_exception(exc)
            raise
        finally:
            del self._loading[run_id]

    def expect_call(self, run_id: str) -> None:
        self._expected[run_id] += 1

    def call_started(self, run_id: str) -> None:
        if self._expected[run_id] > 1:
            self._expected[run_id] -= 1
        else:
            self._expected.pop(run_id, None)

    def evict_if_idle(self, run: RunState) -> None:
        # Counter lookups of a missing key answer 0 without inserting it.
        if run.idle and not self._expected[run.run_id] and self._runs.get(run.run_id) is run:
            del self._runs[run.run_id]

    def adopt(self, run: RunState) -> None:
        """Cache a run that was just created, saving the first call a database read."""
        self._runs.setdefault(run.run_id, run)

    def drop(self, run_id: str, status: str) -> None:
        run = self._runs.pop(run_id, None)
        if run is not None:
            run.status = status


def load_run(conn: sqlite3.Connection, run_id: str) -> RunState | None:
    row = conn.execute(
        "SELECT function_id, slug, status, events, keys, pending, first_call_at"
        " FROM runs WHERE run_id = ?",
        (run_id,),
    ).fetchone()
    if row is None:
        return None
    fn_uuid, slug, status, events, keys_text, pending, first_call_at = row
    keys = jsonio.loads(keys_text)
    run = RunState(
        run_id=run_id,
        fn_uuid=fn_uuid,
        slug=slug,
        status=status,
        events=jsonio.loads(events),
        keys=[(k, int(limit)) for k, limit in keys.get("c", [])],
        priority=int(keys.get("p", 0)),
        pending=set(jsonio.loads(pending)),
        begun=first_call_at is not None,
    )
    for step_id, done, memo, kind, opts in conn.execute(
        "SELECT step_id, done, memo, kind, opts FROM steps WHERE run_id = ? ORDER BY done DESC, seq",
        (run_id,),
    ):
        if done:
            run.add_memo(step_id, memo.encode())
        elif kind != "run":  # a sleep, wait or invoke still pending
            run.scheduled.add(step_id)
        if opts and '"race"' in opts:
            run.race.add(step_id)
    # A step.run is scheduled only while its targeted call is queued; a step that failed
    # inside a discovery call has a row but no call of its own, and must be planned again.
    run.scheduled.update(
        sid
        for (sid,) in conn.execute(
            "SELECT step_id FROM queue WHERE run_id = ? AND kind = 'call' AND step_id != 'step'",
            (run_id,),
        )
    )
    run.discovery_waiting = (
        conn.execute(
            "SELECT 1 FROM queue WHERE run_id = ? AND kind = 'call' AND step_id = 'step'",
            (run_id,),
        ).fetchone()
        is not None
    )
    return run
