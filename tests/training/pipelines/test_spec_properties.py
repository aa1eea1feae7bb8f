"""Properties of the validator over generated specs, each checked against an independent oracle."""

import json
import re

from hypothesis import given
from hypothesis import strategies as st

from tests.training.pipelines.specs import job
from training.pipelines import content_hash, parse_text, validate

NAMES = st.sampled_from([f"s{i}" for i in range(8)])


@st.composite
def graphs(draw):
    """Step names and, for each, the steps it reads from (an arbitrary directed graph, cycles allowed)."""
    names = draw(st.lists(NAMES, min_size=1, max_size=8, unique=True))
    return {name: draw(st.lists(st.sampled_from(names), max_size=3, unique=True)) for name in names}


def spec_of(graph: dict[str, list[str]]) -> dict:
    return {
        "steps": {
            name: job(
                f"run {name}",
                inputs={f"i{dep}": f"{{{{ steps.{dep}.outputs.f }}}}" for dep in deps},
                outputs={"f": "f"},
            )
            for name, deps in graph.items()
        }
    }


def reachable(graph: dict[str, list[str]]) -> dict[str, set[str]]:
    """The oracle: transitive closure by repeated relaxation (no search order shared with the validator)."""
    reach = {name: set(deps) for name, deps in graph.items()}
    changed = True
    while changed:
        changed = False
        for name in reach:
            more = set().union(*(reach[dep] for dep in reach[name])) - reach[name]
            if more:
                reach[name] |= more
                changed = True
    return reach


@given(graphs())
def test_a_spec_is_refused_exactly_when_its_graph_has_a_cycle(graph):
    validation = validate(spec_of(graph))
    reach = reachable(graph)
    on_cycles = {name for name in graph if name in reach[name]}
    if not on_cycles:
        assert validation.ok, validation.problems
        order = validation.spec.order
        assert sorted(order) == sorted(graph)
        assert all(order.index(dep) < order.index(name) for name, deps in graph.items() for dep in deps)
        return
    named = set()
    for problem in validation.problems:
        cycle = re.fullmatch(r"A cycle: (.*) \(each step feeds the next\)\. .*", problem.message).group(1).split(" → ")
        assert cycle[0] == cycle[-1] and problem.path == f"steps.{cycle[0]}"
        for source, target in zip(cycle, cycle[1:], strict=False):
            assert source in graph[target]  # target reads source: a real edge
        named |= set(cycle)
    assert named <= on_cycles
    # every strongly connected group of steps on a cycle is named once: one member of each is in a message
    groups = {
        frozenset(other for other in on_cycles if other in reach[name] and name in reach[other]) for name in on_cycles
    }
    assert all(group & named for group in groups)
    assert len(validation.problems) == len(groups)


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=30,
)
SPECISH = st.fixed_dictionaries(
    {},
    optional={
        "parameters": st.dictionaries(
            st.sampled_from(["a", "b", "c d"]),
            JSON | st.fixed_dictionaries({"type": st.sampled_from(["int", "str", "x"])}, optional={"default": JSON}),
        ),
        "steps": st.dictionaries(
            NAMES,
            JSON
            | st.fixed_dictionaries(
                {"type": st.sampled_from(["job", "train", "evaluate", "model.register", "alias.move", "nope"])},
                optional={
                    "parameters": JSON,
                    "inputs": JSON,
                    "outputs": JSON,
                    "after": JSON,
                    "resources": JSON,
                    "retries": JSON,
                    "cache": JSON,
                },
            ),
        ),
        "x": JSON,
    },
)


@given(SPECISH | JSON)
def test_any_document_gets_a_spec_or_problems_never_an_exception(document):
    validation = validate(document)
    assert (validation.spec is None) == bool(validation.problems)
    assert all(isinstance(problem.message, str) and problem.message for problem in validation.problems)


@given(st.dictionaries(st.text(max_size=8), JSON, max_size=6))
def test_the_hash_is_of_the_content_not_of_key_order_or_layout(document):
    shuffled = dict(reversed(list(document.items())))
    assert content_hash(document) == content_hash(shuffled)
    reread, problems = parse_text(json.dumps(document, indent=3))
    assert not problems and content_hash(reread) == content_hash(document)
