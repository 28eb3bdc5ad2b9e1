"""The agent's tools: the skill guide, capabilities, skills, events and runs.

``ToolBox.dispatch(name, arguments)`` validates arguments with pydantic and always answers
with a ``ToolResult``; a bad call gets a precise error the model can act on.
"""

from .base import Args, Tool, ToolBox, ToolResult
from .drafts import Drafts, MemoryDrafts
from .guide import SkillGuide
from .metrics import MetricsTools
from .runs import RunTools
from .services import EngineClient, SidecarClient
from .skills import SkillTools
from .toolbox import build_toolbox

__all__ = [
    "Args",
    "Drafts",
    "EngineClient",
    "MemoryDrafts",
    "MetricsTools",
    "RunTools",
    "SidecarClient",
    "SkillGuide",
    "SkillTools",
    "Tool",
    "ToolBox",
    "ToolResult",
    "build_toolbox",
]
