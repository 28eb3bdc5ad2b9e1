"""The configuration as environment variables, for the processes `loopwright` starts.

Every component reads its settings from its environment; ``apply`` fills in, from the file,
each variable the environment does not set yet, so the file reaches every child process and a
variable still wins over the file.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import pydantic

from .model import LoopwrightConfig, variables


def as_environ(config: LoopwrightConfig) -> dict[str, str]:
    """Each key that has a value, as its environment variable."""
    found: dict[str, str] = {}
    for key, env, _ in variables():
        value: Any = config
        for part in key.split("."):
            value = getattr(value, part)
        text = _text(value)
        if text:
            found[env] = text
    return found


def apply(config: LoopwrightConfig, environ: MutableMapping[str, str]) -> list[str]:
    """Set the variables the environment lacks; the names set."""
    added = []
    for env, text in as_environ(config).items():
        if not (environ.get(env) or "").strip():
            environ[env] = text
            added.append(env)
    return added


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, pydantic.SecretStr):
        return value.get_secret_value()
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    if isinstance(value, Path):
        return str(value)
    return str(value)


def apply_to_process(*, lenient: bool = False) -> None:
    """At a command's start: the file's values into this process's environment (inherited by
    every child). An invalid file stops the command (exit 2) unless ``lenient`` (the
    commands that diagnose it)."""
    import os

    import typer

    from .model import ConfigError, load_config

    try:
        apply(load_config(), os.environ)
    except ConfigError as err:
        if not lenient:
            typer.echo(f"loopwright: {err}", err=True)
            raise SystemExit(2) from None
