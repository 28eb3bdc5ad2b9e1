"""`loopwright doctor`: check what the platform needs and say what to fix.

Each check is a small function in ``doctor_checks.py`` taking a ``DoctorContext`` and
returning ``Finding``s; ``CHECKS`` lists them in the order they are shown. To add a check,
write a function and append it to ``CHECKS``.

Exit codes: 0 nothing needed is broken (warnings allowed); 1 something needed is broken;
2 bad usage.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import textwrap
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Annotated, Literal

import typer

Status = Literal["ok", "warn", "fail", "skip"]
MARK = {"ok": "ok  ", "warn": "warn", "fail": "FAIL", "skip": "skip"}


@dataclasses.dataclass(frozen=True)
class Finding:
    """One thing checked: ``fail`` is broken and needed, ``warn`` degraded or optional."""

    area: str
    status: Status
    message: str
    fix: str | None = None

    def to_json(self) -> dict[str, str | None]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class DoctorContext:
    """What the checks look at: the ports and folders `loopwright up` would use."""

    data_dir: Path = Path("var")
    skills_dir: Path = Path("skills_generated")
    ports: dict[str, int] = dataclasses.field(
        default_factory=lambda: {"engine": 8288, "agent": 8289, "sidecar": 8290, "console": 8291}
    )
    #: Network probes wait at most this long (an unreachable endpoint must not hang doctor).
    timeout_s: float = 3.0


Check = Callable[[DoctorContext], Iterable[Finding]]


def run_checks(context: DoctorContext, checks: Sequence[Check]) -> list[Finding]:
    findings: list[Finding] = []
    for check in checks:
        try:
            findings.extend(check(context))
        except Exception as err:  # a broken check must not hide the others' answers
            name = getattr(check, "__name__", "check").removeprefix("check_")
            findings.append(
                Finding(name, "fail", f"the check itself failed: {type(err).__name__}: {err}")
            )
    return findings


def render(findings: Sequence[Finding], width: int | None = None) -> str:
    """Each finding wrapped to the terminal (80 columns read as well as 200), continuation
    lines under the message so the marks and areas stay a column of their own."""
    width = max(40, width or shutil.get_terminal_size((100, 24)).columns)
    lines = []
    for f in findings:
        lines += _wrapped(f"{MARK[f.status]}  {f.area:<10} ", f.message, width)
        if f.fix and f.status in ("warn", "fail"):
            lines += _wrapped(f"{'':16}fix: ", f.fix, width, indent=" " * 21)
    broken = sum(1 for f in findings if f.status == "fail")
    warned = sum(1 for f in findings if f.status == "warn")
    if broken:
        lines.append(f"\n{broken} problem(s) to fix before `loopwright up`; {warned} warning(s).")
    else:
        lines.append(f"\nNothing needed is broken; {warned} warning(s).")
    return "\n".join(lines)


def _wrapped(first: str, text: str, width: int, indent: str = " " * 16) -> list[str]:
    return textwrap.wrap(
        text, width, initial_indent=first, subsequent_indent=indent,
        break_long_words=False, break_on_hyphens=False,
    )  # fmt: skip


def doctor_command(
    port: Annotated[int, typer.Option(help="Engine port to check.")] = 8288,
    sidecar_port: Annotated[int, typer.Option(help="Sidecar port to check.")] = 8290,
    agent_port: Annotated[int, typer.Option(help="Agent port to check.")] = 8289,
    console_port: Annotated[int, typer.Option(help="Web console port to check.")] = 8291,
    data_dir: Annotated[Path, typer.Option(help="Where the platform keeps its data.")] = Path(
        "var"
    ),
    skills_dir: Annotated[Path, typer.Option(help="Folder of generated skills.")] = Path(
        "skills_generated"
    ),
    as_json: Annotated[bool, typer.Option("--json", help="Print the findings as JSON.")] = False,
) -> None:
    """Check configuration, LLM endpoints, Prometheus, Slack, the sandbox, ports and disk."""
    from .doctor_checks import CHECKS

    context = DoctorContext(
        data_dir=data_dir,
        skills_dir=skills_dir,
        ports={
            "engine": port,
            "agent": agent_port,
            "sidecar": sidecar_port,
            "console": console_port,
        },
    )
    findings = run_checks(context, CHECKS)
    if as_json:
        ok = not any(f.status == "fail" for f in findings)
        typer.echo(json.dumps({"ok": ok, "findings": [f.to_json() for f in findings]}, indent=2))
    else:
        typer.echo(render(findings))
    if any(f.status == "fail" for f in findings):
        raise typer.Exit(1)
