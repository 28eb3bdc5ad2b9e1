"""The core skills: read from the core directory, loaded like any other skill, pre-approved.

A core skill (``skills_core/skills/`` by default) goes through the *same* validation as a
generated one (``Lifecycle.accept_core`` → ``Checker``), so a broken core file is quarantined,
not run. It is not written into the watched folder: it lives in the registry only, recorded
with author ``human`` and the reason ``core skill``. Its function ids are reserved: no other
skill may take them (``reserved_for`` lets the core skill itself keep them).

The deployment's configuration (``loopwright.toml``: signals in its metric names, services to
watch) sets module-level constants of a core skill (``constants``); a constant whose value the
file already has is left as written, so the default configuration changes nothing.

Demo mode swaps in the demo variants (``skills_core.classify.demo_variant``: health-check
every minute over short windows); switching modes registers another version of the skill.
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from skills_core.classify import demo_variant
from skills_core.classify.schedule import with_constants

from .files import is_skill_file


@dataclasses.dataclass(frozen=True)
class CoreSkill:
    skill_id: str
    filename: str
    source: str
    function_ids: frozenset[str]


def read_core_skills(
    core_dir: Path,
    *,
    demo: bool = False,
    constants: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[CoreSkill]:
    """Every skill file in ``core_dir`` (its demo variant when ``demo``, with ``constants``
    [skill id → {NAME: value}] set), sorted by id."""
    if not core_dir.is_dir():
        raise FileNotFoundError(f"core skills directory {core_dir} does not exist")
    found = []
    for path in sorted(core_dir.iterdir()):
        if not (path.is_file() and is_skill_file(path.name)):
            continue
        skill_id = path.stem.replace("_", "-")
        source = path.read_text(encoding="utf-8")
        if demo:
            source = demo_variant(skill_id, source)
        source = _configured(source, (constants or {}).get(skill_id) or {})
        found.append(CoreSkill(skill_id, path.name, source, declared_function_ids(source)))
    return found


def _configured(source: str, values: Mapping[str, Any]) -> str:
    current = _literals(source)
    changed = {name: v for name, v in values.items() if current.get(name, _UNSET) != v}
    return with_constants(source, changed) if changed else source


_UNSET = object()


def _literals(source: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                with contextlib.suppress(ValueError, SyntaxError):
                    found[target.id] = ast.literal_eval(node.value)
    return found


def declared_function_ids(source: str) -> frozenset[str]:
    """The literal ``fn_id="…"`` arguments in ``source`` (what the core skill will register).

    Read without running anything, so the ids are reserved before any skill is validated; a
    file that does not parse reserves nothing and is quarantined by the validator anyway.
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return frozenset()
    return frozenset(
        kw.value.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        for kw in node.keywords
        if kw.arg == "fn_id" and isinstance(kw.value, ast.Constant)
        and isinstance(kw.value.value, str)
    )  # fmt: skip
