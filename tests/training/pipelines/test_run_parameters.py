"""A run's parameters: typed against the declarations, defaults filled, every problem named."""

from tests.training.pipelines.specs import LOOP
from training.pipelines import validate_text
from training.pipelines.runparams import MISSING, UNKNOWN, WRONG, run_parameters
from training.pipelines.spec import Problem

SPEC = validate_text(LOOP)[1].spec


def test_text_from_the_cli_is_read_as_the_declared_type_and_defaults_fill_the_rest():
    assert run_parameters(SPEC, {"dataset": "4", "threshold": "0.05"}) == (
        {"dataset": 4, "epochs": 3, "threshold": 0.05},
        (),
    )
    assert run_parameters(SPEC, {"dataset": 4, "threshold": 1}) == ({"dataset": 4, "epochs": 3, "threshold": 1.0}, ())


def test_it_names_every_wrong_unknown_and_missing_parameter():
    values, problems = run_parameters(SPEC, {"epochs": "three", "threshold": True, "lr": "0.1"})
    assert values == {}
    assert problems == (
        Problem("parameters.lr", UNKNOWN.format(name="lr", known="dataset, epochs, threshold")),
        Problem("parameters.dataset", MISSING),
        Problem("parameters.epochs", WRONG.format(expected="a whole number", got="three")),
        Problem("parameters.threshold", WRONG.format(expected="a number", got=True)),
    )


def test_a_number_where_text_is_declared_is_refused_not_guessed():
    spec = validate_text(
        "parameters: {name: {type: str}, flag: {type: bool, default: false}}\nsteps: {a: {type: job, parameters: {command: x}}}"
    )[1].spec
    assert run_parameters(spec, {"name": 3})[1] == (Problem("parameters.name", WRONG.format(expected="text", got=3)),)
    assert run_parameters(spec, {"name": "3", "flag": "yes"}) == ({"name": "3", "flag": True}, ())
