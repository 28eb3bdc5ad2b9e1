"""The run-time guards RestrictedPython's rewritten code calls, and the sandbox builtins.

``restricted_globals`` builds the namespace a skill module executes in: safe builtins (no
``type``, ``hash``, ``getattr``, ``vars``, ``dir``, ``globals``, ``open``, ``BaseException``,
``SystemExit`` ...), the import hook, the ``skill`` client, and these guards:

* ``_getattr_`` — no ``_`` names, no introspection attributes, no ``str.format``; on platform
  objects (``Exposed``) only their public names; clock reads only inside steps; padding
  methods of ``str`` bounded;
* ``_getitem_`` / ``_getiter_`` — platform objects cannot be indexed or iterated;
* ``_write_`` — only the skill's own dicts, lists and sets may be assigned into;
* ``_mul_`` / ``_pow_`` / ``_lshift_`` / ``_add_`` / ``_inplacevar_`` — results bounded by
  ``MAX_SEQUENCE_LENGTH`` and ``MAX_INT_BITS`` *before* they are computed;
* ``range`` — at most ``MAX_RANGE_LENGTH`` items, which bounds every loop a skill can write.
"""

from __future__ import annotations

import builtins
import collections
import datetime
import operator
from collections.abc import Callable
from typing import Any

from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence

from sidecar.facade.client import SkillClient
from sidecar.facade.errors import GuardedAccessError, GuardedWriteError, LimitExceeded
from sidecar.facade.exposure import Exposed
from sidecar.facade.limits import MAX_INT_BITS, MAX_RANGE_LENGTH, MAX_SEQUENCE_LENGTH
from sidecar.facade.scope import require_step

from .imports import CLOCK_ATTRIBUTES, guarded_import
from .policy import FORBIDDEN_ATTRIBUTES

_SAFE_BUILTINS = (
    "None", "False", "True", "abs", "all", "any", "ascii", "bin", "bool", "callable", "chr",
    "complex", "dict", "divmod", "enumerate", "filter", "float", "frozenset", "hex", "int",
    "isinstance", "issubclass", "len", "list", "map", "max", "min", "next", "oct", "ord",
    "repr", "reversed", "round", "set", "slice", "sorted", "str", "sum", "tuple", "zip",
    # Exceptions a skill may raise or catch; BaseException and process exits are left out.
    "Exception", "ArithmeticError", "AssertionError", "AttributeError", "IndexError",
    "KeyError", "LookupError", "NotImplementedError", "OverflowError", "RuntimeError",
    "StopIteration", "TypeError", "UnicodeError", "UnicodeDecodeError", "UnicodeEncodeError",
    "ValueError", "ZeroDivisionError", "RecursionError",
)  # fmt: skip
_SEQUENCES = (str, bytes, list, tuple, collections.deque)
_WRITABLE = (dict, list, set, collections.deque)
_PADDING = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs"})


# --- sizes -------------------------------------------------------------------------------


def _too_long(length: int, what: str) -> None:
    if length > MAX_SEQUENCE_LENGTH:
        raise LimitExceeded(f"{what} would hold {length} items; the cap is {MAX_SEQUENCE_LENGTH}")


def _too_big(bits: int, what: str) -> None:
    if bits > MAX_INT_BITS:
        raise LimitExceeded(f"{what} would have about {bits} bits; the cap is {MAX_INT_BITS}")


def _check_mul(a: Any, b: Any) -> None:
    if isinstance(a, _SEQUENCES) and isinstance(b, int):
        _too_long(len(a) * b, "sequence * n")
    elif isinstance(b, _SEQUENCES) and isinstance(a, int):
        _too_long(len(b) * a, "n * sequence")
    elif type(a) is int and type(b) is int:
        _too_big(a.bit_length() + b.bit_length(), "int * int")


def _check_pow(a: Any, b: Any) -> None:
    if type(a) is int and type(b) is int and b > 0 and abs(a) > 1:
        _too_big(a.bit_length() * b, "int ** int")


def _check_lshift(a: Any, b: Any) -> None:
    if type(a) is int and type(b) is int and a != 0 and b > 0:
        _too_big(a.bit_length() + b, "int << int")


def _check_add(a: Any, b: Any) -> None:
    if isinstance(a, _SEQUENCES) and isinstance(b, _SEQUENCES):
        _too_long(len(a) + len(b), "sequence + sequence")


def guarded_mul(a: Any, b: Any) -> Any:
    _check_mul(a, b)
    return a * b


def guarded_pow(a: Any, b: Any, mod: Any = None) -> Any:
    if mod is None:
        _check_pow(a, b)
        return a**b
    return pow(a, b, mod)  # modular exponentiation stays small


def guarded_lshift(a: Any, b: Any) -> Any:
    _check_lshift(a, b)
    return a << b


def guarded_add(a: Any, b: Any) -> Any:
    _check_add(a, b)
    return a + b


def _no_check(a: Any, b: Any) -> None:
    return None


_INPLACE: dict[str, tuple[Callable[[Any, Any], Any], Callable[[Any, Any], None]]] = {
    "+=": (operator.iadd, _check_add),
    "*=": (operator.imul, _check_mul),
    "**=": (operator.ipow, _check_pow),
    "<<=": (operator.ilshift, _check_lshift),
    "-=": (operator.isub, _no_check),
    "/=": (operator.itruediv, _no_check),
    "//=": (operator.ifloordiv, _no_check),
    "%=": (operator.imod, _no_check),
    ">>=": (operator.irshift, _no_check),
    "|=": (operator.ior, _no_check),
    "&=": (operator.iand, _no_check),
    "^=": (operator.ixor, _no_check),
    "@=": (operator.imatmul, _no_check),
}


def guarded_inplacevar(op: str, target: Any, value: Any) -> Any:
    apply, check = _INPLACE[op]
    check(target, value)
    return apply(target, value)  # in place for lists and dicts, as Python does


def limited_range(*args: int) -> range:
    r = range(*args)
    if len(r) > MAX_RANGE_LENGTH:
        raise LimitExceeded(f"range of {len(r)} items; the cap is {MAX_RANGE_LENGTH}")
    return r


def _padded(text: str, name: str) -> Callable[..., str]:
    """``text.<name>`` with the length of its result checked first."""
    method: Callable[..., str] = getattr(text, name)

    def bounded(width: int = 8, *args: Any) -> str:
        if isinstance(width, int):
            # expandtabs grows every tab to `width`; the others pad to `width` in total.
            grown = text.count("\t") * width + len(text) if name == "expandtabs" else width
            _too_long(grown, f"str.{name}()")
        return method(width, *args)

    return bounded


# --- access ------------------------------------------------------------------------------


def guarded_getattr(obj: Any, name: str, default: Any = None) -> Any:
    if not isinstance(name, str) or name.startswith("_") or name in FORBIDDEN_ATTRIBUTES:
        raise GuardedAccessError(f"attribute {name!r} is refused")
    if isinstance(obj, Exposed) and not obj.exposes(name):
        raise obj.denial(name)
    if name in CLOCK_ATTRIBUTES and (
        isinstance(obj, datetime.date) or (isinstance(obj, type) and issubclass(obj, datetime.date))
    ):
        require_step(f"datetime.{getattr(obj, '__name__', 'date')}.{name}")
    value = getattr(obj, name)
    if name in _PADDING and isinstance(obj, str):
        return _padded(obj, name)
    return value


def guarded_getitem(obj: Any, key: Any) -> Any:
    if isinstance(obj, Exposed):
        raise GuardedAccessError(f"{type(obj).__name__} cannot be indexed")
    return obj[key]


def guarded_iter(obj: Any) -> Any:
    if isinstance(obj, Exposed):
        raise GuardedAccessError(f"{type(obj).__name__} cannot be iterated")
    return iter(obj)


def guarded_write(obj: Any) -> Any:
    if isinstance(obj, _WRITABLE):
        return obj
    raise GuardedWriteError(f"cannot assign into a {type(obj).__name__}; it is read-only")


def guarded_apply(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return fn(*args, **kwargs)


def safe_builtins() -> dict[str, Any]:
    """A fresh builtins dict per module, so one skill cannot rebind another's builtins."""
    table: dict[str, Any] = {name: getattr(builtins, name) for name in _SAFE_BUILTINS}
    table["range"] = limited_range
    table["pow"] = guarded_pow
    table["__import__"] = guarded_import
    return table


def restricted_globals(client: SkillClient, module_name: str) -> dict[str, Any]:
    return {
        "__builtins__": safe_builtins(),
        "__name__": module_name,
        "skill": client,
        "_getattr_": guarded_getattr,
        "_getitem_": guarded_getitem,
        "_getiter_": guarded_iter,
        "_write_": guarded_write,
        "_apply_": guarded_apply,
        "_inplacevar_": guarded_inplacevar,
        "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
        "_unpack_sequence_": guarded_unpack_sequence,
        "_mul_": guarded_mul,
        "_pow_": guarded_pow,
        "_lshift_": guarded_lshift,
        "_add_": guarded_add,
    }
