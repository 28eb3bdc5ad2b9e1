"""The validation pipeline: static stages in the sidecar, executing stages in the sandbox.

    filename → unicode-scan → parse → ast-policy (+ replay rules) → restricted-compile
    → manifest and contract-against-code                       (static: nothing runs)
    → [sandbox process] load → declaration contract → dry run of each function
    → declaration contract again, in the sidecar, on what the sandbox reported

Static stages all run and all report, so one report lists every problem they find. The
sandbox stages run only on a file with no static errors: there is no point executing code
that failed the policy, and its declarations depend on loading it.
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import time
from typing import Any

from . import contract, policy, replay, unicode
from . import manifest as manifest_stage
from .compile import restricted_compile
from .declarations import SkillSpec
from .dry_run import DryRunOptions
from .findings import Finding, finding, ordered
from .jobs import SandboxJob, SandboxLimits
from .manifest import Manifest
from .naming import filename_problems
from .outcomes import DryRunResult, RunError
from .report import ValidationReport
from .sandbox import SandboxOutcome, Spawner, run_job

#: Largest skill file accepted (bytes of UTF-8).
MAX_SOURCE_BYTES = 256 * 1024


@dataclasses.dataclass
class _Static:
    findings: list[Finding]
    layers: list[str]
    manifest: Manifest | None = None
    manifest_line: int = 1

    @property
    def ok(self) -> bool:
        return not any(f.severity == "error" for f in self.findings)


def validate_source(
    source: str,
    filename: str,
    *,
    existing_function_ids: frozenset[str] = frozenset(),
    limits: SandboxLimits | None = None,
    spawn: Spawner | None = None,
) -> ValidationReport:
    """Validate one skill file; the report lists every problem found, with fix hints.

    ``spawn`` starts the sandbox process (default: a fresh one); the sidecar passes its pool
    of processes started ahead of time, which saves the interpreter's start-up and imports.
    """
    started = time.perf_counter()
    static = _static_stages(source, filename)
    report = ValidationReport(file=filename, layers_run=static.layers)
    findings = list(static.findings)
    if static.ok and static.manifest is not None:
        job = _job("validate", source, filename, static, existing_function_ids)
        outcome = run_job(job, limits or SandboxLimits(), spawn)
        report.layers_run += ["load", "contract", "dry-run"]
        dynamic, specs = _sandbox_findings(outcome, filename, static, existing_function_ids)
        findings += dynamic
        report.dry_runs = [
            DryRunResult.model_validate(m.result)
            for m in outcome.messages
            if m.kind == "dry_run" and m.result
        ]
        if specs is not None and not any(f.severity == "error" for f in findings):
            report.skill = SkillSpec(
                manifest=static.manifest,
                functions=specs,
                source_sha256=hashlib.sha256(source.encode()).hexdigest(),
            )
    report.findings = ordered(findings)
    report.duration_ms = (time.perf_counter() - started) * 1000
    return report


def dry_run(
    source: str,
    filename: str,
    fn_id: str,
    event: dict[str, Any] | None = None,
    *,
    step_stubs: dict[str, Any] | None = None,
    fixtures: dict[str, Any] | None = None,
    faults: dict[str, str] | None = None,
    existing_function_ids: frozenset[str] = frozenset(),
    limits: SandboxLimits | None = None,
) -> DryRunResult:
    """Run one function of a skill once in the sandbox, with the given event data."""
    static = _static_stages(source, filename)
    if not static.ok or static.manifest is None:
        return DryRunResult(fn_id=fn_id, event=event or {}, findings=ordered(static.findings))
    options = DryRunOptions(
        step_stubs=step_stubs or {}, fixtures=fixtures or {}, faults=faults or {}
    )
    job = _job(
        "dry_run",
        source,
        filename,
        static,
        existing_function_ids,
        fn_id=fn_id,
        event=event,
        options=options,
    )
    outcome = run_job(job, limits or SandboxLimits())
    dynamic, _specs = _sandbox_findings(outcome, filename, static, existing_function_ids)
    results = [m.result for m in outcome.messages if m.kind == "dry_run" and m.fn_id == fn_id]
    if results and results[0]:
        result = DryRunResult.model_validate(results[0])
        # A crash after the run reported still matters; dry-run findings are in `result`.
        extra = [f for f in dynamic if f.layer not in ("dry-run",)]
        return result.model_copy(update={"findings": ordered([*result.findings, *extra])})
    if not any(f.severity == "error" for f in dynamic):
        dynamic.append(finding(filename, "function-invalid", f"no function with fn_id {fn_id!r}"))
    crash = next((f for f in dynamic if f.layer == "dry-run-sandbox"), None)
    error = (
        RunError(rule=crash.rule, type="SandboxExit", message=crash.message, line=crash.line)
        if crash
        else None
    )
    return DryRunResult(fn_id=fn_id, event=event or {}, findings=ordered(dynamic), error=error)


def _static_stages(source: str, filename: str) -> _Static:
    static = _Static(findings=[], layers=["filename"])
    static.findings += [
        finding(filename, "filename-invalid", p) for p in filename_problems(filename)
    ]
    size = len(source.encode("utf-8", "surrogatepass"))
    if size > MAX_SOURCE_BYTES:
        static.findings.append(
            finding(filename, "source-too-large", f"{size} bytes; the limit is {MAX_SOURCE_BYTES}")
        )
        return static
    static.layers.append("unicode-scan")
    static.findings += unicode.scan(source, filename)
    static.layers.append("parse")
    tree = _parse(source, filename, static)
    if tree is None:
        return static
    static.layers += ["ast-policy", "restricted-compile", "contract"]
    try:
        policy_findings = policy.check(tree, filename)
        replay_findings, facts = replay.check(tree, filename)
    except RecursionError:
        static.findings.append(finding(filename, "source-too-complex", "nesting is too deep"))
        return static
    static.findings += policy_findings + replay_findings
    _code, compile_findings = restricted_compile(source, filename)
    # RestrictedPython is the second line: report what the policy did not already say.
    policed = {f.line for f in static.findings if f.layer == "ast-policy"}
    static.findings += [f for f in compile_findings if f.line not in policed]
    manifest, manifest_findings = manifest_stage.extract(tree, filename)
    static.findings += manifest_findings
    node = manifest_stage.find_manifest(tree)
    static.manifest_line = node.lineno if node else 1
    if manifest is not None:
        static.manifest = manifest
        static.findings += contract.check_manifest_against_code(
            manifest, facts, filename, static.manifest_line
        )
    return static


def _parse(source: str, filename: str, static: _Static) -> ast.Module | None:
    try:
        return ast.parse(source, filename)
    except SyntaxError as err:
        static.findings.append(
            finding(
                filename, "syntax-error", err.msg, line=err.lineno or 1, col=(err.offset or 1) - 1
            )
        )
    except (RecursionError, MemoryError):
        static.findings.append(finding(filename, "source-too-complex", "nesting is too deep"))
    except ValueError as err:  # e.g. NUL bytes in the source
        static.findings.append(finding(filename, "syntax-error", str(err)))
    return None


def _job(
    mode: str,
    source: str,
    filename: str,
    static: _Static,
    existing: frozenset[str],
    *,
    fn_id: str | None = None,
    event: dict[str, Any] | None = None,
    options: DryRunOptions | None = None,
) -> SandboxJob:
    options = options or DryRunOptions()
    assert static.manifest is not None
    return SandboxJob(
        mode=mode,  # type: ignore[arg-type]
        source=source,
        filename=filename,
        manifest=static.manifest.model_dump(mode="json"),
        manifest_line=static.manifest_line,
        existing_function_ids=sorted(existing),
        fn_id=fn_id,
        event=event,
        step_stubs=options.step_stubs,
        fixtures=options.fixtures,
        faults=options.faults,
    )


def _sandbox_findings(
    outcome: SandboxOutcome, filename: str, static: _Static, existing: frozenset[str]
) -> tuple[list[Finding], list[Any] | None]:
    """Findings from what the sandbox reported and how it ended; declarations re-checked."""
    assert static.manifest is not None
    found: list[Finding] = []
    specs = None
    for message in outcome.messages:
        if message.kind == "findings":
            found += [Finding.model_validate(f) for f in message.findings]
        elif message.kind == "declarations":
            # Authoritative re-check on the sidecar's side of the boundary.
            specs, checked = contract.check_declarations(
                message.declarations,
                static.manifest,
                filename,
                existing_function_ids=existing,
                manifest_line=static.manifest_line,
            )
            found += checked
        elif message.kind == "dry_run" and message.result:
            error = message.result.get("error")
            if error:
                found.append(
                    finding(
                        filename,
                        error["rule"],
                        f"dry run of {message.fn_id!r}: {error['message']}",
                        line=error.get("line") or message.line or 1,
                    )
                )
    failure = outcome.failure()
    if failure:
        rule_id, text = failure
        running = outcome.running_function()
        where = f"dry run of {running.fn_id!r}: " if running else ""
        found.append(
            finding(
                filename,
                rule_id,
                where + text,
                line=(running.line if running and running.line else 1),
            )
        )
    return found, specs
