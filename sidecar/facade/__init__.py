"""The restricted, skill-facing API: ``skill`` (declarations) and ``ctx`` (run time).

Skill code touches only these objects — never the inngest client, context or raw modules.
See README.md beside this file for how a worker or the dry run wires them together.
"""

from .capabilities import (
    Capabilities,
    CapabilityBackends,
    CapabilityCall,
    build_capabilities,
)
from .client import FunctionDeclaration, SkillClient
from .context import LogSink, SkillContext
from .errors import SkillError, SkillViolation
from .events import EventView
from .exposure import Exposed
from .fakes import FakeCapabilities
from .grants import CapabilityGrants
from .payload import JSON, to_json_value
from .recording import RecordingStepBackend, StepRecord
from .steps import Step, StepBackend, StepGrants

__all__ = [
    "JSON",
    "Capabilities",
    "CapabilityBackends",
    "CapabilityCall",
    "CapabilityGrants",
    "EventView",
    "Exposed",
    "FakeCapabilities",
    "FunctionDeclaration",
    "LogSink",
    "RecordingStepBackend",
    "SkillClient",
    "SkillContext",
    "SkillError",
    "SkillViolation",
    "Step",
    "StepBackend",
    "StepGrants",
    "StepRecord",
    "build_capabilities",
    "to_json_value",
]
