"""The gate of a model.register step: parsed without eval, checked against metrics and an alias's."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from training.pipelines.gate import Comparison, GateError, gate_check, gate_parse


def test_it_parses_comparisons_joined_by_and_carrying_the_metric_over():
    assert gate_parse("mAP50 >= 0.6 and >= production") == (
        Comparison("mAP50", ">=", number=0.6),
        Comparison("mAP50", ">=", alias="production"),
    )
    assert gate_parse("mAP@0.5>0.1 and loss < 2e-1") == (Comparison("mAP@0.5", ">", 0.1), Comparison("loss", "<", 0.2))


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "The gate is empty: write e.g. “mAP50 >= 0.6 and >= production”."),
        (">= 1", "“>=” at character 1 has no metric before it."),
        ("mAP50 0.6", "Expected a comparison (>=, <=, >, <, ==) after “mAP50” at character 7."),
        ("mAP50 >=", "Expected a number or an alias after “>=” at character 7."),
        (
            "mAP50 >= 1 or loss < 1",
            "Unexpected “or” at character 12: write comparisons like “mAP50 >= 0.6”, joined by “and”.",
        ),
        (
            "__import__('os') > 1",
            "Unexpected “('os') > 1” at character 11: write comparisons like “mAP50 >= 0.6”, joined by “and”.",
        ),
    ],
)
def test_it_refuses_what_is_not_a_gate_saying_where(text, message):
    with pytest.raises(GateError) as refused:
        gate_parse(text)
    assert str(refused.value) == message


def test_it_checks_numbers_and_the_aliased_versions_metrics():
    gate = gate_parse("mAP50 >= 0.6 and >= production")
    assert gate_check(gate, metrics={"mAP50": 0.7}, alias_metrics={"production": {"mAP50": 0.65}}).passed
    assert gate_check(gate, metrics={"mAP50": 0.7}, alias_metrics={"production": None}).passed  # nothing to beat yet
    beaten = gate_check(gate, metrics={"mAP50": 0.62}, alias_metrics={"production": {"mAP50": 0.65}})
    assert not beaten.passed and beaten.reason == "mAP50 0.62 is not >= production's 0.65"
    low = gate_check(gate, metrics={"mAP50": 0.5}, alias_metrics={})
    assert low.reason == "mAP50 0.5 is not >= 0.6"
    assert gate_check(gate, metrics={"mAP50": "high"}, alias_metrics={}).reason == "the metrics hold no number “mAP50”"


@given(st.text(max_size=60))
def test_any_text_parses_or_is_refused_with_a_gate_error(text):
    try:
        gate_parse(text)
    except GateError as refused:
        assert str(refused)
