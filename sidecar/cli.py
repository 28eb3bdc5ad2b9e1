"""`loopwright skills ...` (talks to the sidecar's HTTP API) and `loopwright sidecar` (runs it).

Exit codes: 0 done; 1 not found, refused, invalid (`validate`), or the sidecar unreachable;
2 bad usage.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from pathlib import Path
from typing import Annotated, Any, NoReturn

import httpx
import typer

from loopwright.config import core_constants, load_config
from loopwright.heap import freeze_start_up_heap
from loopwright.http_errors import error_message
from loopwright.url_path import segment
from sidecar.facade.text import printable
from skills_core.classify import CORE_SKILLS_DIR

from .approval import ApprovalPolicy
from .history_view import report_text, skill_history, version_detail
from .settings import SidecarSettings

DEFAULT_URL = "http://127.0.0.1:8290"

skills_app = typer.Typer(
    name="skills",
    help="Inspect and govern skills: versions, diffs, approvals, rollbacks.",
    no_args_is_help=True,
    add_completion=False,
)

UrlOption = Annotated[
    str, typer.Option("--url", envvar="LOOPWRIGHT_SIDECAR_URL", help="The sidecar's HTTP API.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the raw JSON answer.")]
ByOption = Annotated[str, typer.Option("--by", help="Who decides (recorded in the audit log).")]


class Api:
    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        try:
            resp = httpx.request(method, f"{self.url}{path}", json=body, timeout=120)
        except httpx.HTTPError as err:
            fail(f"the sidecar is not reachable at {self.url}: {err}")
        if resp.status_code >= 400:
            try:
                message = error_message(resp.json(), resp.text)
            except ValueError:
                message = resp.text
            fail(f"{resp.status_code}: {message}")
        return resp

    def json(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.call(method, path, body).json()


def fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def emit(data: Any, as_json: bool, text: str) -> None:
    typer.echo(json.dumps(data, indent=2) if as_json else text)


@skills_app.command("list")
def list_skills(
    url: UrlOption = DEFAULT_URL,
    as_json: JsonOption = False,
    show_all: Annotated[bool, typer.Option("--all", help="Include removed skills.")] = False,
) -> None:
    """Every skill: state, active version, versions awaiting approval (removed: --all)."""
    answer = Api(url).json("GET", "/v1/skills")
    skills = answer["data"]
    hidden = 0 if show_all else sum(1 for s in skills if s["state"] == "removed")
    skills = [s for s in skills if show_all or s["state"] != "removed"]
    rows = [f"{'SKILL':<32} {'STATE':<18} {'ACTIVE':>6} {'LATEST':>6}  AWAITING"]
    for s in skills:
        active = s["active_version"] if s["active_version"] is not None else "-"
        waiting = ",".join(str(n) for n in s["awaiting_approval"]) or "-"
        rows.append(
            f"{s['id']:<32} {s['state']:<18} {active!s:>6} {s['latest_version']:>6}  {waiting}"
        )
    if hidden:
        rows.append(f"({hidden} removed skill(s) not shown; --all lists them)")
    if "isolation" in answer:  # a sidecar that reports it; never hide its absence
        iso = answer["isolation"]
        rows.append(f"\nworkers: {iso['detail']} (agent-written skills: {iso['agent_skills']})")
    emit(skills, as_json, "\n".join(rows))


@skills_app.command("show")
def show(
    skill_id: str,
    version: Annotated[
        int | None, typer.Option("--version", help="One version: its report and source.")
    ] = None,
    url: UrlOption = DEFAULT_URL,
    as_json: JsonOption = False,
) -> None:
    """A skill's versions (when, by whom, why; decisions), or one version with its
    validation report and source."""
    api = Api(url)
    if version is not None:
        data = api.json("GET", f"/v1/skills/{segment(skill_id)}/versions/{version}")
        emit(data, as_json, version_detail(skill_id, data))
        return
    data = api.json("GET", f"/v1/skills/{segment(skill_id)}")
    emit(data, as_json, skill_history(data))


@skills_app.command("validate")
def validate(
    file: Annotated[Path, typer.Argument(help="The skill file (.py) to check.")],
    url: UrlOption = DEFAULT_URL,
    as_json: JsonOption = False,
) -> None:
    """Validate a skill file without installing it: the full report; exit 1 if it fails.

    Asks the running sidecar (which also checks function ids against installed skills); when
    none answers, validates locally and says so.
    """
    try:
        source = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        typer.echo(f"error: cannot read {file}: {err}", err=True)
        raise typer.Exit(2) from None
    report = _validate_remote(url, source, file.name)
    if report is None:
        typer.echo(
            f"note: no sidecar at {url}; validated locally (clashes with installed skills' "
            "function ids are not checked)",
            err=True,
        )
        report = _validate_local(source, file.name)
    emit(report, as_json, report_text(report))
    if not report.get("ok"):
        raise typer.Exit(1)


def _validate_remote(url: str, source: str, filename: str) -> dict[str, Any] | None:
    try:
        httpx.get(f"{url.rstrip('/')}/v1/status", timeout=2).raise_for_status()
    except httpx.HTTPError:
        return None
    report: dict[str, Any] = Api(url).json(
        "POST", "/v1/validate", {"source": source, "filename": filename}
    )
    return report


def _validate_local(source: str, filename: str) -> dict[str, Any]:
    from .validation import validate_source

    return validate_source(source, filename).to_dict()


@skills_app.command("diff")
def diff(
    skill_id: str,
    start: Annotated[
        int | None, typer.Option("--from", help="Base version (default parent).")
    ] = None,
    end: Annotated[int | None, typer.Option("--to", help="Version (default latest).")] = None,
    url: UrlOption = DEFAULT_URL,
) -> None:
    """Unified diff between two versions."""
    query = "&".join(f"{k}={v}" for k, v in (("from", start), ("to", end)) if v is not None)
    typer.echo(Api(url).call("GET", f"/v1/skills/{segment(skill_id)}/diff?{query}").text, nl=False)


def _outcome(data: dict[str, Any], as_json: bool) -> None:
    note = f" ({data['note']})" if data.get("note") else ""
    emit(data, as_json, printable(f"{data['skill_id']} v{data['version']}: {data['state']}{note}"))


@skills_app.command("approve")
def approve(
    skill_id: str,
    version: Annotated[
        int | None, typer.Option("--version", help="Default: the latest awaiting.")
    ] = None,
    by: ByOption = "human",
    url: UrlOption = DEFAULT_URL,
    as_json: JsonOption = False,
) -> None:
    """Approve a version awaiting approval: it goes live."""
    body = {"version": version, "by": by}
    _outcome(Api(url).json("POST", f"/v1/skills/{segment(skill_id)}/approve", body), as_json)


@skills_app.command("reject")
def reject(
    skill_id: str,
    version: Annotated[
        int | None, typer.Option("--version", help="Default: the latest awaiting.")
    ] = None,
    reason: Annotated[str | None, typer.Option(help="Why (shown to the author).")] = None,
    by: ByOption = "human",
    url: UrlOption = DEFAULT_URL,
    as_json: JsonOption = False,
) -> None:
    """Reject a version awaiting approval: it never runs."""
    body = {"version": version, "by": by, "reason": reason}
    _outcome(Api(url).json("POST", f"/v1/skills/{segment(skill_id)}/reject", body), as_json)


@skills_app.command("rollback")
def rollback(
    skill_id: str,
    version_arg: Annotated[int | None, typer.Argument(hidden=True, metavar="[VERSION]")] = None,
    version: Annotated[
        int | None, typer.Option("--version", help="The version to make active again.")
    ] = None,
    by: ByOption = "human",
    url: UrlOption = DEFAULT_URL,
    as_json: JsonOption = False,
) -> None:
    """Make an earlier version active again: `rollback SKILL --version N` (runs in flight keep
    their version)."""
    if version is None:
        version = version_arg
    if version is None:
        raise typer.BadParameter("which version? e.g. --version 1", param_hint="--version")
    body = {"version": version, "by": by}
    _outcome(Api(url).json("POST", f"/v1/skills/{segment(skill_id)}/rollback", body), as_json)


@skills_app.command("pause")
def pause(
    skill_id: str, by: ByOption = "human", url: UrlOption = DEFAULT_URL, as_json: JsonOption = False
) -> None:
    """Stop new runs (runs in flight finish)."""
    _outcome(Api(url).json("POST", f"/v1/skills/{segment(skill_id)}/pause", {"by": by}), as_json)


@skills_app.command("resume")
def resume(
    skill_id: str, by: ByOption = "human", url: UrlOption = DEFAULT_URL, as_json: JsonOption = False
) -> None:
    """Take new runs again."""
    _outcome(Api(url).json("POST", f"/v1/skills/{segment(skill_id)}/resume", {"by": by}), as_json)


def sidecar_command(
    engine: Annotated[str, typer.Option("--engine", help="The engine's URL.")] = (
        "http://127.0.0.1:8288"
    ),
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 for the API and SDK app.")] = 8290,
    host: Annotated[str, typer.Option(help="Interface to bind (keep it loopback).")] = "127.0.0.1",
    skills_dir: Annotated[Path, typer.Option(help="The watched folder.")] = Path(
        "skills_generated"
    ),
    db: Annotated[
        Path,
        typer.Option(
            help="Anchor of the platform store: platform.db beside it, unless LOOPWRIGHT_STORE_URL is set."
        ),
    ] = Path("var/sidecar.db"),
    app_id: Annotated[str, typer.Option(help="The Inngest app id.")] = "loopwright-skills",
    sync_mode: Annotated[
        str, typer.Option(help="'engine' (embedded engine) or 'put' (Inngest Dev Server/Cloud).")
    ] = "engine",
    approval_policy: Annotated[
        Path | None, typer.Option(help="JSON file overriding the approval policy.")
    ] = None,
    core_dir: Annotated[
        Path | None,
        typer.Option(help="The core skills (default: the installed skills_core/skills/)."),
    ] = CORE_SKILLS_DIR,
    no_core: Annotated[bool, typer.Option("--no-core", help="Load no core skills.")] = False,
    demo: Annotated[
        bool, typer.Option(help="Demo variants of the core skills (health-check every minute).")
    ] = False,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
) -> None:
    """Run the sidecar: watch, validate, version and hot-register skills; serve them.

    Skills reach the platform's capabilities, configured by the LOOPWRIGHT_* variables of
    docs/SKILLS.md (the inbox lives in $LOOPWRIGHT_CAPABILITIES_DB, default var/capabilities.db).
    """
    from .server import serve

    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if sync_mode not in ("engine", "put"):
        raise typer.BadParameter("use 'engine' or 'put'", param_hint="--sync-mode")
    try:
        policy = ApprovalPolicy.load(approval_policy) if approval_policy else ApprovalPolicy()
    except (OSError, ValueError, TypeError) as err:
        raise typer.BadParameter(str(err), param_hint="--approval-policy") from None
    try:
        constants = core_constants(load_config())
    except ValueError as err:  # ConfigError included: names the key and the variable
        raise typer.BadParameter(str(err), param_hint="loopwright.toml") from None
    settings = SidecarSettings(
        skills_dir=skills_dir,
        db=db,
        engine_url=engine,
        host=host,
        port=port,
        app_id=app_id,
        sync_mode="put" if sync_mode == "put" else "engine",
        signing_key=os.environ.get("INNGEST_SIGNING_KEY") or None,
        approval=policy,
        core_dir=None if no_core else core_dir,
        core_constants=constants,
        demo=demo,
    )
    typer.echo(f"Loopwright sidecar on {settings.origin} (skills in {skills_dir}, engine {engine})")
    if settings.core_dir is not None:
        mode = "demo variants: health-check every minute" if demo else "health-check every 30 min"
        typer.echo(f"  core skills from {settings.core_dir} ({mode})")
    freeze_start_up_heap()  # here, not in serve(): tests run serve() in their own process
    asyncio.run(serve(settings, log_level=log_level.lower()))
