"""The agent's tool set, assembled in one visible place: the orchestration SDK as tools."""

from __future__ import annotations

from typing import Literal

import pydantic

from .base import Args, Tool, ToolBox, ToolResult
from .drafts import Drafts
from .guide import SkillGuide
from .metrics import MetricsTools
from .runs import RunTools
from .services import EngineClient, SidecarClient
from .skills import SkillTools

Topic = Literal[
    "workflow",
    "example",
    "examples",
    "files",
    "manifest",
    "functions",
    "ctx",
    "steps",
    "determinism",
    "capabilities",
    "errors",
    "imports",
    "language",
    "limits",
    "validation",
    "rules",
]


class SkillGuideArgs(Args):
    topic: Topic = pydantic.Field(description="what to read; start with 'workflow'")


def guide_tool(guide: SkillGuide) -> Tool:
    def run(args: SkillGuideArgs) -> ToolResult:
        return ToolResult.success(guide.read(args.topic))

    return Tool(
        "skill_guide",
        "Read the skill contract, SDK usage and capability reference, with worked examples.",
        SkillGuideArgs,
        run,
    )


def build_toolbox(
    *,
    guide: SkillGuide,
    skills: SkillTools,
    metrics: MetricsTools,
    runs: RunTools,
) -> ToolBox:
    """The order here is the order the model sees them in: look, read, write, test."""
    return ToolBox([guide_tool(guide), *metrics.tools(), *skills.tools(), *runs.tools()])


__all__ = [
    "Drafts",
    "EngineClient",
    "SidecarClient",
    "build_toolbox",
]
