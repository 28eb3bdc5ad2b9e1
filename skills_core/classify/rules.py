"""Read a core skill's rules (constants and plain helper functions) as ordinary Python.

Only the module-level imports, constant assignments and *undecorated* functions of the file
are executed — never a handler — in a fresh namespace, with the real modules the skill imports
(the sandbox gives the skill vetted wrappers with the same behaviour). This is for the trusted
core skills in this repository only: a rewritten version (from the review loop or a person)
must be exercised with ``sidecar.validation.dry_run``, which runs it in the sandbox.
"""

from __future__ import annotations

import ast
from pathlib import Path
from types import SimpleNamespace

CORE_SKILLS_DIR = Path(__file__).resolve().parents[1] / "skills"
CORE_SKILL_IDS = ("heartbeat", "health-check", "incident-triage", "cron-watchdog")


def core_skill_path(name: str) -> Path:
    """The file of a core skill, by id (``health-check``) or file stem (``health_check``)."""
    stem = name.replace("-", "_")
    if stem.replace("_", "-") not in CORE_SKILL_IDS:
        raise ValueError(f"{name!r} is not a core skill; core skills are {CORE_SKILL_IDS}")
    return CORE_SKILLS_DIR / f"{stem}.py"


def load_rules(name: str) -> SimpleNamespace:
    """The constants and plain functions of core skill ``name``; handlers are left out."""
    path = core_skill_path(name)
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    kept = [node for node in tree.body if _is_rule_part(node)]
    namespace: dict[str, object] = {"__name__": f"core_skill.{path.stem}"}
    exec(compile(ast.Module(body=kept, type_ignores=[]), str(path), "exec"), namespace)
    return SimpleNamespace(**{k: v for k, v in namespace.items() if not k.startswith("__")})


def _is_rule_part(node: ast.stmt) -> bool:
    if isinstance(node, ast.Import | ast.ImportFrom | ast.Assign):
        return True
    return isinstance(node, ast.FunctionDef) and not node.decorator_list
