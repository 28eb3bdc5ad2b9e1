"""The `loopwright` CLI: every command answers --help, and bad options exit 2 with a reason."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from loopwright.cli import app

runner = CliRunner()


@pytest.mark.parametrize("args", [["--help"], ["engine", "--help"], ["up", "--help"]])
def test_every_command_has_help(args: list[str]) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_bad_retry_backoff_is_refused_with_its_reason() -> None:
    result = runner.invoke(app, ["engine", "--retry-backoff", "soonish"])
    assert result.exit_code == 2
    assert "--retry-backoff" in result.output


def test_python_dash_m_engine_has_help() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "engine", "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and "--sdk-url" in done.stdout
