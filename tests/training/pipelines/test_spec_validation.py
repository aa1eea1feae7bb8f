"""The validator names every problem of a spec with its path (docs/pipelines.md "The spec")."""

from pathlib import Path

import pytest

from tests.training.pipelines.specs import LOOP, job
from training.pipelines import TeamLimits, content_hash, parse_text, validate, validate_text
from training.pipelines import spec as S
from training.pipelines.steptypes import EXPORT_FORMATS


def problems(document, **kwargs) -> dict[str, list[str]]:
    validation = validate(document, **kwargs)
    found: dict[str, list[str]] = {}
    for problem in validation.problems:
        found.setdefault(problem.path, []).append(problem.message)
    return found


def test_it_reads_the_loop_into_steps_in_dependency_order():
    _, validation = validate_text(LOOP)
    assert validation.ok, validation.problems
    spec = validation.spec
    assert spec.order == ("freeze", "train", "evaluate", "register", "promote")
    assert spec.steps["evaluate"].depends_on == ("train", "freeze")
    assert spec.steps["train"].resources == S.Resources(gpus=1, time_limit_s=7200.0)
    assert spec.steps["train"].retries == S.Retries(count=2, backoff_s=10.0, factor=2.0)
    assert spec.parameters["epochs"] == S.ParamDecl("epochs", "int", True, 3)


def test_a_whole_reference_keeps_the_parameters_type_and_text_takes_it_as_text():
    _, validation = validate_text(LOOP)
    freeze, train = validation.spec.steps["freeze"], validation.spec.steps["train"]
    assert freeze.resolved_parameters({"dataset": 7}) == {"dataset": 7}
    assert train.resolved_parameters({"epochs": 5})["command"] == "python -m training.detector.train --epochs 5"


def test_it_lists_every_problem_of_a_bad_spec_with_its_path():
    document = {
        "parameters": {"epochs": {"type": "integer"}, "lr": {"type": "float", "default": "x"}},
        "steps": {
            "a": job("echo {{ params.nope }}", outputs={"out": "../x"}, resources={"gpus": 9}, retries=50),
            "b": {"type": "predict"},
            "c": {"type": "train", "parameters": {"command": 3, "bogus": 1}},
            "d": job(inputs={"x": "{{ steps.zz.outputs.q }}"}, cache="maybe"),
        },
    }
    found = problems(document, limits=TeamLimits(max_gpus=4))
    assert found == {
        "parameters.epochs.type": [S.UNKNOWN_PARAM_TYPE.format(type="integer")],
        "parameters.lr.default": [S.WRONG_TYPE.format(expected="a number", got="text")],
        "steps.a.parameters.command": [S.UNKNOWN_PARAM.format(name="nope", known="lr")],
        "steps.a.outputs.out": [S.BAD_OUTPUT_PATH.format(path="../x")],
        "steps.a.resources.gpus": [S.OVER_GPUS.format(gpus=9, limit=4)],
        "steps.a.retries.count": [S.RETRY_COUNT],
        "steps.b.type": [S.UNKNOWN_STEP_TYPE.format(type="predict", known=", ".join(S.STEP_TYPES))],
        "steps.c.parameters.command": [S.WRONG_TYPE.format(expected="text", got="a whole number")],
        "steps.c.parameters.bogus": [
            S.UNKNOWN_STEP_PARAM.format(
                type="train", name="bogus", known="command, code, env, checkpoint, export_format, export_options"
            )
        ],
        "steps.c.inputs": [S.MISSING_INPUT.format(name="dataset", type="train", kinds="dataset_version or export")],
        "steps.d.cache": [S.CACHE_POLICY],
        "steps.d.inputs.x": [S.UNKNOWN_STEP.format(name="zz", known="a, c, d")],
    }


def test_it_names_the_cycle_in_the_direction_data_flows():
    document = {
        "steps": {
            "a": job(inputs={"x": "{{ steps.c.outputs.f }}"}, outputs={"f": "f"}),
            "b": job(inputs={"x": "{{ steps.a.outputs.f }}"}, outputs={"f": "f"}),
            "c": job(after=["b"], outputs={"f": "f"}),
            "ok": job(),
        }
    }
    assert problems(document) == {"steps.a": [S.CYCLE.format(cycle="a → b → c → a")]}


def test_a_step_that_waits_for_itself_is_refused():
    assert problems({"steps": {"a": job(after=["a"])}}) == {"steps.a.after[0]": [S.AFTER_SELF]}
    self_input = {"steps": {"a": job(inputs={"x": "{{ steps.a.outputs.f }}"}, outputs={"f": "f"})}}
    assert problems(self_input) == {"steps.a": [S.CYCLE.format(cycle="a → a")]}


def test_it_refuses_an_output_of_the_wrong_kind_and_an_unknown_output():
    document = {
        "steps": {
            "files": job(outputs={"out": "out.txt"}),
            "train": {
                "type": "train",
                "parameters": {"command": "x"},
                "inputs": {"dataset": "{{ steps.files.outputs.out }}"},
            },
            "eval": {
                "type": "evaluate",
                "parameters": {"command": "x"},
                "inputs": {"checkpoint": "{{ steps.train.outputs.model }}"},
            },
        }
    }
    assert problems(document) == {
        "steps.train.inputs.dataset": [
            S.WRONG_KIND.format(step="files", output="out", got="file", expected="dataset_version or export")
        ],
        "steps.eval.inputs.checkpoint": [S.UNKNOWN_OUTPUT.format(step="train", output="model", known="checkpoint")],
    }


def test_a_job_may_declare_a_checkpoint_for_the_registry():
    document = {
        "steps": {
            "fit": job(outputs={"weights": {"path": "out/model.pt", "kind": "checkpoint"}}),
            "register": {
                "type": "model.register",
                "parameters": {"model": "m"},
                "inputs": {"checkpoint": "{{ steps.fit.outputs.weights }}"},
            },
        }
    }
    validation = validate(document)
    assert validation.ok, validation.problems
    assert validation.spec.steps["fit"].outputs["weights"] == S.Output("checkpoint", "out/model.pt")


def test_run_parameters_in_step_parameters_are_type_checked():
    document = {
        "parameters": {"name": {"type": "str", "default": "x"}, "n": {"type": "int", "default": 1}},
        "steps": {
            "freeze": {"type": "dataset.freeze", "parameters": {"dataset": "{{ params.name }}"}},
            "job": job("run {{ params.n }}", inputs={"v": "{{ params.n }}"}),
            "train": {
                "type": "train",
                "parameters": {"command": "x", "env": {"A": "{{ steps.job.outputs.f }}"}},
                "inputs": {"dataset": "{{ steps.freeze.outputs.version }}"},
            },
        },
    }
    assert problems(document) == {
        "steps.freeze.parameters.dataset": [S.REF_TYPE.format(name="name", got="text", expected="a whole number")],
        "steps.job.inputs.v": [S.PARAM_IN_INPUTS],
        "steps.train.parameters.env.A": [S.OUTPUT_IN_PARAMETERS],
    }


def test_a_malformed_reference_is_named():
    found = problems({"steps": {"a": job("echo {{ steps.b }}")}})
    assert found == {
        "steps.a.parameters.command": [
            "“{{steps.b}}” is not a reference: write {{ params.NAME }} or {{ steps.STEP.outputs.OUTPUT }}."
        ]
    }


def test_resources_are_checked_against_the_teams_limits():
    limits = TeamLimits(max_gpus=8, max_time_limit_s=48 * 3600, gpu_hours_per_month=100, environments=frozenset({"a"}))
    step = job(resources={"gpus": 4, "time_limit": "30h", "environment": "b"})
    assert problems({"steps": {"s": step}}, limits=limits) == {
        "steps.s.resources": [S.OVER_MONTHLY.format(gpus=4, hours=30, asked=120, limit=100)],
        "steps.s.resources.environment": [S.UNKNOWN_ENVIRONMENT.format(name="b", known="a")],
    }
    long = job(resources={"time_limit": "PT50H"})
    assert list(problems({"steps": {"s": long}}, limits=limits)) == ["steps.s.resources.time_limit"]
    assert problems({"steps": {"s": job(resources={"time_limit": "soon"})}}) == {
        "steps.s.resources.time_limit": ["“soon” is not a duration: write e.g. 4h, 90m, 1h30m, 2d, PT4H or 4:00:00."]
    }


def test_steps_that_run_no_job_take_no_resources_and_fixed_outputs():
    document = {
        "steps": {"f": {"type": "dataset.freeze", "parameters": {"dataset": 1}, "resources": {}, "outputs": {}}}
    }
    assert problems(document) == {
        "steps.f.resources": [S.NO_RESOURCES.format(type="dataset.freeze")],
        "steps.f.outputs": [S.FIXED_OUTPUTS.format(type="dataset.freeze", known="version")],
    }


def test_a_gate_is_parsed_and_needs_metrics():
    document = {
        "steps": {
            "fit": job(outputs={"w": {"path": "m.pt", "kind": "checkpoint"}}),
            "r": {
                "type": "model.register",
                "parameters": {"model": "m", "gate": "mAP50 >= and"},
                "inputs": {"checkpoint": "{{ steps.fit.outputs.w }}"},
            },
        }
    }
    assert problems(document) == {
        "steps.r.parameters.gate": [
            "Expected a number or an alias after “>=” at character 7.",
            S.GATE_WITHOUT_METRICS,
        ]
    }


def test_an_export_format_must_be_one_labeling_writes():
    from labeling.formats.options import FORMATS

    assert EXPORT_FORMATS == FORMATS  # the pure table may not import labeling: kept equal here
    found = problems(
        {
            "steps": {
                "v": {"type": "dataset.version", "parameters": {"dataset": 1, "version": "latest"}},
                "e": {
                    "type": "dataset.export",
                    "parameters": {"format": "csv"},
                    "inputs": {"version": "{{ steps.v.outputs.version }}"},
                },
            }
        }
    )
    assert found == {"steps.e.parameters.format": [S.NOT_A_CHOICE.format(value="csv", choices=", ".join(FORMATS))]}


@pytest.mark.parametrize(
    "document, path, message",
    [
        ([], "", S.NOT_A_MAPPING.format(got="a list of text")),
        ({}, "steps", S.NO_STEPS),
        ({"steps": {}}, "steps", S.NO_STEPS),
        ({"steps": {"a b": job()}}, "steps.a b", S.BAD_NAME.format(name="a b")),
        (
            {"steps": {"a": job()}, "stpes": 1},
            "stpes",
            S.UNKNOWN_KEY.format(key="stpes", allowed="description, parameters, steps"),
        ),
        ({"steps": {"a": {"parameters": {}}}}, "steps.a.type", S.REQUIRED),
        ({"steps": {"a": {"type": "job"}}}, "steps.a.parameters", S.MISSING_PARAM.format(name="command", type="job")),
        ({"steps": {"a": job(retries={"factor": 0})}}, "steps.a.retries.factor", S.BACKOFF_FACTOR),
        ({"steps": {"a": job(resources={"gpus": 0})}}, "steps.a.resources.gpus", S.AT_LEAST.format(minimum=1)),
    ],
)
def test_it_names_the_path_of_each_shape_problem(document, path, message):
    assert problems(document) == {path: [message]}


def test_too_many_steps_is_one_problem():
    assert problems({"steps": {f"s{i}": job() for i in range(S.MAX_STEPS + 1)}}) == {"steps": [S.TOO_MANY_STEPS]}


def test_a_long_chain_validates_without_recursion():
    steps = {"s0": job(outputs={"f": "f"})}
    steps |= {
        f"s{i}": job(inputs={"x": f"{{{{ steps.s{i - 1}.outputs.f }}}}"}, outputs={"f": "f"}) for i in range(1, 500)
    }
    validation = validate({"steps": steps})
    assert validation.ok
    assert validation.spec.order == tuple(f"s{i}" for i in range(500))


@pytest.mark.parametrize(
    "text, message",
    [
        ("a: [1\n b", "Not valid YAML: expected ',' or ']', but got '<stream end>' (line 2, column 3)."),
        ("steps: {}\nsteps: {}", S.DUPLICATE_KEY.format(key="steps", where=" (line 2)")),
        ('{"steps": {}, "steps": 1}', S.DUPLICATE_KEY.format(key="steps", where="")),
        ('{"a": NaN}', "Not valid JSON: Not a finite number. (line 1, column 1)."),
        ("x: &a [1]\ny: *a", S.NO_ALIASES),
        ("a: " + "x" * S.MAX_TEXT_BYTES, S.TOO_LONG),
        ("a: .nan", S.NOT_FINITE),
        ("a: !!binary aGk=", S.NOT_JSON_VALUE.format(kind="bytes")),
    ],
)
def test_it_refuses_texts_that_would_mean_something_unsaid(text, message):
    _, found = parse_text(text)
    assert [problem.message for problem in found] == [message]


def test_dates_stay_text_and_yaml_and_json_of_one_document_hash_alike():
    document, found = parse_text("steps:\n  a: {type: job, parameters: {command: 'echo'}, description: 2026-01-01}\n")
    assert not found and document["steps"]["a"]["description"] == "2026-01-01"
    same, _ = parse_text(
        '{"steps": {"a": {"description": "2026-01-01", "parameters": {"command": "echo"}, "type": "job"}}}'
    )
    assert content_hash(document) == content_hash(same)
    assert len(content_hash(document)) == 64


@pytest.mark.parametrize("name", ["detector_loop.yaml", "module_chain.yaml"])
def test_the_example_pipelines_are_valid(name):
    text = (Path(__file__).resolve().parents[3] / "examples" / "pipelines" / name).read_text()
    _, validation = validate_text(text)
    assert validation.ok, validation.problems
