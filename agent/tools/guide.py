"""The skill guide the agent reads: sections of docs/SKILLS.md, guide files, example skills.

docs/SKILLS.md is the contract the validator enforces, so the agent reads it rather than a
paraphrase that could drift. Topics map to its sections in ``prompts/guide/topics.json``.
The example skills in ``prompts/examples`` (``*.py.txt``, so no tool mistakes them for
modules) are validated by the test suite.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from agent.errors import ToolFailed
from agent.prompts import EXAMPLES_DIR, GUIDE_DIR


class SkillGuide:
    def __init__(self, skills_doc: Path, extra_examples: tuple[Path, ...] = ()) -> None:
        self.skills_doc = skills_doc
        self.extra_examples = extra_examples
        spec = json.loads((GUIDE_DIR / "topics.json").read_text(encoding="utf-8"))
        self.topics: dict[str, dict[str, object]] = spec["topics"]

    def index(self) -> str:
        lines = ["Topics (call skill_guide with one of these):"]
        lines += [f"- {name}: {spec['about']}" for name, spec in self.topics.items()]
        return "\n".join(lines)

    def read(self, topic: str) -> str:
        spec = self.topics.get(topic)
        if spec is None:
            raise ToolFailed(f"unknown topic {topic!r}. " + self.index())
        if "file" in spec:
            return (GUIDE_DIR / str(spec["file"])).read_text(encoding="utf-8").strip()
        if spec.get("examples"):
            return self.examples()
        return self.section(str(spec["section"]))

    def section(self, heading: str) -> str:
        try:
            text = self.skills_doc.read_text(encoding="utf-8")
        except OSError as err:
            raise ToolFailed(f"the skill contract is not readable here ({err})") from None
        match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
        if not match:
            raise ToolFailed(f"section {heading!r} is missing from {self.skills_doc.name}")
        return f"## {heading}\n{match.group(1).strip()}"

    def examples(self) -> str:
        files = sorted(EXAMPLES_DIR.glob("*.py.txt")) + [
            p for d in self.extra_examples for p in sorted(d.glob("*.py")) if _is_skill(p)
        ]
        parts = [
            f"### {p.name}\n```python\n{p.read_text(encoding='utf-8').strip()}\n```" for p in files
        ]
        return "Validated example skills:\n\n" + "\n\n".join(parts)


def _is_skill(path: Path) -> bool:
    try:
        return "MANIFEST = {" in path.read_text(encoding="utf-8")
    except OSError:
        return False
