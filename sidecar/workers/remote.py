"""Inside a worker: the step backend and capability backends that ask the sidecar over the pipe.

Skill code calls the facade (``ctx.step``, ``ctx.capabilities``), which checks what the skill
controls and then calls these backends. They hold no power of their own: each call becomes a
message to the sidecar, which drives the real ``inngest`` step (or the real capability) and
answers. This module is imported only in worker processes.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import resource
import sys
from collections.abc import Callable
from typing import IO, Any, NoReturn

from sidecar.facade.capabilities import CapabilityBackends
from sidecar.facade.errors import (
    SKILL_ERRORS,
    VIOLATIONS,
    CapabilityError,
    NonRetriableError,
    RetryAfterError,
    SkillViolation,
    StepError,
    StepMisuse,
)
from sidecar.facade.payload import JSON
from sidecar.validation.loader import describe, skill_line

from .protocol import ANY_NEW_STEP, Message, encode

_ERRORS: dict[str, type[Exception]] = {cls.__name__: cls for cls in SKILL_ERRORS}
_VIOLATIONS: dict[str, type[SkillViolation]] = {cls.code: cls for cls in VIOLATIONS}


class Abandoned(BaseException):
    """The sidecar dropped this job (the SDK interrupted the handler); unwind it.

    A ``BaseException``, like the SDK's own interrupt, so skill code cannot swallow it.
    """


class WorkerChannel:
    """The worker's end of the pipe: blocking, one JSON object per line.

    ``replayed`` holds the ids of the steps answered from memos since the last message; the
    next message carries them (``replayed``), so the sidecar can replay them on the SDK, in
    order, before it handles that message.
    """

    def __init__(self, reader: IO[bytes], writer: IO[bytes]) -> None:
        self._reader = reader
        self._writer = writer
        self.replayed: list[str] = []

    def send(self, message: Message, *, flush: bool = True) -> None:
        """Write one message; ``flush=False`` holds it until the next one is sent (both then
        reach the sidecar in one wake-up)."""
        usage = resource.getrusage(resource.RUSAGE_SELF)
        # Every message tells the CPU used so far, for the run's CPU budget.
        message = {**message, "cpu": usage.ru_utime + usage.ru_stime}
        if self.replayed:
            message["replayed"] = self.replayed
            self.replayed = []
        self._writer.write(encode(message))
        if flush:
            self._writer.flush()

    def recv(self) -> Message:
        line = self._reader.readline()
        if not line:
            sys.exit(0)  # the sidecar closed the pipe: nothing more to do
        message: Message = json.loads(line)
        return message


def describe_failure(err: BaseException, filename: str) -> Message:
    """How a failure of skill code crosses the pipe (the sidecar maps it to the SDK's error)."""
    line = skill_line(err, filename)
    if isinstance(err, NonRetriableError):
        return {"kind": "non_retriable", "message": str(err), "line": line}
    if isinstance(err, RetryAfterError):
        return {
            "kind": "retry_after",
            "message": str(err),
            "retry_after": _retry_after(err.retry_after),
            "line": line,
        }
    if isinstance(err, StepError):
        return {"kind": "step_error", "name": err.name, "message": err.message, "line": line}
    rule, message = describe(err)
    if rule == "dry-run-error":
        return {"kind": "error", "name": type(err).__name__, "message": str(err), "line": line}
    # Memory and recursion errors can leave the interpreter in a bad state: replace it.
    recycle = isinstance(err, MemoryError | RecursionError)
    return {"kind": "violation", "code": rule, "message": message, "line": line, "recycle": recycle}


def _retry_after(value: int | datetime.timedelta | datetime.datetime) -> JSON:
    if isinstance(value, datetime.datetime):
        return {"at": value.isoformat()}
    if isinstance(value, datetime.timedelta):
        return {"ms": int(value.total_seconds() * 1000)}
    return {"ms": int(value)}


def hashed_step_id(unique_id: str) -> str:
    """The SDK's key of a step's memo: SHA-1 of ``id`` / ``id:n`` (``transforms.hash_step_id``)."""
    return hashlib.sha1(unique_id.encode()).hexdigest()


class RemoteStepBackend:
    """``StepBackend`` for a worker: every step is decided by the SDK, in the sidecar.

    The job brings the run's memos (``{hashed id: {"data"} | {"error"}}``, as the engine sent
    them to the SDK), so a step that already ran is answered here, without a round trip; only
    a step without a memo is asked for. The sidecar replays the answered steps on the SDK when
    the next message arrives (``WorkerChannel.replayed``), and checks each had a memo.
    """

    def __init__(
        self,
        channel: WorkerChannel,
        filename: str,
        memos: dict[str, Any] | None = None,
        execute_first: str | None = None,
    ) -> None:
        self._channel = channel
        self._filename = filename
        self._memos: dict[str, Any] = dict(memos or {})
        self._seen: dict[str, int] = {}
        #: The first new step.run runs at once if it matches (see ``protocol``).
        self._execute_first = execute_first
        self.abandoned = False

    def run(self, step_id: str, callback: Callable[[], JSON], *, label: str | None = None) -> JSON:
        labelled = {} if label is None else {"label": label}
        return self._request({"kind": "run", "id": step_id, **labelled}, callback)

    def sleep(self, step_id: str, duration: datetime.timedelta) -> None:
        self._request({"kind": "sleep", "id": step_id, "duration_ms": _ms(duration)})

    def sleep_until(self, step_id: str, until: datetime.datetime) -> None:
        self._request({"kind": "sleep_until", "id": step_id, "until": until.isoformat()})

    def wait_for_event(
        self, step_id: str, *, event: str, if_exp: str | None, timeout: datetime.timedelta
    ) -> JSON | None:
        request = {"kind": "wait_for_event", "id": step_id, "event": event, "if_exp": if_exp}
        found = self._request({**request, "timeout_ms": _ms(timeout)})
        return _event(found) if isinstance(found, dict) else None

    def send_event(self, step_id: str, events: list[JSON]) -> list[str]:
        ids = self._request({"kind": "send_event", "id": step_id, "events": events})
        return [str(i) for i in ids] if isinstance(ids, list) else []

    def invoke(
        self,
        step_id: str,
        *,
        function_id: str,
        data: JSON,
        timeout: datetime.timedelta | None,
    ) -> JSON:
        request = {"kind": "invoke", "id": step_id, "function_id": function_id, "data": data}
        return self._request({**request, "timeout_ms": None if timeout is None else _ms(timeout)})

    def _request(self, request: Message, callback: Callable[[], JSON] | None = None) -> JSON:
        if self.abandoned:
            raise Abandoned()
        step_id = str(request["id"])
        n = self._seen.get(step_id, 0)
        self._seen[step_id] = n + 1
        key = hashed_step_id(step_id if n == 0 else f"{step_id}:{n}")
        memo = self._memos.pop(key, None)
        if isinstance(memo, dict):
            self._channel.replayed.append(step_id)
            error = memo.get("error")
            if isinstance(error, dict):
                raise StepError(str(error.get("name")), str(error.get("message")))
            return memo.get("data")
        first, self._execute_first = self._execute_first, None  # only the first new step
        if callback is not None and first in (ANY_NEW_STEP, key):
            # Held until the callback's first message (a capability call, a log line, or its
            # result), which the sidecar reads only after this one anyway.
            self._channel.send({"op": "step", **request, "executing": True}, flush=False)
            self._execute_and_unwind(callback)
        self._channel.send({"op": "step", **request})
        while True:
            answer = self._channel.recv()
            op = answer["op"]
            if op == "memo":
                return answer.get("value")
            if op == "step_error":
                raise StepError(str(answer.get("name")), str(answer.get("message")))
            if op == "execute" and callback is not None:
                self._execute_and_unwind(callback)
            if op == "abandon":
                self.abandoned = True
                raise Abandoned()
            raise StepMisuse(f"unexpected answer {op!r} from the platform")

    def _execute_and_unwind(self, callback: Callable[[], JSON]) -> NoReturn:
        """Run the step's callback, send its result, and end the job (see ``protocol``).

        Once the SDK has run a step it always ends the call, so the handler is unwound now,
        without waiting for the sidecar's ``abandon``: that saves a message and a wake-up of
        this process per call, while the sidecar is answering the engine.
        """
        self._channel.send(self._execute(callback))
        self.abandoned = True
        raise Abandoned()

    def _execute(self, callback: Callable[[], JSON]) -> Message:
        try:
            output = callback()
        except Abandoned:
            raise
        except (NonRetriableError, RetryAfterError) as err:
            return {"op": "callback_failed", **describe_failure(err, self._filename)}
        except Exception as err:
            return {
                "op": "callback_error",
                "name": type(err).__name__,
                "message": str(err),
                "line": skill_line(err, self._filename),
            }
        except BaseException as err:  # violations, memory, recursion: the run must fail
            return {"op": "callback_failed", **describe_failure(err, self._filename)}
        return {"op": "callback_done", "output": output}


def _event(raw: dict[str, Any]) -> JSON:
    """An event as the SDK's ``Event`` model would give it (a memo holds the raw event)."""
    data = raw.get("data")
    return {
        "name": str(raw.get("name", "")),
        "data": data if isinstance(data, dict) else {},
        "id": str(raw.get("id") or ""),
        "ts": raw.get("ts") if isinstance(raw.get("ts"), int) else 0,
    }


def _ms(delta: datetime.timedelta) -> int:
    return int(delta.total_seconds() * 1000)


class CapabilityLink:
    """Sends one capability call to the sidecar and turns its answer back into a skill result."""

    def __init__(self, channel: WorkerChannel, step: RemoteStepBackend) -> None:
        self._channel = channel
        self._step = step

    def call(self, capability: str, method: str, args: dict[str, Any]) -> JSON:
        if self._step.abandoned:
            raise Abandoned()
        self._channel.send(
            {"op": "capability", "capability": capability, "method": method, "args": args}
        )
        answer = self._channel.recv()
        if answer["op"] == "abandon":
            self._step.abandoned = True
            raise Abandoned()
        if answer["op"] != "capability_result":
            raise StepMisuse(f"unexpected answer {answer['op']!r} from the platform")
        if answer.get("ok"):
            return answer.get("result")
        error = answer.get("error") or {}
        message = str(error.get("message", ""))
        if error.get("kind") == "violation":
            raise _VIOLATIONS.get(str(error.get("code")), StepMisuse)(message)
        raise _ERRORS.get(str(error.get("name")), CapabilityError)(message)


class _Remote:
    capability = ""

    def __init__(self, link: CapabilityLink) -> None:
        self._link = link

    def _call(self, method: str, **args: Any) -> JSON:
        return self._link.call(self.capability, method, args)


class RemoteMetrics(_Remote):
    capability = "metrics"

    def query(self, promql: str, *, source: str) -> JSON:
        return self._call("query", promql=promql, source=source)

    def query_range(self, promql: str, *, source: str, minutes: int, step_seconds: int) -> JSON:
        return self._call(
            "query_range", promql=promql, source=source, minutes=minutes, step_seconds=step_seconds
        )

    def host(self) -> JSON:
        return self._call("host")


class RemoteDeploys(_Remote):
    capability = "deploys"

    def recent(self, *, source: str, service: str | None, hours: float) -> JSON:
        return self._call("recent", source=source, service=service, hours=hours)


class RemoteNotify(_Remote):
    capability = "notify"

    def post(
        self,
        channel: str,
        text: str,
        *,
        thread: str | None,
        dedupe_key: str,
        hint: str | None = None,
    ) -> JSON:
        # The idempotency key is the sidecar's to compute; a worker's claim is not trusted.
        if hint is None:
            return self._call("post", channel=channel, text=text, thread=thread)
        return self._call("post", channel=channel, text=text, thread=thread, hint=hint)


class RemoteLLM(_Remote):
    capability = "llm"

    def classify(
        self, text: str, *, labels: list[str], instructions: str | None, budget_usd: float
    ) -> JSON:
        return self._call("classify", text=text, labels=labels, instructions=instructions)

    def complete(
        self, prompt: str, *, system: str | None, max_tokens: int, budget_usd: float
    ) -> JSON:
        return self._call("complete", prompt=prompt, system=system, max_tokens=max_tokens)


class RemoteHttp(_Remote):
    capability = "http"

    def get(self, url: str, *, params: dict[str, str], timeout_seconds: float) -> JSON:
        return self._call("get", url=url, params=params, timeout_seconds=timeout_seconds)


class RemoteIncidents(_Remote):
    capability = "incidents"

    def observe(
        self,
        service: str,
        *,
        label: str,
        signals: list[str],
        reason: str,
        onset: float,
        checked_at: float,
    ) -> JSON:
        return self._call(
            "observe",
            service=service,
            label=label,
            signals=signals,
            reason=reason,
            onset=onset,
            checked_at=checked_at,
        )


class RemoteLedger(_Remote):
    capability = "ledger"

    def cron_skills(self) -> JSON:
        return self._call("cron_skills")

    def fires(self, skill: str, *, since: float, until: float, function: str | None) -> JSON:
        return self._call("fires", skill=skill, since=since, until=until, function=function)

    def runs(
        self, skill: str, *, since: float, until: float, function: str | None, limit: int
    ) -> JSON:
        return self._call(
            "runs", skill=skill, since=since, until=until, function=function, limit=limit
        )


def remote_backends(link: CapabilityLink) -> CapabilityBackends:
    return CapabilityBackends(
        metrics=RemoteMetrics(link),
        deploys=RemoteDeploys(link),
        notify=RemoteNotify(link),
        llm=RemoteLLM(link),
        http=RemoteHttp(link),
        incidents=RemoteIncidents(link),
        ledger=RemoteLedger(link),
    )
