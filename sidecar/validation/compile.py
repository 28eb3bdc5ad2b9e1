"""RestrictedPython compilation, with guarded arithmetic added to its transformer.

RestrictedPython rewrites attribute, item, iteration and augmented-assignment operations into
calls to guards (``_getattr_``, ``_getitem_``, ``_getiter_``, ``_inplacevar_`` ...) and refuses
a second, independent list of constructs. It has no hook for binary operators, so
``'a' * 10**10`` would allocate 10 GB before any guard could look. ``SkillTransformer`` adds
one: ``*``, ``**``, ``<<`` and ``+`` become ``_mul_``, ``_pow_``, ``_lshift_`` and ``_add_``
calls, which ``guards.py`` bounds by the size of the result. (The transformer also prevents
CPython's constant folding of such expressions, which would happen at compile time.)
"""

from __future__ import annotations

import ast
import re
from types import CodeType

from RestrictedPython.compile import compile_restricted_exec
from RestrictedPython.transformer import RestrictingNodeTransformer, copy_locations

from .findings import Finding, finding

GUARDED_BINOPS: dict[type[ast.operator], str] = {
    ast.Mult: "_mul_",
    ast.Pow: "_pow_",
    ast.LShift: "_lshift_",
    ast.Add: "_add_",
}

_LINE = re.compile(r"^Line (\d+): (.*)$", re.DOTALL)


class SkillTransformer(RestrictingNodeTransformer):
    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        node = self.node_contents_visit(node)
        guard = GUARDED_BINOPS.get(type(node.op))
        if guard is None:
            return node
        call = ast.Call(func=ast.Name(guard, ast.Load()), args=[node.left, node.right], keywords=[])
        copy_locations(call, node)
        return call


def restricted_compile(source: str, file: str) -> tuple[CodeType | None, list[Finding]]:
    """Compile with RestrictedPython; its refusals become ``restricted-compile`` findings."""
    try:
        result = compile_restricted_exec(source, filename=file, policy=SkillTransformer)
    except (RecursionError, MemoryError):
        return None, [finding(file, "source-too-complex", "nesting is too deep to compile")]
    findings = []
    for error in result.errors:
        match = _LINE.match(error)
        line, message = (int(match.group(1)), match.group(2)) if match else (1, error)
        findings.append(finding(file, "restricted-compile", message, line=line))
    return (result.code if not findings else None), findings
