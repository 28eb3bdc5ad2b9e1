"""Which names in a skill file refer to vetted modules, so the policy can resolve ``re.enum``.

Only module-level imports bind names to modules (imports elsewhere are refused). A name bound
by ``import datetime`` resolves to ``datetime``; one bound by ``from datetime import datetime
as dt`` resolves to ``datetime.datetime``; attribute chains extend the path, so ``dt.now``
resolves to ``datetime.datetime.now``.
"""

from __future__ import annotations

import ast
import dataclasses


@dataclasses.dataclass
class ImportTable:
    #: Local name → module (``import x as y``).
    modules: dict[str, str] = dataclasses.field(default_factory=dict)
    #: Local name → ``module.member`` (``from x import y as z``).
    members: dict[str, str] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_module(cls, tree: ast.Module) -> ImportTable:
        table = cls()
        for node in tree.body:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    local = alias.asname or alias.name.split(".")[0]
                    table.modules[local] = alias.name if alias.asname else local
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    table.members[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        return table

    def resolve(self, node: ast.expr) -> str | None:
        """The dotted path ``node`` names, if it is rooted at an imported name."""
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        root = self.modules.get(node.id) or self.members.get(node.id)
        if root is None:
            return None
        return ".".join([root, *reversed(parts)])

    def is_module(self, name: str) -> bool:
        return name in self.modules
