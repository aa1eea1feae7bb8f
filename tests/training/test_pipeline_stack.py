"""Issue 23 end to end with real processes (web, worker, beat, agent): the loop — freeze → export → train
→ evaluate → register behind a gate whose threshold is a run parameter → pre-label — started and followed
through the CLI; run again unchanged, it starts no job and every step is a cache hit."""

import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import pytest
from django.conf import settings

from labeling.models import Prediction
from portal.accounts.services import api_token_create
from scheduler.models import Attempt, Job
from tests.cli.test_cli import ATELIER, cli_env
from tests.stack import wait_for
from tests.training.test_staged_training import fleet  # noqa: F401 (a fixture)
from training.demo import detection_version_create
from training.models import PipelineRun
from training.refs import prelabel_run_ref
from training.services.pipeline_runs import pipeline_run_start
from training.services.pipelines import pipeline_create

pytestmark = pytest.mark.stack
ROOT = Path(__file__).resolve().parents[2]
THREADS = "--threads 1"
SPEC = """
parameters:
  dataset: {{type: int}}
  threshold: {{type: float, default: 0.6}}
steps:
  freeze: {{type: dataset.freeze, parameters: {{dataset: "{{{{ params.dataset }}}}"}}}}
  export:
    type: dataset.export
    inputs: {{version: "{{{{ steps.freeze.outputs.version }}}}"}}
    parameters: {{format: coco, options: {{include_images: true}}}}
  train:
    type: train
    inputs: {{dataset: "{{{{ steps.export.outputs.export }}}}"}}
    parameters:
      command: python examples/train_detector.py --steps 2 --batch 2 --tile-height 400 --scale 0.25 {threads}
      code: [examples/train_detector.py, training/detector/model.py]
    resources: {{gpus: 1, time_limit: 10m, working_dir: "{checkout}"}}
  evaluate:
    type: evaluate
    inputs: {{checkpoint: "{{{{ steps.train.outputs.checkpoint }}}}", dataset: "{{{{ steps.export.outputs.export }}}}"}}
    parameters: {{command: python examples/evaluate_detector.py {threads}, code: [examples/evaluate_detector.py]}}
    resources: {{gpus: 1, time_limit: 10m, working_dir: "{checkout}"}}
  register:
    type: model.register
    inputs: {{checkpoint: "{{{{ steps.train.outputs.checkpoint }}}}", metrics: "{{{{ steps.evaluate.outputs.metrics }}}}"}}
    parameters: {{model: strips, gate: "map50 >= {{{{ params.threshold }}}}"}}
  prelabel:
    type: prelabel
    inputs: {{model: "{{{{ steps.register.outputs.version }}}}", dataset: "{{{{ steps.freeze.outputs.version }}}}"}}
    parameters: {{threshold: 0.0}}
    resources: {{gpus: 1, time_limit: 10m, working_dir: "{checkout}"}}
"""


@pytest.fixture
def checkout():
    """The scripts and the detector module where the job's account reads them (under the job work root)."""
    folder = Path(tempfile.mkdtemp(dir=settings.JOB_WORKDIR_ROOT, prefix="pipeline-"))
    (folder / "examples").mkdir()
    for script in ("train_detector.py", "evaluate_detector.py"):
        shutil.copy(ROOT / "examples" / script, folder / "examples")
    shutil.copytree(ROOT / "training" / "detector", folder / "training" / "detector")
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def cli(fleet, researcher, tmp_path):  # noqa: F811
    _, token = api_token_create(user=researcher, name="cli", expires_in_days=1)
    env = cli_env(tmp_path)

    def run(*args, code=0):
        result = subprocess.run([ATELIER, *args], env=env, capture_output=True, text=True, timeout=60)
        assert result.returncode == code, result.stderr
        return result.stdout if code == 0 else result.stderr

    run("login", fleet.url, "--token", token)
    return run


def ended(run_id: int, timeout: float = 420.0) -> PipelineRun:
    return wait_for(lambda: (r := PipelineRun.objects.get(pk=run_id)).finished_at and r, timeout=timeout)


def test_the_loop_runs_end_to_end_then_again_entirely_from_the_cache(cli, researcher, team_a, checkout, tmp_path):
    version = detection_version_create(
        user=researcher, team_id=team_a.pk, name="Tiny strips", seeds=range(4), width=160, height=480
    )
    spec = tmp_path / "loop.yaml"
    spec.write_text("steps:\n  a: {type: job, parameters: {command: 1}}\n  b: {type: nope}\n")
    problems = cli("pipelines", "validate", str(spec), "--team", str(team_a.pk), code=1)
    assert "steps.a.parameters.command:" in problems and "steps.b.type:" in problems
    spec.write_text(SPEC.format(checkout=checkout, threads=THREADS))
    assert "Valid: freeze (dataset.freeze) → export" in cli(
        "pipelines", "validate", str(spec), "--team", str(team_a.pk)
    )
    assert "created" in cli("pipelines", "push", "loop", str(spec), "--team", str(team_a.pk))
    assert "spec v1" in cli("pipelines", "push", "loop", str(spec))  # unchanged: still version 1
    assert "loop" in cli("pipelines", "list")

    started = cli("pipelines", "run", "loop", "-p", f"dataset={version.dataset_id}", "-p", "threshold=0")
    run = ended(PipelineRun.objects.get().pk)

    status = cli("pipelines", "status", str(run.pk))
    assert run.state == "succeeded", (run.error, status)
    assert f"Run {run.pk} of loop" in started
    assert set(run.steps.values_list("state", flat=True)) == {"succeeded"}
    assert "device=cpu" in cli("pipelines", "logs", str(run.pk), "train")
    prelabel = run.steps.get(name="prelabel").prelabel_run
    assert (
        prelabel.items_ingested == 4
        and Prediction.objects.filter(run_ref=prelabel_run_ref(run_id=prelabel.pk)).count() == 4
    )
    jobs, attempts = Job.objects.count(), Attempt.objects.count()
    assert jobs == 3  # train, evaluate, pre-label

    cli("pipelines", "run", "loop", "-p", f"dataset={version.dataset_id}", "-p", "threshold=0")
    again = ended(PipelineRun.objects.exclude(pk=run.pk).get().pk, timeout=60)

    assert again.state == "succeeded", again.error
    assert (Job.objects.count(), Attempt.objects.count()) == (jobs, attempts)
    assert all(step.cache_hit_of_id for step in again.steps.all()), list(again.steps.values("name", "cache_note"))


KILLABLE = """
steps:
  work:
    type: job
    parameters:
      command: >-
        if [ -e "$ATELIER_OUTPUT_DIR/first-try-ran" ]; then echo second > "$ATELIER_OUTPUT_DIR/result.txt";
        else touch "$ATELIER_OUTPUT_DIR/first-try-ran"; echo first; sleep 300; fi
    outputs: {result: result.txt}
  read:
    type: job
    inputs: {result: "{{ steps.work.outputs.result }}"}
    parameters: {command: 'cat "$ATELIER_INPUT_RESULT"'}
"""


def test_a_worker_killed_mid_step_loses_the_attempt_the_job_requeues_it_and_the_run_completes(
    fleet,  # noqa: F811
    researcher,
    team_a,
):
    pipeline = pipeline_create(user=researcher, team_id=team_a.pk, name="killable", text=KILLABLE)
    run = pipeline_run_start(user=researcher, pipeline=pipeline)
    work = wait_for(lambda: (s := run.steps.get(name="work")).job_id and s)
    wait_for(lambda: Attempt.objects.filter(job_id=work.job_id, number=1, state="running", pgid__isnull=False).exists())

    fleet.stop("worker", sig=signal.SIGKILL)  # the whole worker process group, the step's job with it
    fleet.ensure_running()
    run = ended(run.pk, timeout=90)

    assert run.state == "succeeded", run.error
    work = run.steps.get(name="work")
    assert work.tries == 1  # the job machinery requeued the attempt; the step never restarted
    assert list(Attempt.objects.filter(job_id=work.job_id).order_by("number").values_list("state", flat=True)) == [
        "lost",
        "succeeded",
    ]
    assert Job.objects.filter(labels__pipeline_run=str(run.pk)).count() == 2


def test_the_module_chain_example_passes_files_from_step_to_step(fleet, researcher, team_a):  # noqa: F811
    text = (ROOT / "examples" / "pipelines" / "module_chain.yaml").read_text()
    pipeline = pipeline_create(user=researcher, team_id=team_a.pk, name="chain", text=text)

    run = ended(pipeline_run_start(user=researcher, pipeline=pipeline).pk, timeout=120)

    assert run.state == "succeeded", run.error
    summary = run.steps.get(name="postprocess").outputs["summary"]
    assert (summary["kind"], summary["values"]) == ("metrics", {"words": 4, "chars": 18})
    assert len(summary["sha256"]) == 64
