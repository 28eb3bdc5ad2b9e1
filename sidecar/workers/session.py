"""One SDK call of one skill function, driven through a worker.

Runs in the SDK's thread (the sidecar's inngest functions are synchronous). The worker runs
the skill's handler; every step it reaches comes back here and becomes the *real* step call
on the SDK's context:

* ``ctx.step.run(id, callback)``: when the SDK has a memo it returns it without calling the
  callback, and the memo goes back to the worker. When the SDK wants the step executed it
  calls the callback, which tells the worker to run the skill's callback (serving its
  capability calls meanwhile) and returns its JSON; the SDK then raises its interrupt (a
  ``BaseException``) to end the request. It propagates untouched; the worker is told to
  abandon the handler and goes back to the pool.
* sleep / sleep_until / wait_for_event / send_event / invoke: the same, without a callback.
* ``inngest.StepError`` (the memo of a failed step) goes back as ``skill.StepError``.
* A shadow run (``effects`` given, see ``sidecar/capabilities/shadow.py``) sends no event and
  invokes nothing: each send_event / invoke becomes a ``step.run`` of the same id that records
  it, so the record is memoized like any step and made once.

The worker is untrusted: step ids, events, invoke targets and capability calls are checked
again here against the registered manifest. A worker that breaks the protocol, a limit or a
deadline is killed and the run fails with the rule id of what happened.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import re
import time
from collections.abc import Callable
from typing import Any, Protocol

import inngest

from sidecar.facade import scope
from sidecar.facade.capabilities import Capabilities
from sidecar.facade.errors import SkillViolation
from sidecar.facade.events import RESERVED_EMIT_PREFIXES, SOURCE_KEY, event_name_problem
from sidecar.facade.limits import MAX_EVENTS_PER_SEND, MAX_SLEEP_MS
from sidecar.facade.payload import JSON, to_json_value
from sidecar.facade.steps import PIN_STEP_ID, STEP_ID_PATTERN, label_problem
from sidecar.validation import Manifest

from .budget import BudgetExceeded, RunBudgets
from .gateway import CapabilityGateway
from .memos import MemoReplay, executes_first_new_run, is_first_call
from .pool import Release
from .process import WorkerProcess
from .protocol import ANY_NEW_STEP, ChannelError, ChannelTimeout, Message
from .remote import hashed_step_id
from .warm import CALLBACK_FAILED, NOTHING, ParkedRun, is_interrupt

log = logging.getLogger("loopwright.sidecar.runs")

#: Log lines one SDK call may write (a loop of ctx.log must not flood the sidecar's log).
MAX_LOGS_PER_CALL = 200
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_ERROR_TYPES: dict[str, type[Exception]] = {}


@dataclasses.dataclass(frozen=True)
class Job:
    """What to run: one function of one pinned version, for one SDK call."""

    skill_id: str
    version: int
    content_hash: str
    filename: str
    source: str
    fn_id: str
    #: Run the function's ``on_failure`` handler instead of its handler.
    failure: bool
    manifest: Manifest
    #: The app whose functions ``ctx.step.invoke`` reaches.
    app_id: str


class Effects(Protocol):
    """Records a shadow run's events and invocations instead of performing them."""

    def events(self, step_id: str, events: list[JSON]) -> list[str]: ...

    def invoke(self, step_id: str, function_id: str, data: JSON) -> None: ...


class WorkerBroken(Exception):
    """The worker must be killed; the run fails with ``rule``."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule


class Session:
    def __init__(
        self,
        worker: WorkerProcess,
        ctx: inngest.ContextSync,
        job: Job,
        capabilities: Capabilities,
        cpu_seconds: int,
        budgets: RunBudgets | None = None,
        effects: Effects | None = None,
        label_step: Callable[[str, str], None] | None = None,
    ) -> None:
        self.worker = worker
        self.effects = effects
        #: Where a step's label goes (the run ledger's step name); the caller wires it, as
        #: this module also loads inside the workers' sandbox, which has no platform code.
        self.label_step = label_step
        self.ctx = ctx
        self.job = job
        self.gateway = CapabilityGateway(capabilities)
        self.cpu_seconds = cpu_seconds
        self.budgets = budgets or RunBudgets()
        #: CPU seconds the run has left, as ``check_call`` read it (the usage is in the store:
        #: one read per call, not two).
        self._cpu_left: float | None = None
        self.finished = False
        self.broken = False
        self.recycle = False
        self._seen: dict[str, int] = {}
        self._steps = 0
        self._memo_keys: set[str] = set()
        self._memos: MemoReplay | None = None
        #: What the job let the worker run without asking (``protocol``), until its first step.
        self._execute_first: str | None = None
        self._step_errors: dict[str, inngest.StepError] = {}
        self._logs = 0
        #: The keys of the memos this call held (None: the worker cannot be kept warm).
        self._call_keys: set[str] | None = None
        #: What the worker's run of the step being served returned (see ``warm.py``).
        self._produced: JSON | object = NOTHING
        #: A run the worker holds parked that this call does not continue: dropped at start.
        self._stale: str | None = None

    def release_mode(self) -> Release:
        """How to give the worker back once ``run`` returned or raised."""
        if self.broken or self.recycle:
            return Release.KILL
        return Release.CLEAN if self.finished else Release.ABANDON

    def run(self) -> JSON:
        run_id = self.ctx.run_id
        try:
            first = is_first_call(self.ctx)  # then the run has spent nothing anywhere yet
            self._cpu_left = self.budgets.check_call(run_id, first=first)
        except BudgetExceeded as err:
            raise inngest.NonRetriableError(f"[{err.rule}] {err}") from None
        started, thread_cpu, worker_cpu = time.monotonic(), time.thread_time(), self.worker.cpu
        try:
            return self._run()
        except WorkerBroken as err:
            self.broken = True
            raise inngest.NonRetriableError(f"[{err.rule}] {err}") from None
        finally:
            cpu = time.thread_time() - thread_cpu + max(0.0, self.worker.cpu - worker_cpu)
            self.budgets.add_call(run_id, time.monotonic() - started, cpu)
            if self.finished or self.broken:
                self.budgets.finish(run_id)

    def _run(self) -> JSON:
        if not self._resume():
            start = self._start_message()
            if self._stale is not None:
                start["drop"] = [self._stale]
            self._send({"op": "start", "job": start})
            self.worker.runs += 1
        while True:
            message = self._recv()
            self._replay(message.get("replayed"))
            op = message["op"]
            if op == "step":
                self._step(message)
            elif op == "log":
                self._log(message)
            elif op == "need_source":
                manifest = self.job.manifest.model_dump(mode="json")
                self._send({"op": "source", "source": self.job.source, "manifest": manifest})
            elif op == "done":
                self.finished = True
                return self._json(message.get("output"), "the function's return value")
            elif op == "failed":
                self.finished = True
                self.recycle = bool(message.get("recycle"))
                raise self._failure(message)
            else:
                raise WorkerBroken("step-misuse", f"unexpected message {op!r} from the worker")

    def _start_message(self) -> Message:
        job = self.job
        # The worker answers steps that have a memo itself; see ``_replay``.
        self._memos = MemoReplay.attach(self.ctx)
        memos = self._memos.as_json() if self._memos else None
        memo_json = memos or {}
        self._memo_keys = set(memo_json)
        self._call_keys = set(self._memo_keys) if memos is not None else None
        # Only when the worker holds every memo: its first step without one is then the
        # SDK's first new step too.
        self._execute_first = executes_first_new_run(self.ctx) if memos is not None else None
        cpu = self._cpu_allowance()
        return {
            "skill_id": job.skill_id,
            "version": job.version,
            "content_hash": job.content_hash,
            "filename": job.filename,
            "fn_id": job.fn_id,
            "failure": job.failure,
            "events": [_event_json(e) for e in self.ctx.events] or [_event_json(self.ctx.event)],
            "run_id": self.ctx.run_id,
            "attempt": self.ctx.attempt,
            "cpu_seconds": cpu,
            "memos": memo_json,
            "execute_first": self._execute_first,
        }

    def _resume(self) -> bool:
        """Continue the run's handler parked in this worker, if this call is exactly its next.

        The SDK skips the memos the worker already had in one go; the worker gets only the
        answer to the step its handler waits at (``_step`` of that request, as it was sent).
        """
        parked = self.worker.warm.take(self.ctx.run_id)
        if parked is None:
            return False
        self._memos = MemoReplay.attach(self.ctx)
        if self._memos is None or not parked.continues(self._code(), self.ctx.attempt, self._memos):
            self._stale = parked.run_id
            return False
        self._memos.skip(parked.seen, parked.pending_key)
        self._seen, self._steps = parked.seen, parked.steps
        self._step_errors = parked.step_errors
        self._memo_keys = {parked.pending_key}
        parked.keys.add(parked.pending_key)
        self._call_keys = parked.keys
        first = executes_first_new_run(self.ctx)
        self._send({"op": "resume", "run_id": parked.run_id, "cpu_seconds": self._cpu_allowance(),
                    "execute_first": first, "steps": parked.steps + 1})  # fmt: skip
        self._step(parked.pending)
        self._execute_first = first  # for the handler's next step, not the one answered here
        return True

    def _code(self) -> tuple[str, str, bool]:
        return (self.job.content_hash, self.job.fn_id, self.job.failure)

    def _park(self, message: Message, unique: str) -> None:
        """The SDK ended the request at this step: the worker may keep the handler waiting."""
        if self._call_keys is None or self.broken or self._produced is CALLBACK_FAILED:
            return
        self.worker.warm.offer(
            ParkedRun.at_interrupt(
                run_id=self.ctx.run_id,
                code=self._code(),
                attempt=self.ctx.attempt,
                keys=self._call_keys,
                keys_raw=self._memos.call_raw if self._memos is not None else None,
                seen=self._seen,
                steps=self._steps,
                step_errors=self._step_errors,
                pending=message,
                unique=unique,
                produced=self._produced,
            )
        )

    def _cpu_allowance(self) -> int:
        """CPU seconds for this call: a run whose budget is nearly spent gets what is left."""
        left = self._cpu_left
        if left is None:  # not started by ``run`` (which already read the usage once)
            left = self.budgets.cpu_left(self.ctx.run_id)
        return min(self.cpu_seconds, max(1, int(left) + 1))

    def _replay(self, replayed: object) -> None:
        """Replay on the SDK the steps the worker answered from memos, in the worker's order.

        Each must have had a memo (else the worker is lying about the run); the SDK returns the
        memo without running anything, which keeps its step counter, its memo bookkeeping and
        its logger exactly where they would be had each step made the round trip.
        """
        if replayed is None:
            return
        if not isinstance(replayed, list):
            raise WorkerBroken("step-misuse", "replayed steps must be a list")
        for step_id in replayed:
            unique = self._unique(step_id)
            key = hashed_step_id(unique)
            if key not in self._memo_keys:
                raise WorkerBroken("step-misuse", f"step {unique!r} was replayed without a memo")
            self._memo_keys.discard(key)
            if self._memos is not None:
                error = self._memos.replay(step_id, key)
            else:
                try:
                    self.ctx.step.run(step_id, _no_memo)
                    error = None
                except inngest.StepError as err:
                    error = err
            if error is not None:
                self._step_errors[error.name + ":" + error.message] = error

    def _unique(self, step_id: object) -> str:
        """The SDK's id for this use of ``step_id`` (``id``, ``id:1``…); counts the run's steps."""
        if not isinstance(step_id, str) or not STEP_ID_PATTERN.match(step_id):
            raise WorkerBroken("step-misuse", f"invalid step id {step_id!r}")
        if step_id == PIN_STEP_ID:  # the facade refuses it: only a lying worker sends it
            raise WorkerBroken("step-misuse", f"step id {step_id!r} is the platform's own")
        self._steps += 1
        limit = self.budgets.limits.max_steps
        if self._steps > limit:
            raise WorkerBroken(
                "runtime-step-limit",
                f"the run reached {limit} steps (setting run_limits.max_steps); split the work "
                "into fewer, larger steps or into several runs",
            )
        n = self._seen.get(step_id, 0)
        self._seen[step_id] = n + 1
        return step_id if n == 0 else f"{step_id}:{n}"

    # --- steps --------------------------------------------------------------------------

    def _step(self, message: Message) -> None:
        step_id = message.get("id")
        unique = self._unique(step_id)
        assert isinstance(step_id, str)
        key = hashed_step_id(unique)
        fresh = key not in self._memo_keys
        self._memo_keys.discard(key)
        kind = message.get("kind")
        offered, self._execute_first = self._execute_first, None
        executing = message.get("executing") is True
        if executing and not (kind == "run" and fresh and offered in (ANY_NEW_STEP, key)):
            raise WorkerBroken("step-misuse", f"step {unique!r} was run without being asked")
        step = self.ctx.step
        self._produced = NOTHING
        try:
            if kind == "run":
                self._label(unique, message)
                value = step.run(step_id, self._callback(step_id, unique, ask=not executing))
                if executing:  # the SDK answered instead of running it: the worker is running it
                    self.broken = True
                    raise RuntimeError(f"the SDK did not run step {unique!r} the worker started")
            elif kind == "sleep":
                step.sleep(step_id, _duration(message.get("duration_ms")))
                value = None
            elif kind == "sleep_until":
                step.sleep_until(step_id, _instant(message.get("until")))
                value = None
            elif kind == "wait_for_event":
                value = self._wait_for_event(step_id, message)
            elif kind == "send_event" and self.effects is not None:
                value = self._record_events(step_id, unique, self._outgoing(message.get("events")))
            elif kind == "send_event":
                outgoing = self._outgoing(message.get("events"))
                if fresh:  # a memo means the events were sent by an earlier call
                    self._count_events(len(outgoing))
                value = step.send_event(step_id, outgoing)
            elif kind == "invoke":
                value = self._invoke(step_id, unique, message)
            else:
                raise WorkerBroken("step-misuse", f"unknown step kind {kind!r}")
        except inngest.StepError as err:
            self._step_errors[err.name + ":" + err.message] = err
            self._send({"op": "step_error", "name": err.name, "message": err.message})
            return
        except (ValueError, TypeError) as err:
            raise WorkerBroken("step-misuse", f"step {step_id!r}: {err}") from None
        except BaseException as err:
            if is_interrupt(err):
                self._park(message, unique)
            raise
        self._send({"op": "memo", "value": value})

    def _label(self, unique: str, message: Message) -> None:
        """Give the run ledger the step's label (``ctx.step.run(..., label=...)``), checked."""
        label = message.get("label")
        if label is None:
            return
        problem = label_problem(label)
        if problem:
            raise WorkerBroken("step-misuse", f"step {unique!r}: {problem}")
        if self.label_step is not None:
            self.label_step(unique, str(label))

    def _callback(self, step_id: str, unique: str, *, ask: bool) -> Callable[[], JSON]:
        def execute() -> JSON:
            try:
                return self._execute(step_id, unique, ask=ask)
            except WorkerBroken as err:
                # Inside a step a plain exception would be retried as a step error.
                self.broken = True
                raise inngest.NonRetriableError(f"[{err.rule}] {err}") from None

        return execute

    def _execute(self, step_id: str, unique: str, *, ask: bool) -> JSON:
        self._produced = CALLBACK_FAILED  # until the worker says ``callback_done``
        if ask:  # else the worker started on its own, as the job allowed
            self._send({"op": "execute"})
        # The capability gates derive idempotency keys from this scope.
        with scope.inside_step(self.ctx.run_id, unique):
            while True:
                message = self._recv()
                if message.get("replayed"):
                    raise WorkerBroken("step-misuse", "a step callback cannot replay steps")
                op = message["op"]
                if op == "capability":
                    self._send(self.gateway.serve(message))
                elif op == "log":
                    self._log(message)
                elif op == "callback_done":
                    output = self._json(message.get("output"), f"the output of step {step_id!r}")
                    self._produced = output
                    return output
                elif op == "callback_error":
                    raise _skill_error(message)
                elif op == "callback_failed":
                    self.recycle = bool(message.get("recycle"))
                    raise self._failure(message)
                else:
                    raise WorkerBroken("step-misuse", f"unexpected message {op!r} in a step")

    def _wait_for_event(self, step_id: str, message: Message) -> JSON:
        event = message.get("event")
        if event_name_problem(event):
            raise ValueError(f"invalid event name {event!r}")
        if_exp = message.get("if_exp")
        if if_exp is not None and not isinstance(if_exp, str):
            raise ValueError("if_exp must be a string")
        found = self.ctx.step.wait_for_event(
            step_id, event=str(event), if_exp=if_exp, timeout=_duration(message.get("timeout_ms"))
        )
        return None if found is None else _event_json(found)

    def _outgoing(self, events: object) -> list[inngest.Event]:
        if not isinstance(events, list) or not 1 <= len(events) <= MAX_EVENTS_PER_SEND:
            raise ValueError(f"send between 1 and {MAX_EVENTS_PER_SEND} events")
        manifest = self.job.manifest
        out = []
        for raw in events:
            name = raw.get("name") if isinstance(raw, dict) else None
            if (
                not isinstance(name, str)
                or name not in manifest.emits
                or name.startswith(RESERVED_EMIT_PREFIXES)
                or not (name.startswith(f"{manifest.id}/") or name in manifest.emit_grants)
            ):
                raise WorkerBroken("runtime-emit-undeclared", f"sending {name!r} is not declared")
            data = raw.get("data") or {}
            if not isinstance(data, dict):
                raise ValueError("event data must be an object")
            # The sender's identity, set here whatever the worker put there.
            source = {"skill": self.job.skill_id, "version": self.job.version,
                      "run_id": self.ctx.run_id}  # fmt: skip
            data = {**data, SOURCE_KEY: source}
            extra = {k: raw[k] for k in ("id", "ts") if raw.get(k) is not None}
            out.append(inngest.Event(name=name, data=data, **extra))
        return out

    def _count_events(self, count: int) -> None:
        try:
            self.budgets.send_events(self.job.skill_id, self.ctx.run_id, count)
        except BudgetExceeded as err:
            raise WorkerBroken(err.rule, str(err)) from None

    def _record_events(self, step_id: str, unique: str, outgoing: list[inngest.Event]) -> JSON:
        effects = self.effects
        assert effects is not None
        sent: list[JSON] = [_event_json(e) for e in outgoing]
        ids: JSON = self.ctx.step.run(step_id, lambda: list(effects.events(unique, sent)))
        return ids

    def _invoke(self, step_id: str, unique: str, message: Message) -> JSON:
        function_id = message.get("function_id")
        if not isinstance(function_id, str) or function_id not in self.job.manifest.invokes:
            raise WorkerBroken(
                "runtime-emit-undeclared", f"invoking {function_id!r} is not declared"
            )
        data = message.get("data")
        if data is not None and not isinstance(data, dict):
            raise ValueError("invoke data must be an object")
        timeout_ms = message.get("timeout_ms")
        effects = self.effects
        if effects is not None:  # a shadow run: recorded, answered as a timeout
            return self.ctx.step.run(step_id, lambda: effects.invoke(unique, function_id, data))
        result: JSON = self.ctx.step.invoke_by_id(
            step_id,
            app_id=self.job.app_id,
            function_id=function_id,
            data=data,
            timeout=None if timeout_ms is None else _duration(timeout_ms),
        )
        return result

    # --- failures and plumbing ----------------------------------------------------------

    def _failure(self, message: Message) -> BaseException:
        kind = message.get("kind")
        text = str(message.get("message", ""))
        where = f" (at {self.job.filename}:{message['line']})" if message.get("line") else ""
        if kind == "non_retriable":
            return inngest.NonRetriableError(text)
        if kind == "retry_after":
            return inngest.RetryAfterError(text, _retry_after(message.get("retry_after")))
        if kind == "step_error":
            key = f"{message.get('name')}:{text}"
            if key in self._step_errors:  # the SDK's own StepError, re-raised as the SDK would
                return self._step_errors[key]
            return inngest.NonRetriableError(f"{message.get('name')}: {text}")
        if kind == "violation":
            return inngest.NonRetriableError(f"[{message.get('code')}] {text}{where}")
        return _skill_error({"name": message.get("name"), "message": text + where})

    def _json(self, value: JSON, what: str) -> JSON:
        try:
            return to_json_value(value, what)
        except SkillViolation as err:
            raise WorkerBroken(err.code, err.message) from None

    def _log(self, message: Message) -> None:
        self._logs += 1
        if self._logs > MAX_LOGS_PER_CALL:
            if self._logs == MAX_LOGS_PER_CALL + 1:
                self.ctx.logger.warning("[%s] further log lines dropped", self.job.skill_id)
            return
        fields = message.get("fields") or {}
        self.ctx.logger.info(
            "[%s v%d] %s %s", self.job.skill_id, self.job.version, message.get("message"), fields
        )

    def _send(self, message: Message) -> None:
        try:
            self.worker.send(message)
        except ChannelError as err:
            raise self._death(err) from None

    def _recv(self) -> Message:
        try:
            return self.worker.recv()
        except ChannelError as err:
            raise self._death(err) from None

    def _death(self, err: ChannelError) -> WorkerBroken:
        self.broken = True
        if isinstance(err, ChannelTimeout):
            self.worker.kill()
            seconds = self.worker.limits.wall_seconds
            return WorkerBroken("sandbox-timeout", f"the worker was silent for {seconds}s")
        self.worker.kill()
        rule, text = self.worker.death()
        return WorkerBroken(rule, text)


def _no_memo() -> JSON:
    # ``_replay`` checked the memo exists, so the SDK never calls this.
    raise inngest.NonRetriableError("[step-misuse] a replayed step had no memo")


def _event_json(event: inngest.Event) -> dict[str, Any]:
    return {"name": event.name, "data": dict(event.data), "id": event.id, "ts": event.ts}


def _duration(ms: object) -> datetime.timedelta:
    if isinstance(ms, bool) or not isinstance(ms, int) or not 0 <= ms <= MAX_SLEEP_MS:
        raise ValueError(f"invalid duration {ms!r} ms")
    return datetime.timedelta(milliseconds=ms)


def _instant(value: object) -> datetime.datetime:
    if not isinstance(value, str):
        raise ValueError("sleep_until needs an ISO datetime")
    when = datetime.datetime.fromisoformat(value)
    if when.tzinfo is None:
        raise ValueError("sleep_until needs a timezone-aware datetime")
    return when


def _retry_after(value: object) -> int | datetime.datetime:
    if isinstance(value, dict) and isinstance(value.get("ms"), int):
        return int(value["ms"])
    if isinstance(value, dict) and isinstance(value.get("at"), str):
        return datetime.datetime.fromisoformat(value["at"])
    return 1000


def _skill_error(message: Message) -> Exception:
    """An exception named like the skill's, so run history shows ``KeyError: 'x'``."""
    name = str(message.get("name"))
    if not _NAME.match(name):
        name = "SkillError"
    cls = _ERROR_TYPES.get(name)
    if cls is None:
        cls = _ERROR_TYPES.setdefault(name, type(name, (Exception,), {}))
    return cls(str(message.get("message", "")))
