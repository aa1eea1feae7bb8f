"""The gate of a `model.register` step: comparisons of the new metrics, joined by `and`, parsed without eval.

    mAP50 >= 0.6                       a metric against a number
    mAP50 >= 0.6 and >= production     the same metric again, against the `production` alias's version
    mAP50 >= 0.6 and loss < 0.2        two metrics

A right-hand side that is not a number names an alias of the model: the version it points at must hold
the metric too (a model with no such alias yet passes that comparison: there is nothing to beat).
"""

import math
import operator
import re
from dataclasses import dataclass

OPERATORS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt, "==": operator.eq}
MAX_LENGTH = 500

_TOKEN = re.compile(
    r"\s*(?:(?P<op>>=|<=|==|>|<)|(?P<number>[-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)|(?P<word>[A-Za-z_][\w.@/-]*))"
)

EMPTY = "The gate is empty: write e.g. “mAP50 >= 0.6 and >= production”."
TOO_LONG = f"The gate is longer than {MAX_LENGTH} characters."
UNEXPECTED = "Unexpected “{text}” at character {at}: write comparisons like “mAP50 >= 0.6”, joined by “and”."
NO_METRIC = "“{op}” at character {at} has no metric before it."
NO_OPERATOR = "Expected a comparison (>=, <=, >, <, ==) after “{metric}” at character {at}."
NO_VALUE = "Expected a number or an alias after “{op}” at character {at}."
NOT_FINITE = "“{text}” is not a finite number."


class GateError(ValueError):
    """A gate that does not parse; the message says where and what to write instead."""


@dataclass(frozen=True)
class Comparison:
    metric: str
    op: str
    number: float | None = None  # either a number …
    alias: str = ""  # … or the alias whose version's metric is the threshold


@dataclass(frozen=True)
class Outcome:
    passed: bool
    reason: str


def gate_parse(text: str) -> tuple[Comparison, ...]:
    text = text.strip()
    if not text:
        raise GateError(EMPTY)
    if len(text) > MAX_LENGTH:
        raise GateError(TOO_LONG)
    tokens = _tokens(text)
    comparisons, metric, index = [], "", 0
    while True:
        kind, value, at = tokens[index] if index < len(tokens) else ("end", "", len(text))
        if kind == "word" and value != "and":
            metric, index = value, index + 1
            kind, value, at = tokens[index] if index < len(tokens) else ("end", "", len(text))
            if kind != "op":
                raise GateError(NO_OPERATOR.format(metric=metric, at=at + 1))
        elif kind == "op" and not metric:
            raise GateError(NO_METRIC.format(op=value, at=at + 1))
        elif kind != "op":
            raise GateError(UNEXPECTED.format(text=value or "the end", at=at + 1))
        op, index = value, index + 1
        comparisons.append(_comparison(metric, op, tokens[index] if index < len(tokens) else None, at))
        index += 1
        if index == len(tokens):
            return tuple(comparisons)
        kind, value, at = tokens[index]
        if (kind, value) != ("word", "and"):
            raise GateError(UNEXPECTED.format(text=value, at=at + 1))
        index += 1


def _tokens(text: str) -> list[tuple[str, str, int]]:
    tokens, position = [], 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            at = len(text) - len(text[position:].lstrip())
            raise GateError(UNEXPECTED.format(text=text[at : at + 10], at=at + 1))
        kind = match.lastgroup
        tokens.append((kind, match.group(kind), match.start(kind)))
        position = match.end()
        if not text[position:].strip():
            break
    return tokens


def _comparison(metric: str, op: str, token, op_at: int) -> Comparison:
    if token is None or token[0] == "op" or token[1] == "and":
        raise GateError(NO_VALUE.format(op=op, at=op_at + 1))
    kind, value, _ = token
    if kind == "number":
        number = float(value)
        if not math.isfinite(number):
            raise GateError(NOT_FINITE.format(text=value))
        return Comparison(metric, op, number=number)
    return Comparison(metric, op, alias=value)


def gate_check(gate: tuple[Comparison, ...], *, metrics: dict, alias_metrics: dict[str, dict | None]) -> Outcome:
    """Whether `metrics` pass every comparison; `alias_metrics[alias]` is None when the alias points nowhere."""
    for comparison in gate:
        value = _number(metrics.get(comparison.metric))
        if value is None:
            return Outcome(False, f"the metrics hold no number “{comparison.metric}”")
        if comparison.alias:
            other = alias_metrics.get(comparison.alias)
            if other is None:
                continue  # no version under that alias yet: nothing to beat
            threshold = _number(other.get(comparison.metric))
            if threshold is None:
                return Outcome(False, f"the {comparison.alias} version holds no number “{comparison.metric}”")
            against = f"{comparison.alias}'s {threshold:g}"
        else:
            threshold, against = comparison.number, f"{comparison.number:g}"
        if not OPERATORS[comparison.op](value, threshold):
            return Outcome(False, f"{comparison.metric} {value:g} is not {comparison.op} {against}")
    return Outcome(True, "every comparison of the gate holds")


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None
