"""Errors raised for bad user input.

Every check of a user-supplied value raises :class:`ParameterError`, which names the parameter and what
is allowed. The command-line interface turns it into a one-line message and exit code 2.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Iterable


class ParameterError(ValueError):
    """A user-supplied parameter is invalid.

    Parameters
    ----------
    parameter : str
        The name of the parameter as the user wrote it (an option such as ``--nodes`` or a key such as
        ``nodes``).
    message : str
        What is wrong and what is allowed, e.g. ``"must be an integer >= 1, got 0"``.
    """

    def __init__(self, parameter: str, message: str):
        self.parameter = parameter
        self.message = message
        super().__init__(f"{parameter}: {message}")

    def __reduce__(self):  # picklable (raised in a worker process, re-raised in the parent)
        return (type(self), (self.parameter, self.message))


def check_int(name: str, value, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as an int, or raise :class:`ParameterError` naming ``name``."""
    allowed = "an integer"
    if minimum is not None and maximum is not None and minimum > maximum:  # (an empty range: say why)
        allowed += f" >= {minimum}, but at most {maximum} is possible here"
    elif minimum is not None and maximum is not None:
        allowed += f" in [{minimum}, {maximum}]"
    elif minimum is not None:
        allowed += f" >= {minimum}"
    elif maximum is not None:
        allowed += f" <= {maximum}"
    if isinstance(value, bool):
        raise ParameterError(name, f"must be {allowed}, got {value!r}")
    try:
        as_int = int(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an infinite float
        raise ParameterError(name, f"must be {allowed}, got {value!r}") from None
    if isinstance(value, float) and as_int != value:
        raise ParameterError(name, f"must be {allowed}, got {value!r}")
    if (minimum is not None and as_int < minimum) or (maximum is not None and as_int > maximum):
        raise ParameterError(name, f"must be {allowed}, got {value!r}")
    return as_int


def check_float(
    name: str,
    value,
    minimum: float | None = None,
    maximum: float | None = None,
    *,
    min_inclusive: bool = True,
    max_inclusive: bool = True,
) -> float:
    """Return ``value`` as a finite float within the bounds, or raise :class:`ParameterError`."""
    lo = "" if minimum is None else ("[" if min_inclusive else "(") + f"{minimum:g}"
    hi = "" if maximum is None else f"{maximum:g}" + ("]" if max_inclusive else ")")
    if minimum is not None and maximum is not None:
        allowed = f"a finite number in {lo}, {hi}"
    elif minimum is not None:
        allowed = f"a finite number {'>=' if min_inclusive else '>'} {minimum:g}"
    elif maximum is not None:
        allowed = f"a finite number {'<=' if max_inclusive else '<'} {maximum:g}"
    else:
        allowed = "a finite number"
    if isinstance(value, bool):
        raise ParameterError(name, f"must be {allowed}, got {value!r}")
    try:
        as_float = float(value)
    except (TypeError, ValueError):
        raise ParameterError(name, f"must be {allowed}, got {value!r}") from None
    except OverflowError:  # an integer beyond the float range
        text = str(value)
        shown = text if len(text) <= 30 else f"{text[:12]}... ({len(text)} digits)"
        raise ParameterError(name, f"must be {allowed}, got {shown}") from None
    if not math.isfinite(as_float):
        raise ParameterError(name, f"must be {allowed}, got {value!r}")
    if minimum is not None and (as_float < minimum or (not min_inclusive and as_float == minimum)):
        raise ParameterError(name, f"must be {allowed}, got {value!r}")
    if maximum is not None and (as_float > maximum or (not max_inclusive and as_float == maximum)):
        raise ParameterError(name, f"must be {allowed}, got {value!r}")
    return as_float


def check_choice(name: str, value, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise :class:`ParameterError` listing them."""
    choices = list(choices)
    if value not in choices:
        raise ParameterError(name, f"must be one of {', '.join(choices)}; got {value!r}")
    return value


def one_line(exc: BaseException) -> str:
    """``Type: message`` of an exception on one line (its whitespace runs collapsed to single spaces)."""
    return " ".join(f"{type(exc).__name__}: {exc}".split())


def missing_module_hint(module_name: str) -> str:
    """What to do when a plug-in's module is not found: a file path is not a module name, or the module's
    package is not installed or its directory not on ``PYTHONPATH``."""
    if "/" in module_name or "\\" in module_name or module_name.endswith(".py"):
        return " (MODULE is a dotted module name, not a file path: put the file's directory on PYTHONPATH)"
    return " (install its package, or put its directory on PYTHONPATH)"


def import_object(target: str, parameter: str, origin: str, *, form: str | None = None,
                  missing_hint=missing_module_hint):
    """The object ``target`` = ``"module:attribute"`` names (``attribute`` may be dotted), imported with
    :mod:`importlib`; every failure is a one-line :class:`ParameterError` naming ``parameter``, with ``origin``
    (e.g. ``"the plug-in policy"``) saying where the value came from.

    ``form``, when given, is how such a value is written (e.g. ``"a plug-in policy is written MODULE:CLASS"``):
    ``target`` must then have a module and one attribute around a single colon, else the error is ``form``
    and the value. ``missing_hint(module_name) -> str`` is appended to the message when the module is not
    found (default :func:`missing_module_hint`; None: no hint).
    """
    module_name, _, attribute = target.partition(":")
    module_name, attribute = module_name.strip(), attribute.strip()
    if form is not None and (not module_name or not attribute or ":" in attribute):
        raise ParameterError(parameter, f"{form}; got {target!r}")
    try:
        obj = importlib.import_module(module_name)
    except Exception as exc:  # any failure of the user's module (ImportError, SyntaxError, its own errors)
        hint = missing_hint(module_name) if missing_hint is not None and isinstance(exc, ModuleNotFoundError) else ""
        raise ParameterError(parameter, f"cannot import the module {module_name!r} of {origin} {target!r}: "
                                        f"{one_line(exc)}{hint}") from None
    for part in attribute.split("."):
        if not hasattr(obj, part):
            raise ParameterError(parameter, f"the module {module_name!r} has no attribute {attribute!r} "
                                            f"(from {origin} {target!r})")
        obj = getattr(obj, part)
    return obj
