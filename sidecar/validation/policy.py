"""The AST policy: language-level rules a skill file must follow, all reported in one pass.

It runs on the parsed tree before anything executes and is deliberately stricter than
RestrictedPython (which runs next, as a second line): imports by full dotted name from the
allowlist, no ``_``-prefixed names or attributes, no introspection attributes or
``str.format``, no dangerous builtins, no ``while``, recursion, classes, async, generators,
``global`` or bare ``except``, nothing at module level but MANIFEST, imports, constants and
function definitions, handlers declared only through ``@skill.function(...)`` with
declarative arguments, and no regex literal that backtracks exponentially.
Replay rules (step ids, where clocks and capabilities may be called) live in ``replay.py``.
"""

from __future__ import annotations

import ast

from RestrictedPython.transformer import INSPECT_ATTRIBUTES

from .findings import Finding, finding
from .imports import ALLOWED_MODULES, EXPORTS, REGEX_FUNCTIONS, regex_problem
from .symbols import ImportTable

#: Builtins and names skill code may not use: escapes, introspection, I/O, process exits,
#: and hash() (a deep tuple crashes CPython).
FORBIDDEN_NAMES = frozenset({
    "eval", "exec", "compile", "open", "input", "breakpoint", "help", "exit", "quit",
    "globals", "locals", "vars", "dir", "getattr", "setattr", "delattr", "hasattr",
    "type", "object", "super", "classmethod", "staticmethod", "property", "memoryview",
    "bytearray", "bytes", "id", "hash", "iter", "aiter", "anext", "format", "print",
    "printed", "BaseException", "SystemExit", "KeyboardInterrupt", "GeneratorExit",
})  # fmt: skip
FORBIDDEN_ATTRIBUTES = INSPECT_ATTRIBUTES | frozenset({
    "format", "format_map", "vformat", "get_field", "mro", "func_globals", "func_code",
})  # fmt: skip

_SPECIFIC_FIX = {
    "print": "Use ctx.log(message, **fields) instead of print.",
    "hash": "Compare values or use them as dict keys directly; hash() is unavailable.",
    "getattr": "Access attributes directly (obj.name); computed attribute names are refused.",
    "iter": "Loop with `for x in data:`; iter() is unavailable.",
}


class PolicyChecker(ast.NodeVisitor):
    def __init__(self, file: str, tree: ast.Module) -> None:
        self.file = file
        self.tree = tree
        self.imports = ImportTable.from_module(tree)
        self.parents = {c: p for p in ast.walk(tree) for c in ast.iter_child_nodes(p)}
        self.findings: list[Finding] = []
        self._defs: list[str] = []  # enclosing function names, innermost last
        self._module_functions = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
        self._module_constants = {
            t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets
            if isinstance(t, ast.Name)
        }  # fmt: skip

    def report(self, node: ast.AST, rule_id: str, message: str, fix: str | None = None) -> None:
        line = getattr(node, "lineno", 1)
        col = getattr(node, "col_offset", 0)
        self.findings.append(finding(self.file, rule_id, message, line=line, col=col, fix=fix))

    # --- module structure -----------------------------------------------------------------

    def visit_Module(self, node: ast.Module) -> None:
        for index, stmt in enumerate(node.body):
            if not self._allowed_at_module_level(stmt, index):
                self.report(
                    stmt,
                    "module-side-effect",
                    f"{type(stmt).__name__} statement at module level runs on every load",
                )
        self.generic_visit(node)

    def _allowed_at_module_level(self, stmt: ast.stmt, index: int) -> bool:
        if isinstance(stmt, ast.Import | ast.ImportFrom | ast.FunctionDef):
            return True
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            return index == 0 and isinstance(stmt.value.value, str)  # the docstring
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target = stmt.targets[0]
            return isinstance(target, ast.Name) and (
                target.id == "MANIFEST" or _is_literal(stmt.value)
            )
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            return stmt.value is not None and _is_literal(stmt.value)
        return False  # ClassDef, If, For, Try, While, With, expression calls, ...

    # --- imports ----------------------------------------------------------------------------

    def visit_Import(self, node: ast.Import) -> None:
        self._top_level_import(node)
        for alias in node.names:
            if alias.name not in ALLOWED_MODULES:
                self.report(node, "import-not-allowed", _import_message(alias.name))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        self._top_level_import(node)
        module = node.module or ""
        if node.level or module not in ALLOWED_MODULES:
            self.report(node, "import-not-allowed", _import_message("." * node.level + module))
            return
        for alias in node.names:
            if alias.name not in EXPORTS[module]:
                self.report(
                    node, "import-not-allowed", f"{module!r} has no vetted member {alias.name!r}"
                )

    def _top_level_import(self, node: ast.stmt) -> None:
        if self._defs:
            self.report(node, "import-not-top-level", "import inside a function")

    # --- names and attributes ---------------------------------------------------------------

    def visit_Name(self, node: ast.Name) -> None:
        self._check_name(node, node.id)
        if self.imports.is_module(node.id):
            parent = self.parents.get(node)
            if not (isinstance(parent, ast.Attribute) and parent.value is node):
                self.report(
                    node,
                    "module-as-value",
                    f"module {node.id!r} used as a value; use {node.id}.<name>",
                )

    def _check_name(self, node: ast.AST, name: str) -> None:
        if name.startswith("_"):
            self.report(node, "name-private", f"name {name!r} starts with '_'")
        elif name in FORBIDDEN_NAMES:
            self.report(
                node,
                "name-forbidden",
                f"{name!r} is not available to skills",
                fix=_SPECIFIC_FIX.get(name),
            )

    def visit_Attribute(self, node: ast.Attribute) -> None:
        self._check_attribute(node, node.attr)
        if isinstance(node.value, ast.Name) and self.imports.is_module(node.value.id):
            module = self.imports.modules[node.value.id]
            if module in EXPORTS and node.attr not in EXPORTS[module]:
                self.report(
                    node, "module-attribute-unknown", f"{module!r} has no {node.attr!r} in skills"
                )
        self.generic_visit(node)

    def _check_attribute(self, node: ast.AST, attr: str) -> None:
        if attr.startswith("_"):
            self.report(node, "attribute-private", f"attribute {attr!r} starts with '_'")
        elif attr in FORBIDDEN_ATTRIBUTES:
            self.report(node, "attribute-forbidden", f"attribute {attr!r} is refused")

    def visit_MatchClass(self, node: ast.MatchClass) -> None:
        # `case E(__traceback__=tb)` reads attributes without going through the getattr guard.
        for attr in node.kwd_attrs:
            self._check_attribute(node, attr)
        self.generic_visit(node)

    def visit_arg(self, node: ast.arg) -> None:
        self._check_name(node, node.arg)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.type is None:
            self.report(node, "bare-except", "bare `except:` catches the engine's interrupts")
        if node.name:
            self._check_name(node, node.name)
        self.generic_visit(node)

    # --- functions and calls -------------------------------------------------------------

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._check_name(node, node.name)
        if node.decorator_list:
            self._check_decorated(node)
        self._defs.append(node.name)
        self.generic_visit(node)
        self._defs.pop()

    def _check_decorated(self, node: ast.FunctionDef) -> None:
        top_level = node in self.tree.body
        decorator = node.decorator_list[0]
        if not top_level or len(node.decorator_list) != 1 or not _is_skill_function(decorator):
            self.report(
                node,
                "decorator-invalid",
                "only one @skill.function(...) decorator, on a module-level def",
            )
            return
        assert isinstance(decorator, ast.Call)
        if decorator.args:
            self.report(
                decorator,
                "decorator-invalid",
                "@skill.function takes keyword arguments only (fn_id=..., trigger=...)",
            )
        for keyword in decorator.keywords:
            if keyword.arg is None or not self._declarative(keyword.value):
                self.report(
                    keyword.value,
                    "decorator-arg",
                    f"argument {keyword.arg or '**'} is not a declarative value",
                )
            if keyword.arg == "on_failure" and isinstance(keyword.value, ast.Name):
                self._check_handler_signature(keyword.value.id)
        self._check_handler_signature(node.name)

    def _check_handler_signature(self, name: str) -> None:
        for node in self.tree.body:
            if isinstance(node, ast.FunctionDef) and node.name == name:
                a = node.args
                if (
                    len(a.posonlyargs) + len(a.args) != 1
                    or a.vararg
                    or a.kwarg
                    or a.kwonlyargs
                    or a.defaults
                ):
                    self.report(
                        node,
                        "handler-signature",
                        f"handler {name!r} must take exactly one argument: (ctx)",
                    )

    def _declarative(self, node: ast.expr) -> bool:
        if _is_literal(node):
            return True
        if isinstance(node, ast.List | ast.Tuple):
            return all(self._declarative(e) for e in node.elts)
        if isinstance(node, ast.Name):
            return node.id in self._module_constants or node.id in self._module_functions
        if isinstance(node, ast.Call):
            callee_ok = (
                isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "skill"
            ) or self.imports.resolve(node.func) == "datetime.timedelta"
            return callee_ok and all(
                self._declarative(a) for a in [*node.args, *(k.value for k in node.keywords)]
            )
        return False

    def visit_Call(self, node: ast.Call) -> None:
        if isinstance(node.func, ast.Name) and node.func.id in self._defs:
            self.report(node, "recursion", f"{node.func.id!r} calls itself")
        if self.imports.resolve(node.func) in REGEX_FUNCTIONS and node.args:
            pattern = node.args[0]
            if isinstance(pattern, ast.Constant) and isinstance(pattern.value, str):
                problem = regex_problem(pattern.value)
                if problem:
                    rule_id = "regex-nested-quantifier" if "nested" in problem else "regex-invalid"
                    self.report(pattern, rule_id, problem)
        self.generic_visit(node)

    # --- constructs refused outright ------------------------------------------------------

    def visit_While(self, node: ast.While) -> None:
        self.report(node, "loop-while", "`while` loops are refused (unbounded)")
        self.generic_visit(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.report(node, "class-forbidden", "class definitions are refused")
        self.generic_visit(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self.report(node, "async-forbidden", "async functions are refused")
        self.generic_visit(node)

    def visit_Await(self, node: ast.Await) -> None:
        self.report(node, "async-forbidden", "await is refused")
        self.generic_visit(node)

    def visit_AsyncFor(self, node: ast.AsyncFor) -> None:
        self.report(node, "async-forbidden", "async for is refused")
        self.generic_visit(node)

    def visit_AsyncWith(self, node: ast.AsyncWith) -> None:
        self.report(node, "async-forbidden", "async with is refused")
        self.generic_visit(node)

    def visit_Yield(self, node: ast.Yield) -> None:
        self.report(node, "yield-forbidden", "generators are refused")
        self.generic_visit(node)

    def visit_YieldFrom(self, node: ast.YieldFrom) -> None:
        self.report(node, "yield-forbidden", "generators are refused")
        self.generic_visit(node)

    def visit_Global(self, node: ast.Global) -> None:
        self.report(node, "global-forbidden", "`global` is refused")

    def visit_Nonlocal(self, node: ast.Nonlocal) -> None:
        self.report(node, "global-forbidden", "`nonlocal` is refused")


def _is_literal(node: ast.expr) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def _is_skill_function(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "function"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "skill"
    )


def _import_message(name: str) -> str:
    top = name.split(".")[0]
    if top in ALLOWED_MODULES and name != top:
        return f"{name!r} is not allowed: modules are allowed by full dotted name, only {top!r}"
    return f"module {name!r} is not importable in skills"


def check(tree: ast.Module, file: str) -> list[Finding]:
    checker = PolicyChecker(file, tree)
    checker.visit(tree)
    return checker.findings
