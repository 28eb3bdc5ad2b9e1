"""Prompts are data files beside this module: versioned, diffable, never strings in code.

``load(name)`` reads one (``system.md``, ``critic.md``...); ``render(name, **values)``
fills ``$placeholders`` with ``string.Template`` (no ``str.format`` surprises on braces in
JSON examples).
"""

from __future__ import annotations

import functools
import string
from pathlib import Path

PROMPTS_DIR = Path(__file__).resolve().parent
EXAMPLES_DIR = PROMPTS_DIR / "examples"
GUIDE_DIR = PROMPTS_DIR / "guide"


@functools.cache
def load(name: str) -> str:
    return (PROMPTS_DIR / name).read_text(encoding="utf-8").strip()


def render(name: str, **values: object) -> str:
    return string.Template(load(name)).substitute({k: str(v) for k, v in values.items()})
