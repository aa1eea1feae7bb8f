"""Read a pipeline spec, check it whole, and say every problem with its path (docs/pipelines.md "The spec").

`validate(document, limits=…)` never raises on a bad document: it returns a `Validation` holding either
the typed `PipelineSpec` or every problem found, each with its path (`steps.train.resources.gpus`), so
the API answers one 400 that lists them all and the editor marks them all. `parse_text` reads YAML or
JSON (JSON when the text starts with `{`), refusing what would make two texts mean different things
silently: duplicate keys, YAML aliases, non-finite numbers.
"""

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from hashlib import sha256

import yaml

from scheduler.durations import DurationError, parse_duration
from training.pipelines.gate import GateError, gate_parse
from training.pipelines.refs import Ref, RefError, refs_in, substitute, whole_ref
from training.pipelines.steptypes import ANY_KIND, STEP_TYPES, StepType

MAX_TEXT_BYTES = 256 * 1024  # a spec is a page of text, not a data file (Argo's 1 MB ConfigMap bit people)
MAX_STEPS = 500
MAX_RETRIES = 10
MAX_BACKOFF_S = 86400.0
DEFAULT_TIME_LIMIT_S = 3600.0
DEFAULT_BACKOFF_S = 30.0
PARAM_TYPES = ("int", "float", "str", "bool")
OUTPUT_KINDS = ("file", "checkpoint", "metrics")  # what a `job` step may declare its files to be
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,62}")
_TOP_KEYS = ("description", "parameters", "steps")
_STEP_KEYS = ("type", "description", "parameters", "inputs", "outputs", "after", "resources", "retries", "cache")
_PARAM_KEYS = ("type", "default", "choices", "description")
_RESOURCE_KEYS = ("gpus", "time_limit", "environment", "gpu_model", "min_memory_mb", "working_dir")
_RETRY_KEYS = ("count", "backoff", "factor")
_CACHE_KEYS = ("max_age",)

TOO_LONG = f"The spec is longer than {MAX_TEXT_BYTES // 1024} KiB."
NOT_YAML = "Not valid YAML: {problem} (line {line}, column {column})."
NOT_JSON = "Not valid JSON: {problem} (line {line}, column {column})."
DUPLICATE_KEY = "The key “{key}” appears twice{where}; the second would silently win."
NO_ALIASES = "YAML anchors and aliases (&, *) are not accepted: write each value out."
NOT_JSON_VALUE = (
    "A {kind} is not a value a spec holds: quote it, or write a number, text, true/false, a list or a mapping."
)
NOT_FINITE = "Not a finite number."
NOT_A_MAPPING = "Expected a mapping (key: value), got {got}."
NOT_A_LIST = "Expected a list, got {got}."
UNKNOWN_KEY = "Unknown key “{key}”; allowed here: {allowed}."
REQUIRED = "Required."
BAD_NAME = "“{name}” is not a name: start with a letter or _, then letters, digits, _ or -, at most 63."
NO_STEPS = "A pipeline needs at least one step."
TOO_MANY_STEPS = f"More than {MAX_STEPS} steps."
UNKNOWN_STEP_TYPE = "Unknown step type “{type}”; the types are: {known}."
UNKNOWN_PARAM_TYPE = "Unknown parameter type “{type}”; the types are: " + ", ".join(PARAM_TYPES) + "."
WRONG_TYPE = "Expected {expected}, got {got}."
NOT_A_CHOICE = "“{value}” is not one of: {choices}."
UNKNOWN_STEP_PARAM = "“{type}” steps take no parameter “{name}”; they take: {known}."
MISSING_PARAM = "Missing parameter “{name}” of “{type}” steps."
UNKNOWN_PARAM = "Unknown run parameter “{name}”; this pipeline declares: {known}."
REF_TYPE = "{{{{ params.{name} }}}} is {got}; this takes {expected}."
OUTPUT_IN_PARAMETERS = "Steps' outputs go in inputs:, not parameters: (here only {{ params.NAME }} is known)."
PARAM_IN_INPUTS = (
    "Inputs take other steps' outputs ({{ steps.STEP.outputs.OUTPUT }}); run parameters go in parameters:."
)
NOT_A_WHOLE_REF = "An input is one reference, {{ steps.STEP.outputs.OUTPUT }}, and nothing else."
UNKNOWN_STEP = "Unknown step “{name}”; the steps are: {known}."
UNKNOWN_OUTPUT = "Step “{step}” has no output “{output}”; it has: {known}."
WRONG_KIND = "Step “{step}”'s output “{output}” is a {got}; this input takes a {expected}."
UNKNOWN_INPUT = "“{type}” steps take no input “{name}”; they take: {known}."
MISSING_INPUT = "Missing input “{name}” of “{type}” steps (a {kinds})."
FIXED_OUTPUTS = "“{type}” steps make fixed outputs ({known}); only “job” steps declare theirs."
BAD_OUTPUT_PATH = "An output is a relative path under ATELIER_OUTPUT_DIR, without “..”: “{path}” is not."
UNKNOWN_OUTPUT_KIND = "Unknown kind “{kind}”; a job's output is one of: " + ", ".join(OUTPUT_KINDS) + "."
NO_RESOURCES = "“{type}” steps run no job of their own: they take no resources."
AT_LEAST = "Give a whole number of at least {minimum}."
BAD_DURATION = "{error}"
OVER_GPUS = "{gpus} GPUs is more than the team's limit of {limit} at once."
OVER_TIME_LIMIT = "A time limit of {asked:g} h is more than the team's longest, {limit:g} h."
OVER_MONTHLY = "{gpus} GPUs for {hours:g} h is {asked:g} GPU-hours, more than the team's whole month ({limit:g})."
UNKNOWN_ENVIRONMENT = "Unknown environment “{name}”; the environments are: {known}."
RETRY_COUNT = f"Give a number of retries from 0 to {MAX_RETRIES}."
BACKOFF_FACTOR = "Give a back-off factor from 1 to 10."
CACHE_POLICY = "Give true, false, or a mapping with max_age (e.g. {max_age: 7d})."
AFTER_SELF = "A step cannot wait for itself."
CYCLE = "A cycle: {cycle} (each step feeds the next). Steps must form a graph without cycles."
GATE_WITHOUT_METRICS = "A gate compares metrics: give the step a metrics input."
BAD_GATE = "{error}"


@dataclass(frozen=True)
class Problem:
    path: str  # dotted, with [i] for list items; "" for the document itself
    message: str


@dataclass(frozen=True)
class TeamLimits:
    """What the team's quota allows a step's job (None: no limit); environments: the names that exist."""

    max_gpus: int | None = None
    max_time_limit_s: float | None = None
    gpu_hours_per_month: float | None = None
    environments: frozenset[str] | None = None


@dataclass(frozen=True)
class ParamDecl:
    name: str
    type: str
    has_default: bool = False
    default: object = None
    choices: tuple = ()
    description: str = ""


@dataclass(frozen=True)
class Resources:
    gpus: int = 1
    time_limit_s: float = DEFAULT_TIME_LIMIT_S
    environment: str = ""
    gpu_model: str = ""
    min_memory_mb: int = 0
    working_dir: str = ""  # the job's working directory (the scheduler checks it lies under its root)


@dataclass(frozen=True)
class Retries:
    count: int = 0
    backoff_s: float = DEFAULT_BACKOFF_S
    factor: float = 2.0

    def delay_s(self, retry: int) -> float:
        """Seconds to wait before retry number `retry` (1, 2, …)."""
        return min(self.backoff_s * self.factor ** (retry - 1), MAX_BACKOFF_S)


@dataclass(frozen=True)
class CachePolicy:
    enabled: bool = True
    max_age_s: float | None = None


@dataclass(frozen=True)
class Output:
    kind: str
    path: str = ""  # a `job` step's declared file, relative to ATELIER_OUTPUT_DIR


@dataclass(frozen=True)
class StepSpec:
    name: str
    type: str
    parameters: dict = field(default_factory=dict)  # as written: values may hold {{ params.X }}
    inputs: dict[str, Ref] = field(default_factory=dict)
    outputs: dict[str, Output] = field(default_factory=dict)
    after: tuple[str, ...] = ()
    resources: Resources | None = None
    retries: Retries = Retries()
    cache: CachePolicy = CachePolicy()
    description: str = ""

    @property
    def depends_on(self) -> tuple[str, ...]:
        """The steps this one waits for: those its inputs come from, and those it names in `after`."""
        names = [ref.step for ref in self.inputs.values()] + list(self.after)
        return tuple(dict.fromkeys(names))

    def resolved_parameters(self, run_parameters: Mapping) -> dict:
        return substitute(self.parameters, lambda ref: run_parameters[ref.param])


@dataclass(frozen=True)
class PipelineSpec:
    parameters: dict[str, ParamDecl]
    steps: dict[str, StepSpec]
    order: tuple[str, ...]  # a topological order: every step after the steps it depends on
    description: str = ""


@dataclass(frozen=True)
class Validation:
    spec: PipelineSpec | None
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


# ---------------------------------------------------------------- text to document


class _Refused(Exception):
    pass


class _Loader(yaml.SafeLoader):
    """Safe YAML without aliases or duplicate keys; dates stay text (a spec holds JSON's values only)."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            raise _Refused(NO_ALIASES)
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if key is not None and key in seen:
                raise _Refused(DUPLICATE_KEY.format(key=key, where=f" (line {key_node.start_mark.line + 1})"))
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def parse_text(text: str) -> tuple[object, tuple[Problem, ...]]:
    """The document `text` holds (YAML, or JSON when it starts with `{`), or the problem reading it."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_TEXT_BYTES:
        return None, (Problem("", TOO_LONG),)
    try:
        document = _json(text) if text.lstrip().startswith("{") else _yaml(text)
    except _Refused as refused:
        return None, (Problem("", str(refused)),)
    except json.JSONDecodeError as error:
        return None, (Problem("", NOT_JSON.format(problem=error.msg, line=error.lineno, column=error.colno)),)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = getattr(error, "problem", None) or str(error)
        return None, (Problem("", NOT_YAML.format(problem=problem, line=line, column=column)),)
    except RecursionError:
        return None, (Problem("", "Nested too deeply."),)
    return document, tuple(_non_json_values(document, ""))


def _json(text: str):
    def pairs(items):
        seen = {}
        for key, value in items:
            if key in seen:
                raise _Refused(DUPLICATE_KEY.format(key=key, where=""))
            seen[key] = value
        return seen

    def constant(name):
        raise json.JSONDecodeError(NOT_FINITE, text, 0)

    return json.loads(text, object_pairs_hook=pairs, parse_constant=constant)


def _yaml(text: str):
    return yaml.load(text, Loader=_Loader)  # noqa: S506 (_Loader is a SafeLoader)  # nosec B506


def _non_json_values(value, path: str):
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                yield Problem(path, f"The key {key!r} is not text: quote it.")
            else:
                yield from _non_json_values(item, _join(path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _non_json_values(item, f"{path}[{index}]")
    elif isinstance(value, float) and not math.isfinite(value):
        yield Problem(path, NOT_FINITE)
    elif value is not None and not isinstance(value, str | int | float | bool):
        yield Problem(path, NOT_JSON_VALUE.format(kind=type(value).__name__))


# ---------------------------------------------------------------- canonical form and hash


def canonical_json(document) -> str:
    """One text per document: sorted keys, no spaces; two texts that parse alike hash alike."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def content_hash(document) -> str:
    return sha256(canonical_json(document).encode("utf-8")).hexdigest()


# ---------------------------------------------------------------- validation


def validate_text(text: str, *, limits: TeamLimits | None = None) -> tuple[object, Validation]:
    document, problems = parse_text(text)
    if problems:
        return document, Validation(None, problems)
    return document, validate(document, limits=limits)


def validate(document, *, limits: TeamLimits | None = None) -> Validation:
    """Every problem of `document` with its path, or the typed spec when there is none."""
    checker = _Checker(limits or TeamLimits())
    spec = checker.check(document)
    return Validation(None if checker.problems else spec, tuple(checker.problems))


def _join(path: str, key) -> str:
    return f"{path}.{key}" if path else str(key)


def _type_name(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    return {int: "int", float: "float", str: "str", list: "list", dict: "dict"}.get(type(value), type(value).__name__)


def _fits(got: str, expected: tuple[str, ...]) -> bool:
    return got in expected or (got == "int" and "float" in expected)


def _described(types: tuple[str, ...]) -> str:
    words = {"int": "a whole number", "float": "a number", "str": "text", "bool": "true or false"}
    words |= {"list": "a list of text", "dict": "a mapping", "null": "nothing"}
    return " or ".join(words.get(name, name) for name in types)


class _Checker:
    def __init__(self, limits: TeamLimits):
        self.limits = limits
        self.problems: list[Problem] = []

    def add(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def mapping(self, value, path: str, allowed: tuple[str, ...] | None = None) -> dict | None:
        if not isinstance(value, dict):
            self.add(path, NOT_A_MAPPING.format(got=_described((_type_name(value),))))
            return None
        for key in value:
            if allowed is not None and key not in allowed:
                self.add(_join(path, key), UNKNOWN_KEY.format(key=key, allowed=", ".join(allowed)))
        return value

    # -- the document

    def check(self, document) -> PipelineSpec | None:
        top = self.mapping(document, "", _TOP_KEYS)
        if top is None:
            return None
        description = top.get("description", "")
        if not isinstance(description, str):
            self.add("description", WRONG_TYPE.format(expected="text", got=_described((_type_name(description),))))
        parameters = self.parameters(top.get("parameters", {}))
        steps = self.steps(top.get("steps"), parameters)
        if steps is None:
            return None
        self.references(steps)
        order = self.order(steps)
        return PipelineSpec(parameters, steps, order, description if isinstance(description, str) else "")

    # -- run parameters

    def parameters(self, raw) -> dict[str, ParamDecl]:
        declared = {}
        for name, body in (self.mapping(raw, "parameters") or {}).items():
            path = _join("parameters", name)
            if not _NAME.fullmatch(name):
                self.add(path, BAD_NAME.format(name=name))
            elif (decl := self.parameter(name, body, path)) is not None:
                declared[name] = decl
        return declared

    def parameter(self, name: str, body, path: str) -> ParamDecl | None:
        body = self.mapping(body, path, _PARAM_KEYS)
        if body is None:
            return None
        kind = body.get("type")
        if kind is None:
            self.add(_join(path, "type"), REQUIRED)
            return None
        if kind not in PARAM_TYPES:
            self.add(_join(path, "type"), UNKNOWN_PARAM_TYPE.format(type=kind))
            return None
        choices = body.get("choices", [])
        if not isinstance(choices, list):
            self.add(_join(path, "choices"), NOT_A_LIST.format(got=_described((_type_name(choices),))))
            choices = []
        for index, choice in enumerate(choices):
            self.literal(choice, (kind,), f"{path}.choices[{index}]")
        if "default" in body:
            default = body["default"]
            if self.literal(default, (kind,), _join(path, "default")) and choices and default not in choices:
                self.add(
                    _join(path, "default"), NOT_A_CHOICE.format(value=default, choices=", ".join(map(str, choices)))
                )
        description = body.get("description", "")
        return ParamDecl(
            name,
            kind,
            "default" in body,
            body.get("default"),
            tuple(choices),
            description if isinstance(description, str) else "",
        )

    def literal(self, value, expected: tuple[str, ...], path: str) -> bool:
        got = _type_name(value)
        if not _fits(got, expected):
            self.add(path, WRONG_TYPE.format(expected=_described(expected), got=_described((got,))))
            return False
        return True

    # -- steps, each on its own

    def steps(self, raw, parameters: dict[str, ParamDecl]) -> dict[str, StepSpec] | None:
        if raw is None:
            self.add("steps", NO_STEPS)
            return None
        raw = self.mapping(raw, "steps")
        if raw is None:
            return None
        if not raw:
            self.add("steps", NO_STEPS)
        if len(raw) > MAX_STEPS:
            self.add("steps", TOO_MANY_STEPS)
            return None
        steps = {}
        for name, body in raw.items():
            path = _join("steps", name)
            if not _NAME.fullmatch(name):
                self.add(path, BAD_NAME.format(name=name))
            elif (step := self.step(name, body, path, parameters)) is not None:
                steps[name] = step
        return steps

    def step(self, name: str, body, path: str, parameters: dict[str, ParamDecl]) -> StepSpec | None:
        body = self.mapping(body, path, _STEP_KEYS)
        if body is None:
            return None
        kind = body.get("type")
        if kind is None:
            self.add(_join(path, "type"), REQUIRED)
            return None
        step_type = STEP_TYPES.get(kind) if isinstance(kind, str) else None
        if step_type is None:
            self.add(_join(path, "type"), UNKNOWN_STEP_TYPE.format(type=kind, known=", ".join(STEP_TYPES)))
            return None
        return StepSpec(
            name=name,
            type=kind,
            parameters=self.step_parameters(
                step_type, body.get("parameters", {}), _join(path, "parameters"), parameters
            ),
            inputs=self.inputs(step_type, body.get("inputs", {}), _join(path, "inputs")),
            outputs=self.outputs(step_type, body, _join(path, "outputs")),
            after=self.after(name, body.get("after", []), _join(path, "after")),
            resources=self.resources(step_type, body, _join(path, "resources")),
            retries=self.retries(body.get("retries", 0), _join(path, "retries")),
            cache=self.cache(body.get("cache", True), _join(path, "cache")),
            description=body.get("description", "") if isinstance(body.get("description", ""), str) else "",
        )

    def step_parameters(self, step_type: StepType, raw, path: str, declared: dict[str, ParamDecl]) -> dict:
        raw = self.mapping(raw, path)
        if raw is None:
            return {}
        for name, value in raw.items():
            param = step_type.params.get(name)
            if param is None:
                known = ", ".join(step_type.params) or "none"
                self.add(_join(path, name), UNKNOWN_STEP_PARAM.format(type=step_type.name, name=name, known=known))
            else:
                self.step_parameter(name, value, param, _join(path, name), declared, step_type)
        for name, param in step_type.params.items():
            if param.required and name not in raw:
                self.add(path, MISSING_PARAM.format(name=name, type=step_type.name))
        return raw

    def step_parameter(self, name: str, value, param, path: str, declared, step_type: StepType) -> None:
        refs = self.refs_within(value, path, declared)
        if refs is None:
            return
        ref = whole_ref(value) if isinstance(value, str) else None
        if ref is not None and ref.param in declared:
            got = declared[ref.param].type
            if not _fits(got, param.types):
                self.add(
                    path, REF_TYPE.format(name=ref.param, got=_described((got,)), expected=_described(param.types))
                )
            return
        if not self.literal(value, param.types, path):
            return
        if isinstance(value, list):
            for index, item in enumerate(value):
                self.literal(item, ("str",), f"{path}[{index}]")
        if param.choices and not refs and value not in param.choices:
            self.add(path, NOT_A_CHOICE.format(value=value, choices=", ".join(param.choices)))
        if step_type.name == "model.register" and name == "gate":
            self.gate(value, path, declared)

    def refs_within(self, value, path: str, declared: dict[str, ParamDecl]) -> list[Ref] | None:
        """The run-parameter references inside `value` (None when one is malformed or unknown)."""
        found, ok = [], True
        for text_path, text in _texts(value, path):
            try:
                refs = refs_in(text)
            except RefError as error:
                self.add(text_path, str(error))
                ok = False
                continue
            for ref in refs:
                if ref.step:
                    self.add(text_path, OUTPUT_IN_PARAMETERS)
                    ok = False
                elif ref.param not in declared:
                    self.add(text_path, UNKNOWN_PARAM.format(name=ref.param, known=", ".join(declared) or "none"))
                    ok = False
                found.append(ref)
        return found if ok else None

    def gate(self, text: str, path: str, declared: dict[str, ParamDecl]) -> None:
        sample = substitute(text, lambda ref: declared[ref.param].default if declared[ref.param].has_default else 0)
        try:
            gate_parse(str(sample))
        except GateError as error:
            self.add(path, BAD_GATE.format(error=error))

    def inputs(self, step_type: StepType, raw, path: str) -> dict[str, Ref]:
        raw = self.mapping(raw, path)
        if raw is None:
            return {}
        inputs = {}
        for name, value in raw.items():
            where = _join(path, name)
            if not step_type.open_inputs and name not in step_type.inputs:
                known = ", ".join(step_type.inputs) or "none"
                self.add(where, UNKNOWN_INPUT.format(type=step_type.name, name=name, known=known))
            elif step_type.open_inputs and not _NAME.fullmatch(name):
                self.add(where, BAD_NAME.format(name=name))
            elif (ref := self.input_ref(value, where)) is not None:
                inputs[name] = ref
        for name, spec in step_type.inputs.items():
            if spec.required and name not in raw:
                self.add(path, MISSING_INPUT.format(name=name, type=step_type.name, kinds=" or ".join(spec.kinds)))
        return inputs

    def input_ref(self, value, path: str) -> Ref | None:
        if not isinstance(value, str):
            self.add(path, NOT_A_WHOLE_REF)
            return None
        try:
            ref = whole_ref(value)
        except RefError as error:
            self.add(path, str(error))
            return None
        if ref is None:
            self.add(path, NOT_A_WHOLE_REF)
        elif ref.param:
            self.add(path, PARAM_IN_INPUTS)
            return None
        return ref

    def outputs(self, step_type: StepType, body: dict, path: str) -> dict[str, Output]:
        if not step_type.declared_outputs:
            if "outputs" in body:
                self.add(path, FIXED_OUTPUTS.format(type=step_type.name, known=", ".join(step_type.outputs) or "none"))
            return {kind_name: Output(kind) for kind_name, kind in step_type.outputs.items()}
        outputs = {}
        for name, value in (self.mapping(body.get("outputs", {}), path) or {}).items():
            where = _join(path, name)
            if not _NAME.fullmatch(name):
                self.add(where, BAD_NAME.format(name=name))
            elif (output := self.output(value, where)) is not None:
                outputs[name] = output
        return outputs

    def output(self, value, path: str) -> Output | None:
        kind = "file"
        if isinstance(value, dict):
            self.mapping(value, path, ("path", "kind"))
            kind = value.get("kind", "file")
            if kind not in OUTPUT_KINDS:
                self.add(_join(path, "kind"), UNKNOWN_OUTPUT_KIND.format(kind=kind))
                return None
            path, value = _join(path, "path"), value.get("path")
        if not isinstance(value, str) or not _relative_path(value):
            self.add(path, BAD_OUTPUT_PATH.format(path=value))
            return None
        return Output(kind, value)

    def after(self, name: str, raw, path: str) -> tuple[str, ...]:
        if not isinstance(raw, list):
            self.add(path, NOT_A_LIST.format(got=_described((_type_name(raw),))))
            return ()
        names = []
        for index, item in enumerate(raw):
            if not isinstance(item, str):
                self.add(
                    f"{path}[{index}]", WRONG_TYPE.format(expected="a step's name", got=_described((_type_name(item),)))
                )
            elif item == name:
                self.add(f"{path}[{index}]", AFTER_SELF)
            else:
                names.append(item)
        return tuple(names)

    def resources(self, step_type: StepType, body: dict, path: str) -> Resources | None:
        if not step_type.runs_job:
            if "resources" in body:
                self.add(path, NO_RESOURCES.format(type=step_type.name))
            return None
        raw = self.mapping(body.get("resources", {}), path, _RESOURCE_KEYS) or {}
        gpus = self.whole(raw.get("gpus", 1), _join(path, "gpus"), minimum=1)
        memory = self.whole(raw.get("min_memory_mb", 0), _join(path, "min_memory_mb"), minimum=0)
        time_limit_s = self.duration(raw.get("time_limit", DEFAULT_TIME_LIMIT_S), _join(path, "time_limit"))
        environment = self.text(raw.get("environment", ""), _join(path, "environment"))
        gpu_model = self.text(raw.get("gpu_model", ""), _join(path, "gpu_model"))
        working_dir = self.text(raw.get("working_dir", ""), _join(path, "working_dir"))
        self.within_limits(gpus, time_limit_s, environment, path)
        return Resources(
            gpus or 1, time_limit_s or DEFAULT_TIME_LIMIT_S, environment, gpu_model, memory or 0, working_dir
        )

    def within_limits(self, gpus, time_limit_s, environment: str, path: str) -> None:
        limits = self.limits
        if gpus and limits.max_gpus is not None and gpus > limits.max_gpus:
            self.add(_join(path, "gpus"), OVER_GPUS.format(gpus=gpus, limit=limits.max_gpus))
        if time_limit_s and limits.max_time_limit_s is not None and time_limit_s > limits.max_time_limit_s:
            self.add(
                _join(path, "time_limit"),
                OVER_TIME_LIMIT.format(asked=time_limit_s / 3600, limit=limits.max_time_limit_s / 3600),
            )
        elif gpus and time_limit_s and limits.gpu_hours_per_month is not None:
            asked = gpus * time_limit_s / 3600
            if asked > limits.gpu_hours_per_month:
                message = OVER_MONTHLY.format(
                    gpus=gpus, hours=time_limit_s / 3600, asked=asked, limit=limits.gpu_hours_per_month
                )
                self.add(path, message)
        if environment and limits.environments is not None and environment not in limits.environments:
            known = ", ".join(sorted(limits.environments)) or "none"
            self.add(_join(path, "environment"), UNKNOWN_ENVIRONMENT.format(name=environment, known=known))

    def whole(self, value, path: str, *, minimum: int) -> int | None:
        if _type_name(value) != "int" or value < minimum:
            self.add(path, AT_LEAST.format(minimum=minimum))
            return None
        return value

    def text(self, value, path: str) -> str:
        if not isinstance(value, str):
            self.add(path, WRONG_TYPE.format(expected="text", got=_described((_type_name(value),))))
            return ""
        return value

    def duration(self, value, path: str) -> float | None:
        """A duration as the scheduler reads one (`2h`, `PT2H`, `90m`), or a number of seconds."""
        if _type_name(value) in ("int", "float") and value >= 0:
            return float(value)
        if not isinstance(value, str):
            self.add(
                path,
                WRONG_TYPE.format(expected="a duration (e.g. 2h, 90m, PT2H)", got=_described((_type_name(value),))),
            )
            return None
        try:
            return parse_duration(value).total_seconds()
        except DurationError as error:
            self.add(path, BAD_DURATION.format(error=error))
            return None

    def retries(self, raw, path: str) -> Retries:
        if _type_name(raw) == "int":
            raw = {"count": raw}
        raw = self.mapping(raw, path, _RETRY_KEYS)
        if raw is None:
            return Retries()
        count = raw.get("count", 0)
        if _type_name(count) != "int" or not 0 <= count <= MAX_RETRIES:
            self.add(_join(path, "count"), RETRY_COUNT)
            count = 0
        backoff = self.duration(raw.get("backoff", DEFAULT_BACKOFF_S), _join(path, "backoff"))
        factor = raw.get("factor", 2.0)
        if _type_name(factor) not in ("int", "float") or not 1 <= factor <= 10:
            self.add(_join(path, "factor"), BACKOFF_FACTOR)
            factor = 2.0
        return Retries(count, DEFAULT_BACKOFF_S if backoff is None else backoff, float(factor))

    def cache(self, raw, path: str) -> CachePolicy:
        if isinstance(raw, bool):
            return CachePolicy(enabled=raw)
        if not isinstance(raw, dict):
            self.add(path, CACHE_POLICY)
            return CachePolicy()
        self.mapping(raw, path, _CACHE_KEYS)
        max_age = self.duration(raw["max_age"], _join(path, "max_age")) if "max_age" in raw else None
        return CachePolicy(enabled=True, max_age_s=max_age)

    # -- across steps

    def references(self, steps: dict[str, StepSpec]) -> None:
        known = ", ".join(steps)
        for step in steps.values():
            for name, ref in step.inputs.items():
                path = f"steps.{step.name}.inputs.{name}"
                source = steps.get(ref.step)
                if source is None:
                    self.add(path, UNKNOWN_STEP.format(name=ref.step, known=known))
                elif ref.output not in source.outputs:
                    outputs = ", ".join(source.outputs) or "none"
                    self.add(path, UNKNOWN_OUTPUT.format(step=ref.step, output=ref.output, known=outputs))
                else:
                    self.kind(step, name, source, ref.output, path)
            for index, name in enumerate(step.after):
                if name not in steps:
                    self.add(f"steps.{step.name}.after[{index}]", UNKNOWN_STEP.format(name=name, known=known))
            if step.type == "model.register" and "gate" in step.parameters and "metrics" not in step.inputs:
                self.add(f"steps.{step.name}.parameters.gate", GATE_WITHOUT_METRICS)

    def kind(self, step: StepSpec, name: str, source: StepSpec, output: str, path: str) -> None:
        wanted = STEP_TYPES[step.type].inputs.get(name)
        got = source.outputs[output].kind
        if wanted is not None and ANY_KIND not in wanted.kinds and got not in wanted.kinds:
            expected = " or ".join(wanted.kinds)
            self.add(path, WRONG_KIND.format(step=source.name, output=output, got=got, expected=expected))

    def order(self, steps: dict[str, StepSpec]) -> tuple[str, ...]:
        graph = {name: [dep for dep in step.depends_on if dep in steps] for name, step in steps.items()}
        for cycle in _cycles(graph):
            flow = [cycle[0], *reversed(cycle[1:]), cycle[0]]  # dependencies point backwards; data flows forwards
            self.add(f"steps.{cycle[0]}", CYCLE.format(cycle=" → ".join(flow)))
        return _topological(graph)


def _texts(value, path: str):
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _texts(item, f"{path}[{index}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _texts(item, _join(path, key))


def _relative_path(text: str) -> bool:
    parts = text.replace("\\", "/").split("/")
    return bool(text) and not text.startswith("/") and ".." not in parts and "\0" not in text and ":" not in parts[0]


def _cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """One cycle per strongly connected component that has one, each starting at its first step in the spec."""
    position = {name: index for index, name in enumerate(graph)}
    cycles = []
    for component in _components(graph):
        members = set(component)
        if len(component) == 1 and component[0] not in graph[component[0]]:
            continue
        start = min(component, key=position.__getitem__)
        cycles.append(_cycle_through(start, graph, members))
    return sorted(cycles, key=lambda cycle: position[cycle[0]])


def _cycle_through(start: str, graph: dict[str, list[str]], members: set[str]) -> list[str]:
    """A shortest path back to `start` inside its component (breadth-first, so the message stays short)."""
    parent, frontier = {start: None}, [start]
    while frontier:
        following = []
        for node in frontier:
            for dep in graph[node]:
                if dep == start:
                    path = [node]
                    while parent[path[-1]] is not None:
                        path.append(parent[path[-1]])
                    return list(reversed(path))
                if dep in members and dep not in parent:
                    parent[dep] = node
                    following.append(dep)
        frontier = following
    return [start]  # unreachable for a component with a cycle


def _components(graph: dict[str, list[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components, iterative (a 500-step chain must not hit the recursion limit)."""
    index, low, on_stack, stack, result, counter = {}, {}, set(), [], [], 0
    for root in graph:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, child = work.pop()
            if child == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            deps = graph[node]
            if child < len(deps):
                work.append((node, child + 1))
                dep = deps[child]
                if dep not in index:
                    work.append((dep, 0))
                elif dep in on_stack:
                    low[node] = min(low[node], index[dep])
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                result.append(component)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return result


def _topological(graph: dict[str, list[str]]) -> tuple[str, ...]:
    """Steps in spec order, each after its dependencies (Kahn's algorithm; cycles' members left out)."""
    waiting = {name: set(deps) for name, deps in graph.items()}
    order, placed = [], set()
    progress = True
    while progress:
        progress = False
        for name in graph:
            if name not in placed and waiting[name] <= placed:
                order.append(name)
                placed.add(name)
                progress = True
    return tuple(order)
