"""Replay rules: what keeps a function deterministic when Inngest re-runs its body.

Inngest re-executes a function's body on every step and memoizes only step results, so:
step ids are string literals, unique per function (they key the memo); ``ctx.step`` and
``ctx.capabilities`` are used directly (so these rules can see every use); capabilities,
clocks and random draws happen only inside the function passed to ``ctx.step.run`` (a lambda
there, or a ``def`` passed by name); steps are never nested. The same rules are enforced again
at run time by the facade and the vetted modules; this pass reports them all before anything
runs. It also collects what the contract stage compares with the manifest: capabilities used,
events sent and functions invoked (when written as literals).
"""

from __future__ import annotations

import ast
import dataclasses

from sidecar.facade.limits import MAX_STEPS_PER_RUN
from sidecar.facade.steps import STEP_ID_PATTERN, STEP_METHODS

from .findings import Finding, finding
from .imports import NONDETERMINISTIC
from .symbols import ImportTable


@dataclasses.dataclass
class Use:
    name: str
    line: int
    col: int


@dataclasses.dataclass
class ReplayFacts:
    capabilities: list[Use] = dataclasses.field(default_factory=list)
    emits: list[Use] = dataclasses.field(default_factory=list)
    invokes: list[Use] = dataclasses.field(default_factory=list)


class ReplayChecker:
    def __init__(self, file: str, tree: ast.Module) -> None:
        self.file = file
        self.tree = tree
        self.imports = ImportTable.from_module(tree)
        self.parents = {c: p for p in ast.walk(tree) for c in ast.iter_child_nodes(p)}
        self.findings: list[Finding] = []
        self.facts = ReplayFacts()
        self._callback_lambdas: set[int] = set()
        self._callback_names: set[str] = set()
        self._step_ids: dict[str, set[str]] = {}

    def report(self, node: ast.AST, rule_id: str, message: str) -> None:
        self.findings.append(
            finding(
                self.file,
                rule_id,
                message,
                line=getattr(node, "lineno", 1),
                col=getattr(node, "col_offset", 0),
            )
        )

    def run(self) -> None:
        for node in ast.walk(self.tree):
            method = _step_method(node)
            if method == "run" and isinstance(node, ast.Call) and len(node.args) >= 2:
                callback = node.args[1]
                if isinstance(callback, ast.Lambda):
                    self._callback_lambdas.add(id(callback))
                elif isinstance(callback, ast.Name):
                    self._callback_names.add(callback.id)
        self._walk(self.tree, in_step=False, function="<module>")

    def _walk(self, node: ast.AST, *, in_step: bool, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            child_in_step, child_function = in_step, function
            if isinstance(child, ast.Lambda) and id(child) in self._callback_lambdas:
                child_in_step = True
            elif isinstance(child, ast.FunctionDef):
                child_in_step = in_step or child.name in self._callback_names
                if node is self.tree:
                    child_function = child.name
            self._check(child, in_step=in_step, function=function)
            self._walk(child, in_step=child_in_step, function=child_function)

    def _check(self, node: ast.AST, *, in_step: bool, function: str) -> None:
        if isinstance(node, ast.Call) and _step_method(node):
            self._check_step_call(node, in_step=in_step, function=function)
        elif isinstance(node, ast.Attribute) and node.attr == "step":
            self._check_step_use(node)
        elif isinstance(node, ast.Attribute) and node.attr == "capabilities":
            self._check_capability_use(node, in_step=in_step)
        if isinstance(node, ast.Name | ast.Attribute) and not in_step:
            path = self.imports.resolve(node)
            if path in NONDETERMINISTIC:
                self.report(
                    node,
                    "nondeterministic-call",
                    f"{path} outside a step callback gives a different value on replay",
                )

    def _check_step_call(self, node: ast.Call, *, in_step: bool, function: str) -> None:
        assert isinstance(node.func, ast.Attribute)
        method = node.func.attr
        if in_step:
            self.report(node, "step-nested", f"ctx.step.{method} inside a step callback")
        first = node.args[0] if node.args else None
        if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
            self.report(
                node,
                "step-id-literal",
                f"ctx.step.{method} needs a string literal step id as first argument",
            )
        elif not STEP_ID_PATTERN.match(first.value):
            self.report(
                first,
                "step-id-literal",
                f"step id {first.value!r} must match {STEP_ID_PATTERN.pattern}",
            )
        else:
            seen = self._step_ids.setdefault(function, set())
            if first.value in seen:
                self.report(
                    first,
                    "step-id-duplicate",
                    f"step id {first.value!r} is used twice in {function!r}",
                )
            seen.add(first.value)
        repeats = self._literal_repeats(node)
        if repeats is not None and repeats > MAX_STEPS_PER_RUN:
            self.report(
                node,
                "step-limit",
                f"ctx.step.{method} runs {repeats} times (the range() loops around it), more "
                f"than the {MAX_STEPS_PER_RUN} steps a run may take",
            )
        if method == "send_event" and len(node.args) >= 2:
            self._collect_emits(node.args[1])
        if method == "invoke":
            for keyword in node.keywords:
                if keyword.arg == "function_id" and isinstance(keyword.value, ast.Constant):
                    self.facts.invokes.append(_use(keyword.value, str(keyword.value.value)))

    def _literal_repeats(self, node: ast.AST) -> int | None:
        """How often the enclosing ``for … in range(<literals>)`` loops run a call; None when
        a loop around it is not a literal range (then only the run-time limit applies)."""
        repeats = 1
        parent = self.parents.get(node)
        while parent is not None and not isinstance(parent, ast.FunctionDef | ast.Lambda):
            if isinstance(parent, ast.For) and node is not parent.iter:
                count = _literal_range_length(parent.iter)
                if count is None:
                    return None
                repeats *= count
            node, parent = parent, self.parents.get(parent)
        return repeats

    def _check_step_use(self, node: ast.Attribute) -> None:
        parent = self.parents.get(node)
        grand = self.parents.get(parent) if parent else None
        if not (
            isinstance(parent, ast.Attribute)
            and isinstance(grand, ast.Call)
            and grand.func is parent
        ):
            self.report(node, "step-indirect", "ctx.step used other than ctx.step.<method>(...)")
        elif parent.attr not in STEP_METHODS:
            self.report(parent, "step-unknown-method", f"ctx.step has no method {parent.attr!r}")

    def _check_capability_use(self, node: ast.Attribute, *, in_step: bool) -> None:
        name = self.parents.get(node)
        method = self.parents.get(name) if name else None
        call = self.parents.get(method) if method else None
        if isinstance(name, ast.Attribute):
            self.facts.capabilities.append(_use(name, name.attr))
        if not (
            isinstance(name, ast.Attribute)
            and isinstance(method, ast.Attribute)
            and isinstance(call, ast.Call)
            and call.func is method
        ):
            self.report(
                node, "capability-indirect", "use ctx.capabilities.<name>.<method>(...) directly"
            )
        elif not in_step:
            self.report(
                call,
                "capability-outside-step",
                f"ctx.capabilities.{name.attr}.{method.attr} outside a step callback "
                "would run again on every replay",
            )

    def _collect_emits(self, events: ast.expr) -> None:
        items = events.elts if isinstance(events, ast.List | ast.Tuple) else [events]
        for item in items:
            name: ast.expr | None = None
            if isinstance(item, ast.Dict):
                for key, value in zip(item.keys, item.values, strict=True):
                    if isinstance(key, ast.Constant) and key.value == "name":
                        name = value
            elif (
                isinstance(item, ast.Call)
                and isinstance(item.func, ast.Attribute)
                and item.func.attr == "Event"
            ):
                name = (
                    item.args[0]
                    if item.args
                    else next((k.value for k in item.keywords if k.arg == "name"), None)
                )
            if isinstance(name, ast.Constant) and isinstance(name.value, str):
                self.facts.emits.append(_use(name, name.value))


def _step_method(node: ast.AST) -> str | None:
    """``m`` for a call ``<x>.step.m(...)``."""
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Attribute)
        and node.func.value.attr == "step"
        and node.func.attr in STEP_METHODS
    ):
        return node.func.attr
    return None


def _literal_range_length(node: ast.expr) -> int | None:
    if not (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "range"
        and 1 <= len(node.args) <= 3
        and not node.keywords
        and all(isinstance(a, ast.Constant) and type(a.value) is int for a in node.args)
    ):
        return None
    try:
        return len(range(*(a.value for a in node.args)))  # type: ignore[attr-defined]
    except ValueError:  # range(0, 10, 0)
        return None


def _use(node: ast.AST, name: str) -> Use:
    return Use(name=name, line=getattr(node, "lineno", 1), col=getattr(node, "col_offset", 0))


def check(tree: ast.Module, file: str) -> tuple[list[Finding], ReplayFacts]:
    checker = ReplayChecker(file, tree)
    checker.run()
    return checker.findings, checker.facts
