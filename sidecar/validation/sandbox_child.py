"""The sandbox process: load a skill, check its declarations, dry-run its functions.

Started by ``sandbox.run_job`` as ``python -I`` with a scrubbed environment. It caps its own
resources (RLIMIT_CPU, RLIMIT_AS, no files, no core dumps) *before* touching the skill, then
loads the skill under the restricted globals, runs the declaration contract and, when that
passes, the dry runs. Messages go to the original stdout; fd 1 is pointed at stderr so nothing
the skill could make print can corrupt the protocol.
"""

from __future__ import annotations

import json
import os
import resource
import sys
from typing import IO, Any

from .compile import restricted_compile
from .contract import check_declarations
from .dry_run import DryRunOptions, default_event, failure_event, run_function
from .jobs import SandboxJob
from .loader import load
from .manifest import Manifest


def apply_limits(job: SandboxJob) -> None:
    resource.setrlimit(resource.RLIMIT_CPU, (job.cpu_seconds, job.cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_AS, (job.memory_bytes, job.memory_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


class Channel:
    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    def send(self, kind: str, **payload: Any) -> None:
        self._stream.write(json.dumps({"kind": kind, **payload}, default=str) + "\n")
        self._stream.flush()


def run(job: SandboxJob, channel: Channel) -> None:
    code, findings = restricted_compile(job.source, job.filename)
    if code is None:
        channel.send("findings", findings=[f.model_dump() for f in findings])
        return
    manifest = Manifest.model_validate(job.manifest)
    loaded, findings = load(code, job.filename)
    if loaded is None:
        channel.send("findings", findings=[f.model_dump() for f in findings])
        return
    declared = [d.to_json() for d in loaded.declarations]
    channel.send("declarations", declarations=declared)
    specs, findings = check_declarations(
        declared,
        manifest,
        job.filename,
        existing_function_ids=frozenset(job.existing_function_ids),
        manifest_line=job.manifest_line,
    )
    channel.send("findings", findings=[f.model_dump() for f in findings])
    if any(f.severity == "error" for f in findings):
        return
    options = DryRunOptions(step_stubs=job.step_stubs, fixtures=job.fixtures, faults=job.faults)
    for spec, decl in zip(specs, loaded.declarations, strict=True):
        if job.fn_id is not None and job.fn_id != spec.fn_id:
            continue
        event = job.event if job.event is not None else default_event(spec, manifest)
        runs = [(spec.fn_id, decl.handler, event)]
        if decl.on_failure is not None and job.mode == "validate":
            runs.append(
                (f"{spec.fn_id}:on_failure", decl.on_failure, failure_event(spec.fn_id, event))
            )
        for label, handler, run_event in runs:
            channel.send("dry_run_started", fn_id=label, line=spec.line)
            result = run_function(handler, label, manifest, run_event, job.filename, options)
            channel.send(
                "dry_run", fn_id=label, line=spec.line, result=result.model_dump(mode="json")
            )


def main() -> None:
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    job = SandboxJob.model_validate_json(sys.stdin.read())
    apply_limits(job)
    channel = Channel(protocol)
    run(job, channel)
    channel.send("done")
    # Skip the interpreter's teardown (~40 ms with the validator loaded): the sidecar waits for
    # this process to exit, and there is nothing left to flush but stderr.
    sys.stderr.flush()
    os._exit(0)
