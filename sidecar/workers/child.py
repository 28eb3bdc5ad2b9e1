"""A worker process: load validated skill versions and run their handlers, one job at a time.

Started by ``process.WorkerProcess`` exactly like the validation sandbox (``python -I``, an
environment built from an allowlist, in ``/``, its own session). Before running any skill
code it caps its address space, file writes and core dumps, and the lifetime CPU it may use;
before each job it sets the soft CPU limit to what it used so far plus the job's allowance,
so one runaway handler dies of SIGXCPU without hurting the next job. The sidecar adds a
wall-clock deadline on every answer and kills a worker that stays silent.

Skill code runs under the same restricted globals as in validation (``validation.loader``),
against the facade, with backends that ask the sidecar for everything (``remote.py``). The
worker never sees the SDK, a signing key or a capability secret.
"""

from __future__ import annotations

import collections
import json
import math
import os
import resource
import sys
from typing import Any

from sidecar.facade.capabilities import build_capabilities
from sidecar.facade.context import SkillContext
from sidecar.facade.events import EventView
from sidecar.facade.payload import to_json_value
from sidecar.facade.steps import Step, StepGrants
from sidecar.validation.compile import restricted_compile
from sidecar.validation.loader import LoadedSkill, load
from sidecar.validation.manifest import Manifest

from .handler_thread import ENDED, HandlerThread
from .protocol import Message
from .remote import (
    Abandoned,
    CapabilityLink,
    RemoteStepBackend,
    WorkerChannel,
    describe_failure,
    remote_backends,
)

#: Loaded skill versions kept per worker, by content hash.
CACHE_SIZE = 32


def apply_limits(memory_bytes: int, lifetime_cpu_seconds: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CPU, (lifetime_cpu_seconds, lifetime_cpu_seconds))


def cpu_used() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def allow_cpu(seconds: int) -> None:
    """Let the next job use ``seconds`` more CPU seconds (SIGXCPU beyond)."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = math.ceil(cpu_used()) + seconds
    resource.setrlimit(resource.RLIMIT_CPU, (min(soft, hard), hard))


class Loaded:
    """A skill version loaded in this worker: its declarations and parsed manifest."""

    def __init__(self, skill: LoadedSkill, manifest: Manifest) -> None:
        self.skill = skill
        self.manifest = manifest


class Worker:
    def __init__(self, channel: WorkerChannel) -> None:
        self.channel = channel
        self.cache: collections.OrderedDict[str, Loaded] = collections.OrderedDict()
        #: Handlers waiting between their run's calls, by run id (the sidecar says which).
        self.parked: dict[str, tuple[HandlerThread, RemoteStepBackend]] = {}

    def serve(self) -> None:
        self.channel.send({"op": "ready", "cpu": cpu_used()})
        while True:
            message = self.channel.recv()
            if message["op"] == "start":
                self.run_job(message["job"])
            elif message["op"] == "resume":
                self.resume(message)
            elif message["op"] == "exit":
                return

    def run_job(self, job: dict[str, Any]) -> None:
        for run_id in job.get("drop") or []:
            self._drop(str(run_id))
        allow_cpu(int(job["cpu_seconds"]))
        self.channel.replayed = []
        filename = str(job["filename"])
        loaded = self._load(job)
        if isinstance(loaded, dict):
            self.channel.send({"op": "failed", **loaded, "cpu": cpu_used()})
            return
        declaration = next((d for d in loaded.skill.declarations if d.fn_id == job["fn_id"]), None)
        handler = None
        if declaration is not None:
            handler = declaration.on_failure if job["failure"] else declaration.handler
        if handler is None:
            failure = {"kind": "violation", "code": "function-invalid", "line": None,
                       "message": f"version {job['version']} has no function {job['fn_id']!r}"}  # fmt: skip
            self.channel.send({"op": "failed", **failure, "cpu": cpu_used()})
            return
        memos = job.get("memos")
        first = job.get("execute_first")
        backend = RemoteStepBackend(
            self.channel,
            filename,
            memos if isinstance(memos, dict) else {},
            execute_first=first if isinstance(first, str) else None,
        )
        ctx = self._context(job, loaded.manifest, backend)

        def body(thread: HandlerThread) -> None:
            answer = self._call(handler, ctx, backend, filename)
            if not thread.dropped:  # a dropped handler's job ended long ago: nobody waits
                self.channel.send({**answer, "cpu": cpu_used()})

        thread = HandlerThread(body)
        backend.park = thread.park
        self._follow(str(job["run_id"]), thread, backend, thread.start())

    def _call(
        self, handler: Any, ctx: SkillContext, backend: RemoteStepBackend, filename: str
    ) -> Message:
        """Run the handler to its end: the job's last message."""
        try:
            output = to_json_value(handler(ctx), "the function's return value")
        except BaseException as err:  # every failure of skill code is reported, never raised
            if isinstance(err, Abandoned) or backend.abandoned:
                # Also when a ``finally:`` in skill code replaced the interrupt with its own error.
                return {"op": "abandoned"}
            return {"op": "failed", **describe_failure(err, filename)}
        return {"op": "done", "output": output}

    def resume(self, message: Message) -> None:
        """The run's next call: its parked handler gets the answer it waits for and goes on."""
        run_id = str(message["run_id"])
        held = self.parked.pop(run_id, None)
        if held is None or held[1].steps != message.get("steps"):
            # The sidecar thinks otherwise: this worker cannot be trusted further.
            if held is not None:
                held[0].drop()
            why = f"run {run_id} is not held by this worker as the sidecar says"
            failure = {"kind": "error", "name": "WorkerStateError", "recycle": True,
                       "message": why}  # fmt: skip
            self.channel.send({"op": "failed", **failure, "cpu": cpu_used()})
            return
        thread, backend = held
        allow_cpu(int(message["cpu_seconds"]))
        self.channel.replayed = []
        first = message.get("execute_first")
        backend.execute_first = first if isinstance(first, str) else None
        self._follow(run_id, thread, backend, thread.resume())

    def _follow(
        self, run_id: str, thread: HandlerThread, backend: RemoteStepBackend, state: str
    ) -> None:
        """After a handler yielded: keep it parked (evicting what the sidecar said) and say so."""
        if state == ENDED:
            return
        for victim in thread.park_request.get("evict") or []:
            self._drop(str(victim))
        self._drop(run_id)  # an older handler of the same run, if any, is stale
        self.parked[run_id] = (thread, backend)
        self.channel.send({"op": "parked", "cpu": cpu_used()})

    def _drop(self, run_id: str) -> None:
        held = self.parked.pop(run_id, None)
        if held is not None:
            held[0].drop()

    def _context(
        self, job: dict[str, Any], manifest: Manifest, backend: RemoteStepBackend
    ) -> SkillContext:
        run_id = str(job["run_id"])
        link = CapabilityLink(self.channel, backend)
        grants = StepGrants(emits=frozenset(manifest.emits), invokes=frozenset(manifest.invokes))
        return SkillContext(
            events=[EventView.from_json(e) for e in job["events"]],
            run_id=run_id,
            attempt=int(job["attempt"]),
            step=Step(backend, run_id=run_id, grants=grants),
            capabilities=build_capabilities(
                manifest.capabilities, remote_backends(link), lambda _call: None
            ),
            log_sink=lambda message, fields: self.channel.send(
                {"op": "log", "message": message, "fields": fields}
            ),
        )

    def _load(self, job: dict[str, Any]) -> Loaded | Message:
        key = str(job["content_hash"])
        cached = self.cache.get(key)
        if cached is not None:
            self.cache.move_to_end(key)
            return cached
        source, manifest = job.get("source"), job.get("manifest")
        if source is None or manifest is None:  # the usual job: asked for on a cache miss
            self.channel.send({"op": "need_source"})
            answer = self.channel.recv()
            source, manifest = answer.get("source"), answer.get("manifest")
        filename = str(job["filename"])
        code, findings = restricted_compile(str(source), filename)
        skill = None
        if code is not None:
            skill, findings = load(code, filename)
        if skill is None:
            first = findings[0] if findings else None
            return {
                "kind": "violation",
                "code": first.rule if first else "load-error",
                "message": first.message if first else "the skill did not load",
                "line": first.line if first else None,
            }
        loaded = Loaded(skill, Manifest.model_validate(manifest))
        self.cache[key] = loaded
        while len(self.cache) > CACHE_SIZE:
            self.cache.popitem(last=False)
        return loaded


def main() -> None:
    """Entry point: ``python -I -c <boot> <project root> <limits JSON>``."""
    limits = json.loads(sys.argv[2])
    protocol = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # whatever skill code manages to print cannot corrupt the protocol
    apply_limits(int(limits["memory_bytes"]), int(limits["lifetime_cpu_seconds"]))
    Worker(WorkerChannel(sys.stdin.buffer, protocol)).serve()
