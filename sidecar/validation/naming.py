"""Skill ids and file names: the one place that says how a skill file must be named.

A skill id is ``[a-z0-9][a-z0-9-]{1,62}`` and its file is ``<id with '_' for '-'>.py``, directly
in ``skills_generated/``. Anything else — ``..`` components, separators inside the name,
backslashes, NUL, non-ASCII — is refused before the source is even read, since a name that
escapes the folder could overwrite platform code.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

SKILL_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
FILE_NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_]{1,62}\.py$")


def id_for_stem(stem: str) -> str:
    return stem.replace("_", "-")


def stem_for_id(skill_id: str) -> str:
    return skill_id.replace("-", "_")


def filename_problems(filename: str) -> list[str]:
    """Why ``filename`` cannot be a skill file; empty when it can."""
    problems = []
    if not filename.isascii() or any(ch in filename for ch in "\\\x00"):
        problems.append("the path must be ASCII, with '/' separators and no NUL")
    path = PurePosixPath(filename)
    if ".." in path.parts:
        problems.append("the path must not contain '..'")
    if not FILE_NAME_PATTERN.match(path.name):
        problems.append(
            f"file name {path.name!r} must match {FILE_NAME_PATTERN.pattern} "
            "(lower case, digits, '_', ending in .py)"
        )
    elif path.name == "__init__.py":
        problems.append("skills_generated/ has no __init__.py")
    return problems


def skill_stem(filename: str) -> str:
    return PurePosixPath(filename).stem


def module_name(filename: str) -> str:
    """The name the loaded module gets (never importable: skills are not a package)."""
    return f"skill_{skill_stem(filename)}"
