"""The restricted loader: execute a compiled skill module and collect its declarations.

The module body runs with ``guards.restricted_globals`` — the only globals are safe builtins,
the guards and the ``skill`` client. The policy has already limited the body to MANIFEST,
imports, constants and decorated definitions, so loading only records declarations; still, it
happens inside the sandbox process, never in the sidecar. After the body ran the client is
sealed: a handler cannot declare more functions at run time.
"""

from __future__ import annotations

import dataclasses
import traceback
from types import CodeType
from typing import Any

from sidecar.facade.client import FunctionDeclaration, SkillClient
from sidecar.facade.errors import SkillViolation

from .findings import Finding, finding
from .guards import restricted_globals
from .naming import module_name


@dataclasses.dataclass
class LoadedSkill:
    declarations: list[FunctionDeclaration]
    namespace: dict[str, Any]


def skill_line(err: BaseException, file: str) -> int | None:
    """The innermost line of the skill file in ``err``'s traceback."""
    lines = [f.lineno for f in traceback.extract_tb(err.__traceback__) if f.filename == file]
    return lines[-1] if lines else None


def describe(err: BaseException) -> tuple[str, str]:
    """(rule id, message) for an exception raised by skill code."""
    if isinstance(err, SkillViolation):
        return err.code, err.message
    if isinstance(err, RecursionError):
        return "sandbox-recursion-limit", "maximum recursion depth exceeded"
    if isinstance(err, MemoryError):
        return "sandbox-memory-limit", "out of memory"
    return "dry-run-error", f"{type(err).__name__}: {err}"


def load(code: CodeType, file: str) -> tuple[LoadedSkill | None, list[Finding]]:
    client = SkillClient()
    namespace = restricted_globals(client, module_name(file))
    try:
        exec(code, namespace)
    except BaseException as err:  # any failure of skill code, exits included, is a finding
        rule_id, message = describe(err)
        if rule_id == "dry-run-error":
            rule_id = "load-error"
        return None, [
            finding(file, rule_id, f"while loading: {message}", line=skill_line(err, file) or 1)
        ]
    finally:
        client.seal()
    return LoadedSkill(client.declarations, namespace), []
