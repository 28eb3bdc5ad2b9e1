"""MANIFEST: the module-level literal that says what a skill is and what it may do.

It is read with ``ast.literal_eval`` — never executed — so the sidecar knows a skill's id,
triggers and grants before any of its code runs, and a person approving it reads exactly what
will be enforced. Schema errors point at the line of the offending key.
"""

from __future__ import annotations

import ast
from typing import Annotated, Any, Literal

import pydantic

from sidecar.facade.grants import CapabilityGrants

from .findings import Finding, finding
from .naming import SKILL_ID_PATTERN
from .triggers import cron_problem, emit_problem, trigger_event_problem


def _checked(problem_of: Any) -> Any:
    def check(value: str) -> str:
        problem = problem_of(value)
        if problem:
            raise ValueError(problem)
        return value

    return pydantic.AfterValidator(check)


EmitName = Annotated[str, _checked(emit_problem)]


class TriggerEntry(pydantic.BaseModel):
    """``{"cron": "..."}`` or ``{"event": "...", "example": {...}}``."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True, strict=True)

    cron: Annotated[str, _checked(cron_problem)] | None = None
    event: Annotated[str, _checked(trigger_event_problem)] | None = None
    #: Example event data for an event trigger; the dry run sends it.
    example: dict[str, Any] | None = None

    @pydantic.model_validator(mode="after")
    def _one_kind(self) -> TriggerEntry:
        if (self.cron is None) == (self.event is None):
            raise ValueError("a trigger has exactly one of 'cron' or 'event'")
        if self.example is not None and self.event is None:
            raise ValueError("'example' goes with an event trigger")
        return self

    def key(self) -> tuple[str, str]:
        return ("cron", self.cron) if self.cron is not None else ("event", self.event or "")


class Manifest(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", frozen=True, strict=True)

    id: Annotated[str, pydantic.StringConstraints(pattern=SKILL_ID_PATTERN.pattern)]
    description: Annotated[str, pydantic.StringConstraints(min_length=1, max_length=500)]
    author: Literal["agent", "human", "review"]
    owner: Annotated[str, pydantic.StringConstraints(max_length=100)] | None = None
    triggers: list[TriggerEntry] = pydantic.Field(min_length=1, max_length=20)
    capabilities: CapabilityGrants = CapabilityGrants()
    #: Event names the skill may send with ctx.step.send_event: its own namespace
    #: (``<id>/...``), or names also listed in ``emit_grants``.
    emits: list[EmitName] = pydantic.Field(default_factory=list, max_length=50)
    #: Names outside the skill's namespace it asks to send (another app's events); a person
    #: approves each under the approval policy.
    emit_grants: list[EmitName] = pydantic.Field(default_factory=list, max_length=20)
    #: Function ids the skill may call with ctx.step.invoke.
    invokes: list[str] = pydantic.Field(default_factory=list, max_length=50)
    #: "off": the weekly review scores the skill but never proposes changes to it.
    review: Literal["on", "off"] = "on"


def find_manifest(tree: ast.Module) -> ast.Assign | None:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "MANIFEST" for t in node.targets
        ):
            return node
    return None


def extract(tree: ast.Module, file: str) -> tuple[Manifest | None, list[Finding]]:
    node = find_manifest(tree)
    if node is None:
        return None, [finding(file, "manifest-missing", "no MANIFEST = {...} at module level")]
    try:
        raw = ast.literal_eval(node.value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None, [
            finding(
                file,
                "manifest-not-literal",
                "MANIFEST must be a literal (no names, calls or expressions)",
                line=node.lineno,
            )
        ]
    try:
        return Manifest.model_validate(raw), []
    except pydantic.ValidationError as err:
        return None, [
            finding(
                file,
                "manifest-invalid",
                f"MANIFEST{_path(e['loc'])}: {_message(e)}",
                line=_locate(node.value, e["loc"]).lineno,
            )
            for e in err.errors()
        ]


def _message(error: Any) -> str:
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def _path(loc: tuple[Any, ...]) -> str:
    return "".join(f"[{part!r}]" for part in loc if not str(part).startswith(("function-", "str")))


def _locate(node: ast.expr, loc: tuple[Any, ...]) -> ast.expr:
    """The literal node a pydantic error location points at (as deep as it exists)."""
    for part in loc:
        if isinstance(node, ast.Dict) and isinstance(part, str):
            match = [
                v
                for k, v in zip(node.keys, node.values, strict=True)
                if isinstance(k, ast.Constant) and k.value == part
            ]
            if not match:
                break
            node = match[0]
        elif isinstance(node, ast.List | ast.Tuple) and isinstance(part, int):
            if part >= len(node.elts):
                break
            node = node.elts[part]
    return node
