"""A run's parameters against the spec's declarations: typed, defaults filled, every problem named.

Values come as JSON (the API) or as text (the CLI's `-p epochs=3`, the run form): text is read as the
declared type (`3` for an int, `0.5` for a float, `true`/`false` for a bool); a JSON value must already
have the type (an int is a float too). Unknown names and missing required parameters are problems.
"""

import math
from collections.abc import Mapping

from training.pipelines.spec import PipelineSpec, Problem

UNKNOWN = "Unknown parameter “{name}”; this pipeline takes: {known}."
MISSING = "Required: this parameter has no default."
WRONG = "Expected {expected}, got {got!r}."
NOT_A_CHOICE = "{value!r} is not one of: {choices}."
_EXPECTED = {"int": "a whole number", "float": "a number", "str": "text", "bool": "true or false"}
_TRUE, _FALSE = ("true", "yes", "1", "on"), ("false", "no", "0", "off")
MAX_TEXT = 10_000


def run_parameters(spec: PipelineSpec, given: Mapping) -> tuple[dict, tuple[Problem, ...]]:
    """The run's parameter values (declared order), or the problems with paths `parameters.NAME`."""
    problems, values = [], {}
    known = ", ".join(spec.parameters) or "none"
    for name in given:
        if name not in spec.parameters:
            problems.append(Problem(f"parameters.{name}", UNKNOWN.format(name=name, known=known)))
    for name, decl in spec.parameters.items():
        path = f"parameters.{name}"
        if name not in given:
            if decl.has_default:
                values[name] = decl.default
            else:
                problems.append(Problem(path, MISSING))
            continue
        value = coerce(given[name], decl.type)
        if value is _BAD:
            problems.append(Problem(path, WRONG.format(expected=_EXPECTED[decl.type], got=given[name])))
        elif decl.choices and value not in decl.choices:
            problems.append(Problem(path, NOT_A_CHOICE.format(value=value, choices=", ".join(map(str, decl.choices)))))
        else:
            values[name] = value
    return (values, ()) if not problems else ({}, tuple(problems))


_BAD = object()


def coerce(value, kind: str):
    """`value` as a `kind` (int, float, str, bool), or _BAD."""
    if isinstance(value, str):
        return _from_text(value.strip() if kind != "str" else value, kind)
    if kind == "bool":
        return value if isinstance(value, bool) else _BAD
    if isinstance(value, bool):
        return _BAD
    if kind == "int":
        return value if isinstance(value, int) else _BAD
    if kind == "float":
        return float(value) if isinstance(value, int | float) and math.isfinite(value) else _BAD
    return _BAD  # a number where text is declared: say so rather than guess its spelling


def _from_text(text: str, kind: str):
    if kind == "str":
        return text if len(text) <= MAX_TEXT and "\0" not in text else _BAD
    if kind == "bool":
        lowered = text.lower()
        return True if lowered in _TRUE else False if lowered in _FALSE else _BAD
    try:
        number = int(text) if kind == "int" else float(text)
    except ValueError:
        return _BAD
    return number if kind == "int" or math.isfinite(number) else _BAD
