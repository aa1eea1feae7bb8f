"""Reads of pipeline runs for the pages: a run's steps laid out as a graph (columns by depth, edges from
each step to the steps that take its outputs or wait for it), and a pipeline's run history."""

from dataclasses import dataclass, field

from training.models import PipelineRun, StepRun
from training.pipelines import validate

COLUMN_WIDTH, ROW_HEIGHT, BOX_WIDTH, BOX_HEIGHT, MARGIN = 230, 118, 200, 96, 12


@dataclass
class GraphNode:
    step: StepRun
    x: int
    y: int
    after: list[str] = field(default_factory=list)

    @property
    def duration_s(self) -> float | None:
        if self.step.started_at is None or self.step.finished_at is None:
            return None
        return (self.step.finished_at - self.step.started_at).total_seconds()


@dataclass(frozen=True)
class GraphEdge:
    x1: int
    y1: int
    x2: int
    y2: int


@dataclass(frozen=True)
class RunGraph:
    nodes: list[GraphNode]
    edges: list[GraphEdge]
    width: int
    height: int


def run_graph(*, run: PipelineRun) -> RunGraph:
    spec = validate(run.spec_version.document).spec
    steps = {step.name: step for step in run.steps.select_related("job", "cache_hit_of")}
    parents = {name: sorted({r.step for r in s.inputs.values()} | set(s.after)) for name, s in spec.steps.items()}
    depth: dict[str, int] = {}
    for name in spec.order:  # topological: every parent's depth is known first
        depth[name] = 1 + max((depth[p] for p in parents[name]), default=-1)
    rows: dict[int, int] = {}
    nodes = {}
    for name in spec.order:
        column = depth[name]
        row = rows.get(column, 0)
        rows[column] = row + 1
        x, y = MARGIN + column * COLUMN_WIDTH, MARGIN + row * ROW_HEIGHT
        nodes[name] = GraphNode(step=steps[name], x=x, y=y, after=parents[name])
    edges = [
        GraphEdge(nodes[p].x + BOX_WIDTH, nodes[p].y + BOX_HEIGHT // 2, nodes[name].x, nodes[name].y + BOX_HEIGHT // 2)
        for name in spec.order
        for p in parents[name]
    ]
    width = MARGIN * 2 + (max(depth.values(), default=0) + 1) * COLUMN_WIDTH
    height = MARGIN * 2 + max(rows.values(), default=1) * ROW_HEIGHT
    return RunGraph(nodes=[nodes[name] for name in spec.order], edges=edges, width=width, height=height)
