"""Skill tools: list, read, write and test skills — through the sidecar when it runs.

``write_skill`` goes through the sidecar (validate, version, register) and returns the full
report and the registration state. When the sidecar is not running it validates locally with
``sidecar.validation.validate_source`` and says plainly that the skill was validated but not
registered. ``test_skill`` dry-runs (or, through the sidecar, really runs) one function.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated, Any, Literal

import pydantic

from agent.errors import ServiceUnavailable, ToolFailed

from .base import Args, Tool, ToolResult
from .drafts import Drafts
from .reports import (
    REGISTERED_STATES,
    dry_run_view,
    manifest_of,
    problem_text,
    report_view,
    skill_facts,
)
from .services import SidecarClient

SkillId = Annotated[
    str,
    pydantic.Field(
        pattern=r"^[a-z0-9][a-z0-9-]{1,62}$",
        description="the skill id, like 'latency-watch' (lowercase letters, digits, '-')",
    ),
]


def filename_for(skill_id: str) -> str:
    return skill_id.replace("-", "_") + ".py"


class ListSkillsArgs(Args):
    pass


class ReadSkillArgs(Args):
    id: SkillId
    version: int | None = pydantic.Field(
        default=None, ge=1, description="a version number; omit for the latest"
    )


class WriteSkillArgs(Args):
    id: SkillId
    source: str = pydantic.Field(
        min_length=1, max_length=262_144, description="the complete Python source of the skill"
    )
    reason: str = pydantic.Field(
        default="", max_length=500, description="why this version (shown to the reviewer)"
    )


class TestSkillArgs(Args):
    id: SkillId
    event: dict[str, Any] | None = pydantic.Field(
        default=None,
        description='the event to run with, {"name": ..., "data": {...}}; omit for the default',
    )
    fn_id: str | None = pydantic.Field(
        default=None, description="the function to run; omit for the skill's main function"
    )
    mode: Literal["dry", "real"] = pydantic.Field(
        default="dry", description="'dry': fake capabilities, nothing posted; 'real': one real run"
    )


class SkillTools:
    def __init__(
        self,
        sidecar: SidecarClient | None,
        drafts: Drafts,
        skills_dir: Path,
        review_command: str,
    ) -> None:
        self.sidecar = sidecar
        self.drafts = drafts
        self.skills_dir = skills_dir
        self.review_command = review_command

    def tools(self) -> list[Tool]:
        return [
            Tool(
                "list_skills",
                "List the skills that exist (core and generated), with their state.",
                ListSkillsArgs,
                self.list_skills,
            ),
            Tool(
                "read_skill",
                "Read a skill's source and state, at a version or the latest.",
                ReadSkillArgs,
                self.read_skill,
            ),
            Tool(
                "write_skill",
                "Write a new version of a skill. Returns the full validation report "
                "(every finding with its fix) and whether it was registered.",
                WriteSkillArgs,
                self.write_skill,
            ),
            Tool(
                "test_skill",
                "Run one function of a skill once: a dry run with fake capabilities "
                "(default) or one real run. Returns steps, logs, the result or the error.",
                TestSkillArgs,
                self.test_skill,
            ),
        ]

    # -- list / read ------------------------------------------------------------------------
    def list_skills(self, _: ListSkillsArgs) -> ToolResult:
        if self.sidecar is not None:
            try:
                return ToolResult.success({"skills": self.sidecar.list_skills()})
            except ServiceUnavailable:
                pass
        files = sorted(p.stem.replace("_", "-") for p in self.skills_dir.glob("*.py"))
        return ToolResult.success(
            {
                "skills": files,
                "drafts": self.drafts.draft_ids(),
                "note": "the sidecar is not running: these are the files in "
                "skills_generated/ and the drafts of this agent, without their state",
            }
        )

    def read_skill(self, args: ReadSkillArgs) -> ToolResult:
        if self.sidecar is not None:
            try:
                if args.version is None:
                    return ToolResult.success(self.sidecar.skill(args.id))
                return ToolResult.success(self.sidecar.version(args.id, args.version))
            except ServiceUnavailable:
                pass
        source = self._local_source(args.id)
        if source is None:
            raise ToolFailed(f"no skill {args.id!r}: list_skills shows the ids that exist")
        return ToolResult.success(
            {"id": args.id, "source": source, "note": "read locally (the sidecar is not running)"}
        )

    # -- write ------------------------------------------------------------------------------
    def write_skill(self, args: WriteSkillArgs) -> ToolResult:
        self.drafts.put_draft(args.id, args.source)
        if self.sidecar is not None:
            try:
                answer = self.sidecar.write(args.id, args.source, args.reason)
            except ServiceUnavailable:
                pass
            else:
                return self._written(args, answer.get("report") or {}, answer)
        from sidecar.validation import validate_source

        report = validate_source(args.source, filename_for(args.id)).to_dict()
        return self._written(args, report, None)

    def _written(
        self, args: WriteSkillArgs, report: dict[str, Any], answer: dict[str, Any] | None
    ) -> ToolResult:
        view = report_view(report)
        ok = view["ok"]
        sha = hashlib.sha256(args.source.encode()).hexdigest()
        if answer is None:
            state, version, registered = ("validated" if ok else "invalid"), None, False
            note = (
                "validated locally; the sidecar is not running, so the skill was NOT "
                "registered (start the platform with `loopwright up`, then write it again)"
                if ok
                else "validation failed (checked locally; the sidecar is not running)"
            )
        else:
            state = str(answer.get("state") or ("valid" if ok else "invalid"))
            version = answer.get("version")
            registered = ok and state.lower() in REGISTERED_STATES
            note = f"version {version}: {state}"
        payload = {"skill_id": args.id, "version": version, "state": state}
        payload |= {"registered": registered, "note": note, "report": view}
        facts = skill_facts(manifest_of(report)) if ok else {}
        review = self.review_command.format(id=args.id, version=version or "latest")
        skill = None
        if ok:
            ref = f"{args.id}@{version}" if version is not None else f"{args.id}#{sha[:12]}"
            skill = {
                "ref": ref,
                "id": args.id,
                "version": version,
                "state": state,
                "registered": registered,
                "facts": facts,
                "manifest": manifest_of(report),
                "review_command": review,
            }
        return ToolResult(
            ok=True,
            content=ToolResult.success(payload).content,
            data={"report": report, "facts": facts, "state": state, "version": version},
            check={
                "kind": "validation",
                "ok": ok,
                "skill_id": args.id,
                "problem": "" if ok else problem_text(report),
            },
            skill=skill,
        )

    # -- test -------------------------------------------------------------------------------
    def test_skill(self, args: TestSkillArgs) -> ToolResult:
        fn_id = args.fn_id or args.id
        if self.sidecar is not None:
            try:
                answer = self.sidecar.test(args.id, fn_id, args.event, args.mode)
            except ServiceUnavailable:
                if args.mode == "real":
                    raise
            else:
                return self._tested(args, fn_id, answer)
        if args.mode == "real":
            raise ServiceUnavailable("a real run needs the sidecar; start it with `loopwright up`")
        source = self._local_source(args.id)
        if source is None:
            raise ToolFailed(f"no source for skill {args.id!r}: write_skill it first")
        from sidecar.validation import dry_run

        result = dry_run(source, filename_for(args.id), fn_id, args.event).model_dump(mode="json")
        return self._tested(args, fn_id, result)

    def _tested(self, args: TestSkillArgs, fn_id: str, answer: dict[str, Any]) -> ToolResult:
        nested = answer.get("result")
        result: dict[str, Any] = nested if isinstance(nested, dict) else answer
        view = dry_run_view(result)
        ok = bool(answer.get("ok", view["ok"]))
        view["ok"] = ok
        view["mode"] = args.mode
        problem = ""
        if not ok:
            error = view.get("error") or {}
            findings = "\n".join(f"[{f.get('rule')}] {f.get('message')}" for f in view["findings"])
            problem = f"{fn_id}: [{error.get('rule')}] {error.get('message')}" if error else ""
            problem = "\n".join(p for p in (problem, findings) if p) or "the run failed"
        return ToolResult(
            ok=True,
            content=ToolResult.success(view).content,
            data={"test": answer, "mode": args.mode},
            check={"kind": "test", "ok": ok, "skill_id": args.id, "problem": problem},
        )

    def _local_source(self, skill_id: str) -> str | None:
        draft = self.drafts.get_draft(skill_id)
        if draft is not None:
            return draft
        path = self.skills_dir / filename_for(skill_id)
        return path.read_text(encoding="utf-8") if path.is_file() else None
