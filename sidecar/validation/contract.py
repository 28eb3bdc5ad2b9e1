"""Contract checks: the manifest agrees with the file name and the code, declarations are valid.

Two halves, both pure data checks:

* ``check_manifest_against_code`` (static, before anything runs): the manifest id matches the
  file name; every capability the code uses is granted (and unused grants are flagged, since
  approval depends on them); literal ``send_event`` names and ``invoke`` targets are declared.
* ``check_declarations`` (after loading, on the JSON the loader produced): each
  ``@skill.function`` validates as a ``FunctionSpec``; fn ids are prefixed by the skill id,
  unique in the file and not taken by another skill or core function; the decorators' triggers
  and the manifest's triggers are the same set.

The sandbox child runs ``check_declarations`` to decide whether to dry-run; the sidecar runs it
again on the child's output, so a compromised child cannot vouch for its own declarations.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pydantic

from sidecar.facade.text import text_problem

from .cycles import self_triggers
from .declarations import CronTriggerSpec, FunctionSpec
from .findings import Finding, finding
from .manifest import Manifest
from .naming import id_for_stem, skill_stem
from .replay import ReplayFacts


def check_manifest_against_code(
    manifest: Manifest, facts: ReplayFacts, file: str, manifest_line: int
) -> list[Finding]:
    out = []
    expected = id_for_stem(skill_stem(file))
    if manifest.id != expected:
        out.append(
            finding(
                file,
                "manifest-id-mismatch",
                f"MANIFEST['id'] is {manifest.id!r} but the file name says {expected!r}",
                line=manifest_line,
            )
        )
    granted = manifest.capabilities.granted()
    used = {use.name for use in facts.capabilities}
    for use in facts.capabilities:
        if use.name not in granted:
            out.append(
                finding(
                    file,
                    "capability-undeclared",
                    f"ctx.capabilities.{use.name} is used but not declared",
                    line=use.line,
                    col=use.col,
                )
            )
    for name in sorted(granted - used):
        out.append(
            finding(
                file,
                "capability-unused",
                f"capability {name!r} is declared but never used",
                line=manifest_line,
                severity="warning",
            )
        )
    out += _check_emits(manifest, facts, file, manifest_line)
    for key in ("description", "owner"):
        problem = text_problem(getattr(manifest, key) or "")
        if problem:
            out.append(finding(file, "text-unsafe", f"MANIFEST[{key!r}]: {problem}",
                               line=manifest_line))  # fmt: skip
    out += [
        finding(file, "emit-undeclared", f"event {use.name!r} is sent but not in MANIFEST['emits']",
                line=use.line, col=use.col)
        for use in facts.emits if use.name not in manifest.emits
    ]  # fmt: skip
    out += [
        finding(file, "invoke-undeclared",
                f"function {use.name!r} is invoked but not in MANIFEST['invokes']",
                line=use.line, col=use.col)
        for use in facts.invokes if use.name not in manifest.invokes
    ]  # fmt: skip
    return out


def in_namespace(skill_id: str, event: str) -> bool:
    """Whether ``event`` is in the skill's own namespace, ``<skill id>/...``."""
    return event.startswith(f"{skill_id}/")


def _check_emits(
    manifest: Manifest, facts: ReplayFacts, file: str, manifest_line: int
) -> list[Finding]:
    out = []
    sent_at = {use.name: use.line for use in facts.emits}
    for event in self_triggers(manifest):
        out.append(
            finding(
                file,
                "emit-self-trigger",
                f"the skill sends {event!r}, which triggers it: every run would start another",
                line=sent_at.get(event, manifest_line),
            )
        )
    for event in manifest.emits:
        if not in_namespace(manifest.id, event) and event not in manifest.emit_grants:
            out.append(
                finding(
                    file,
                    "emit-namespace",
                    f"{event!r} is outside the skill's namespace '{manifest.id}/' and not in "
                    "MANIFEST['emit_grants']",
                    line=sent_at.get(event, manifest_line),
                )
            )
    for event in manifest.emit_grants:
        if event not in manifest.emits:
            out.append(
                finding(
                    file,
                    "emit-namespace",
                    f"MANIFEST['emit_grants'] lists {event!r}, which MANIFEST['emits'] does not",
                    line=manifest_line,
                )
            )
    return out


def check_declarations(
    declared: Iterable[dict[str, Any]],
    manifest: Manifest,
    file: str,
    *,
    existing_function_ids: frozenset[str],
    manifest_line: int,
) -> tuple[list[FunctionSpec], list[Finding]]:
    specs: list[FunctionSpec] = []
    out: list[Finding] = []
    for raw in declared:
        spec, problems = _validate(raw, file)
        out += problems
        if spec is not None:
            out += _check_id(spec, manifest, file, specs, existing_function_ids)
            problem = text_problem(spec.name or "")
            if problem:
                out.append(finding(file, "text-unsafe",
                                   f"@skill.function(fn_id={spec.fn_id!r}) name: {problem}",
                                   line=spec.line))  # fmt: skip
            specs.append(spec)
    if not specs and not out:
        out.append(finding(file, "function-none", "the file declares no @skill.function"))
    out += _check_triggers(specs, manifest, file, manifest_line)
    return specs, out


def _validate(raw: dict[str, Any], file: str) -> tuple[FunctionSpec | None, list[Finding]]:
    line = raw.get("line") if isinstance(raw.get("line"), int) else 1
    try:
        return FunctionSpec.from_declaration(raw), []
    except pydantic.ValidationError as err:
        label = f"@skill.function(fn_id={raw.get('fn_id')!r})"
        return None, [
            finding(
                file,
                _rule_for(e["loc"]),
                f"{label} {_where(e['loc'])}: {_message(e)}",
                line=line or 1,
            )
            for e in err.errors()
        ]


def _rule_for(loc: tuple[Any, ...]) -> str:
    if loc and loc[0] == "triggers":
        if "cron" in loc:
            return "trigger-cron-invalid"
        if "event" in loc:
            return "trigger-event-invalid"
    return "function-invalid"


def _where(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if not str(p).startswith("function-")]
    return ".".join(parts) or "declaration"


def _message(error: Any) -> str:
    return str(error["msg"]).removeprefix("Value error, ")


def _check_id(
    spec: FunctionSpec,
    manifest: Manifest,
    file: str,
    earlier: list[FunctionSpec],
    existing: frozenset[str],
) -> list[Finding]:
    out = []
    if spec.fn_id != manifest.id and not spec.fn_id.startswith(f"{manifest.id}-"):
        out.append(
            finding(
                file,
                "function-id-prefix",
                f"fn_id {spec.fn_id!r} does not start with the skill id {manifest.id!r}",
                line=spec.line,
            )
        )
    if any(other.fn_id == spec.fn_id for other in earlier):
        out.append(
            finding(
                file,
                "function-id-duplicate",
                f"fn_id {spec.fn_id!r} is declared twice",
                line=spec.line,
            )
        )
    if spec.fn_id in existing:
        out.append(
            finding(
                file,
                "function-id-taken",
                f"fn_id {spec.fn_id!r} already belongs to another skill",
                line=spec.line,
            )
        )
    return out


def _check_triggers(
    specs: list[FunctionSpec], manifest: Manifest, file: str, manifest_line: int
) -> list[Finding]:
    declared = {entry.key() for entry in manifest.triggers}
    used: set[tuple[str, str]] = set()
    out = []
    for spec in specs:
        for trigger in spec.triggers:
            key = (
                ("cron", trigger.cron)
                if isinstance(trigger, CronTriggerSpec)
                else ("event", trigger.event)
            )
            used.add(key)
            if key not in declared:
                out.append(
                    finding(
                        file,
                        "trigger-undeclared",
                        f"{spec.fn_id!r} triggers on {key[0]} {key[1]!r}, which "
                        "MANIFEST['triggers'] does not list",
                        line=spec.line,
                    )
                )
    for kind, value in sorted(declared - used):
        out.append(
            finding(
                file,
                "trigger-unused",
                f"MANIFEST lists {kind} {value!r} but no function uses it",
                line=manifest_line,
            )
        )
    return out
