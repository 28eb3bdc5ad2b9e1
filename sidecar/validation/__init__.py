"""Validate skill files and dry-run their functions in a sandbox.

``validate_source(source, filename)`` returns a ``ValidationReport`` listing every problem;
``dry_run(source, filename, fn_id, event)`` runs one function once and returns a
``DryRunResult``. See README.md beside this file and docs/SKILLS.md.
"""

from .declarations import FunctionSpec, SkillSpec
from .findings import Finding
from .jobs import SandboxLimits
from .manifest import Manifest
from .outcomes import DryRunResult, RunError
from .pipeline import MAX_SOURCE_BYTES, dry_run, validate_source
from .report import ValidationReport
from .rules import LAYERS, RULES, Rule

__all__ = [
    "LAYERS",
    "MAX_SOURCE_BYTES",
    "RULES",
    "DryRunResult",
    "Finding",
    "FunctionSpec",
    "Manifest",
    "Rule",
    "RunError",
    "SandboxLimits",
    "SkillSpec",
    "ValidationReport",
    "dry_run",
    "validate_source",
]
