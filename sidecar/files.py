"""Skill files on disk: which names are skill files, and how the sidecar writes one.

Every writer (the agent, the HTTP API, a rollback) should replace a file atomically — write a
hidden temporary file in the same folder, then ``os.replace`` it — so the watcher only ever
reads complete contents. Temporary and editor files (``.*``, ``*~``, ``*.tmp``, anything not
ending in ``.py``) are never skill files.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .validation.naming import filename_problems, id_for_stem


def is_skill_file(name: str) -> bool:
    """Whether the watcher should look at a file with this name at all."""
    return (
        name.endswith(".py")
        and not name.startswith((".", "#"))
        and not name.endswith(("~", ".tmp"))
        and name != "__init__.py"
    )


def skill_id_for(name: str) -> str | None:
    """The skill a file name belongs to, or None when the name can never be a skill file."""
    if filename_problems(name):
        return None
    return id_for_stem(name.removesuffix(".py"))


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` in one rename (readers see the old or the new file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_skill_file(path: Path) -> str | None:
    """The file's text, or None when it does not exist (it was deleted)."""
    try:
        return path.read_bytes().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return None
