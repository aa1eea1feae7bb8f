"""Pipeline runs through the advance loop, in process: the scheduler's own services place, claim and end
each step's job (the stack test runs them as real processes). Both databases."""

import json
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from labeling.models import ExportJob
from labeling.services.exports import export_job_run
from portal.errors import Invalid
from scheduler.models import Attempt, AttemptState, Job
from scheduler.services.jobs import attempt_claim, attempt_finish, attempt_place
from tests.training.conftest import state_dict_bytes
from training.models import ModelAlias, PipelineRun, StepRun
from training.pipelines.cache import FIRST, NO_CODE
from training.services.pipeline_runs import (
    cache_forget,
    pipeline_run_advance,
    pipeline_run_cancel,
    pipeline_run_rerun,
    pipeline_run_start,
)
from training.services.pipelines import pipeline_create

LOOP = """
parameters:
  dataset: {type: int}
  epochs: {type: int, default: 3}
  threshold: {type: float, default: 0.5}
steps:
  freeze: {type: dataset.freeze, parameters: {dataset: "{{ params.dataset }}"}}
  export:
    type: dataset.export
    inputs: {version: "{{ steps.freeze.outputs.version }}"}
    parameters: {format: coco, options: {include_images: true}}
  train:
    type: train
    inputs: {dataset: "{{ steps.export.outputs.export }}"}
    parameters: {command: "python train.py --epochs {{ params.epochs }}", code: [train.py]}
    retries: {count: 1, backoff: 0s}
  evaluate:
    type: evaluate
    inputs: {checkpoint: "{{ steps.train.outputs.checkpoint }}"}
    parameters: {command: python evaluate.py, code: [evaluate.py]}
  register:
    type: model.register
    inputs: {checkpoint: "{{ steps.train.outputs.checkpoint }}", metrics: "{{ steps.evaluate.outputs.metrics }}"}
    parameters: {model: strips, gate: "map50 >= {{ params.threshold }} and >= production"}
  promote:
    type: alias.move
    inputs: {version: "{{ steps.register.outputs.version }}"}
    parameters: {alias: staging}
"""


def job_run(job: Job, gpu, *, files: dict[str, bytes] | None = None, state=AttemptState.SUCCEEDED) -> None:
    """The job's attempt placed, claimed and ended by the scheduler's services, after writing `files`."""
    attempt = attempt_place(job=job, gpus=[gpu], now=timezone.now())
    assert attempt_claim(attempt_id=attempt.pk, host="test-host", worker="test-worker")
    outputs = Path(settings.JOB_DATA_ROOT) / f"job-{job.pk}" / "outputs"
    outputs.mkdir(parents=True, exist_ok=True)
    for name, data in (files or {}).items():
        (outputs / name).write_bytes(data)
    attempt_finish(attempt=Attempt.objects.get(pk=attempt.pk), state=state, exit_code=0 if state == "succeeded" else 1)


def step(run, name) -> StepRun:
    return StepRun.objects.get(run=run, name=name)


def exports_run() -> None:
    for export in ExportJob.objects.filter(state="queued"):
        export_job_run(export_job_id=export.pk)


def trained_files(map50: float) -> dict:
    return {"model.pt": state_dict_bytes(), "config.json": b'{"classes": ["panel"]}'}


def loop_through(run, gpu, *, map50=0.7, train_fails_first=False) -> PipelineRun:
    """Advance the run, running each job the loop starts, until it ends."""
    for _ in range(20):
        pipeline_run_advance(run_id=run.pk)
        exports_run()
        for waiting in StepRun.objects.filter(run=run, state="running", job__state="pending"):
            job = waiting.job
            if waiting.name == "train":
                if train_fails_first and not waiting.history:
                    job_run(job, gpu, state=AttemptState.FAILED)
                else:
                    job_run(job, gpu, files=trained_files(map50))
            elif waiting.name == "evaluate":
                job_run(job, gpu, files={"metrics.json": json.dumps({"map50": map50}).encode()})
        run.refresh_from_db()
        if run.state != "running":
            return run
    raise AssertionError(f"run {run.pk} did not end: {list(run.steps.values_list('name', 'state'))}")


@pytest.fixture
def pipeline(researcher, team_a, workdir):
    return pipeline_create(user=researcher, team_id=team_a.pk, name="loop", text=LOOP)


def test_the_loop_freezes_exports_trains_evaluates_registers_behind_its_gate_and_promotes(
    researcher, pipeline, dataset, gpu
):
    run = pipeline_run_start(user=researcher, pipeline=pipeline, parameters={"dataset": dataset.pk, "threshold": 0.1})
    run = loop_through(run, gpu)

    assert run.state == "succeeded", run.error
    assert set(run.steps.values_list("state", flat=True)) == {"succeeded"}
    train = step(run, "train")
    assert train.job.command == "python train.py --epochs 3"
    data = Path(train.job.inputs["data"])
    assert (data / "annotations" / "instances_train.json").is_file() or (data / "annotations").is_dir()
    evaluate = step(run, "evaluate")
    staged = Path(evaluate.job.inputs["checkpoint"])
    assert staged.name == "model.pt" and (staged.parent / "config.json").is_file()
    registered = step(run, "register").outputs["version"]
    alias = ModelAlias.objects.get(name="staging", model__name="strips")
    assert (alias.version_id, alias.version.metrics) == (registered["id"], {"map50": 0.7})
    assert registered["sha256"] == train.outputs["checkpoint"]["sha256"]
    assert train.cache_note == FIRST


def test_running_it_again_unchanged_starts_no_job_every_step_a_cache_hit(researcher, pipeline, dataset, gpu):
    first = loop_through(
        pipeline_run_start(user=researcher, pipeline=pipeline, parameters={"dataset": dataset.pk, "threshold": 0.1}),
        gpu,
    )
    jobs, attempts = Job.objects.count(), Attempt.objects.count()

    again = pipeline_run_start(user=researcher, pipeline=pipeline, parameters={"dataset": dataset.pk, "threshold": 0.1})
    pipeline_run_advance(run_id=again.pk)
    again.refresh_from_db()

    assert again.state == "succeeded"
    assert (Job.objects.count(), Attempt.objects.count()) == (jobs, attempts)
    for name in ("freeze", "export", "train", "evaluate", "register", "promote"):
        hit = step(again, name)
        assert hit.cache_hit_of == step(first, name), name
        assert hit.cache_note.startswith("Hit"), (name, hit.cache_note)


def test_a_changed_training_parameter_reruns_train_and_what_follows_not_the_export(researcher, pipeline, dataset, gpu):
    first = loop_through(
        pipeline_run_start(user=researcher, pipeline=pipeline, parameters={"dataset": dataset.pk, "threshold": 0.1}),
        gpu,
    )
    changed = pipeline_run_start(
        user=researcher, pipeline=pipeline, parameters={"dataset": dataset.pk, "threshold": 0.1, "epochs": 5}
    )
    changed = loop_through(changed, gpu)

    assert changed.state == "succeeded", changed.error
    assert step(changed, "export").cache_hit_of == step(first, "export")
    assert step(changed, "freeze").cache_hit_of == step(first, "freeze")
    for name in ("train", "evaluate", "register", "promote"):
        assert step(changed, name).cache_hit_of is None, name
    assert "parameters.command" in step(changed, "train").cache_note
    assert step(changed, "train").job.command == "python train.py --epochs 5"


def test_a_step_whose_job_fails_once_is_retried_and_the_run_completes(researcher, pipeline, dataset, gpu):
    run = pipeline_run_start(user=researcher, pipeline=pipeline, parameters={"dataset": dataset.pk, "threshold": 0.1})
    run = loop_through(run, gpu, train_fails_first=True)

    assert run.state == "succeeded", run.error
    train = step(run, "train")
    assert train.tries == 2 and len(train.history) == 1
    assert "failed" in train.history[0]["error"]


def test_a_gate_that_does_not_pass_fails_the_run_with_its_reason_and_leaves_earlier_steps_reusable(
    researcher, pipeline, dataset, gpu
):
    run = pipeline_run_start(user=researcher, pipeline=pipeline, parameters={"dataset": dataset.pk, "threshold": 0.9})
    run = loop_through(run, gpu, map50=0.4)

    assert run.state == "failed"
    assert run.error == "Step “register” failed: The gate did not pass: map50 0.4 is not >= 0.9."
    assert (step(run, "register").state, step(run, "promote").state) == ("failed", "skipped")
    rerun = pipeline_run_rerun(user=researcher, run=run)
    assert rerun.rerun_of == run
    assert step(rerun, "train").state == "succeeded" and step(rerun, "register").state == "waiting"


def test_a_duplicate_advance_starts_no_step_twice(researcher, pipeline, dataset, gpu):
    run = pipeline_run_start(user=researcher, pipeline=pipeline, parameters={"dataset": dataset.pk})
    pipeline_run_advance(run_id=run.pk)
    exports_run()
    pipeline_run_advance(run_id=run.pk)
    pipeline_run_advance(run_id=run.pk)  # the same message delivered again

    train = step(run, "train")
    assert train.tries == 1 and train.job is not None
    assert Job.objects.count() == 1 and ExportJob.objects.count() == 1


def test_a_job_step_without_code_files_is_never_cached(researcher, team_a, workdir, gpu):
    text = "steps:\n  a: {type: job, parameters: {command: 'true'}, outputs: {out: out.txt}}\n"
    pipeline = pipeline_create(user=researcher, team_id=team_a.pk, name="plain", text=text)
    for _ in range(2):
        run = pipeline_run_start(user=researcher, pipeline=pipeline)
        pipeline_run_advance(run_id=run.pk)
        job_run(step(run, "a").job, gpu, files={"out.txt": b"x"})
        pipeline_run_advance(run_id=run.pk)
        run.refresh_from_db()
        assert run.state == "succeeded"
        assert step(run, "a").cache_note == NO_CODE
    assert Job.objects.count() == 2


def test_a_job_step_that_did_not_write_its_declared_output_fails_with_its_name(researcher, team_a, workdir, gpu):
    text = "steps:\n  a: {type: job, parameters: {command: 'true'}, outputs: {out: out.txt}}\n"
    pipeline = pipeline_create(user=researcher, team_id=team_a.pk, name="plain", text=text)
    run = pipeline_run_start(user=researcher, pipeline=pipeline)
    pipeline_run_advance(run_id=run.pk)
    job_run(step(run, "a").job, gpu)
    pipeline_run_advance(run_id=run.pk)
    run.refresh_from_db()
    assert run.error == "Step “a” failed: The job succeeded but did not write its declared output “out.txt” (out.txt)."


def test_forgetting_a_cache_entry_makes_the_next_run_do_the_step_again(researcher, pipeline, dataset, gpu):
    first = loop_through(
        pipeline_run_start(user=researcher, pipeline=pipeline, parameters={"dataset": dataset.pk, "threshold": 0.1}),
        gpu,
    )
    assert cache_forget(user=researcher, step=step(first, "train")) == 1
    again = loop_through(
        pipeline_run_start(user=researcher, pipeline=pipeline, parameters={"dataset": dataset.pk, "threshold": 0.1}),
        gpu,
    )
    assert step(again, "train").cache_hit_of is None and step(again, "export").cache_hit_of is not None


def test_a_run_without_cache_runs_every_step(researcher, pipeline, dataset, gpu):
    loop_through(
        pipeline_run_start(user=researcher, pipeline=pipeline, parameters={"dataset": dataset.pk, "threshold": 0.1}),
        gpu,
    )
    run = pipeline_run_start(
        user=researcher, pipeline=pipeline, parameters={"dataset": dataset.pk, "threshold": 0.1}, use_cache=False
    )
    run = loop_through(run, gpu)
    assert not run.steps.filter(cache_hit_of__isnull=False).exists()


def test_cancelling_a_run_cancels_its_running_job(researcher, pipeline, dataset, gpu):
    run = pipeline_run_start(user=researcher, pipeline=pipeline, parameters={"dataset": dataset.pk})
    pipeline_run_advance(run_id=run.pk)
    exports_run()
    pipeline_run_advance(run_id=run.pk)
    job = step(run, "train").job

    pipeline_run_cancel(user=researcher, run=run)

    job.refresh_from_db()
    assert job.cancel_requested_at is not None or job.state == "cancelled"
    assert (step(run, "train").state, step(run, "evaluate").state) == ("cancelled", "skipped")


def test_run_parameters_of_the_wrong_type_or_unknown_are_a_400_naming_each(researcher, pipeline):
    with pytest.raises(Invalid) as refused:
        pipeline_run_start(user=researcher, pipeline=pipeline, parameters={"dataset": "x", "nope": 1})
    assert set(refused.value.message_dict) == {"parameters.dataset", "parameters.nope"}
    assert not PipelineRun.objects.exists()


def test_a_step_the_starter_may_not_do_fails_with_the_refusal(researcher, team_a, pipeline, dataset, gpu):
    ModelAlias.objects.all().delete()
    text = LOOP.replace("{alias: staging}", "{alias: production}")
    from training.services.pipelines import pipeline_spec_save

    pipeline_spec_save(user=researcher, pipeline=pipeline, text=text)
    run = pipeline_run_start(user=researcher, pipeline=pipeline, parameters={"dataset": dataset.pk, "threshold": 0.1})
    run = loop_through(run, gpu)

    assert run.state == "failed"
    assert step(run, "promote").state == "failed"
    assert "production" in step(run, "promote").error


def test_a_steps_job_cancelled_by_a_person_fails_the_step_without_a_retry(researcher, pipeline, dataset, gpu):
    from scheduler.services.jobs import job_cancel

    run = pipeline_run_start(user=researcher, pipeline=pipeline, parameters={"dataset": dataset.pk})
    pipeline_run_advance(run_id=run.pk)
    exports_run()
    pipeline_run_advance(run_id=run.pk)
    job_cancel(job=step(run, "train").job, by=researcher)
    pipeline_run_advance(run_id=run.pk)

    run.refresh_from_db()
    assert (run.state, step(run, "train").tries) == ("failed", 1)
    assert "ended cancelled" in run.error


@pytest.mark.django_db(transaction=True)
def test_advances_at_the_same_moment_start_each_step_once(researcher, team_a, workdir, gpu):
    from portal.teams.services import quota_update
    from tests.scheduler.race import race

    quota_update(team=team_a, max_concurrent_gpus=64)
    text = "steps:\n  first: {type: job, parameters: {command: 'true'}}\n" + "".join(
        f"  w{i}: {{type: job, after: [first], parameters: {{command: 'true'}}}}\n" for i in range(8)
    )
    pipeline = pipeline_create(user=researcher, team_id=team_a.pk, name="fan", text=text)
    run = pipeline_run_start(user=researcher, pipeline=pipeline)
    pipeline_run_advance(run_id=run.pk)
    job_run(step(run, "first").job, gpu)

    outcomes = race(lambda i: pipeline_run_advance(run_id=run.pk) or "done", attempts=6, threads=6)

    assert outcomes == {"done": 6}
    steps = StepRun.objects.filter(run=run).exclude(name="first")
    assert sorted(steps.values_list("tries", flat=True)) == [1] * 8
    assert Job.objects.count() == 9 and len(set(steps.values_list("job_id", flat=True))) == 8


def test_a_starter_who_left_the_team_fails_the_next_step_with_a_reason(researcher, team_a, pipeline, dataset, gpu):
    from portal.teams.models import Membership

    run = pipeline_run_start(user=researcher, pipeline=pipeline, parameters={"dataset": dataset.pk})
    Membership.objects.filter(user=researcher, team=team_a).delete()

    pipeline_run_advance(run_id=run.pk)

    run.refresh_from_db()
    assert run.state == "failed"
    assert run.error == "Step “freeze” failed: Not found (or not visible to the person who started the run)."


def test_a_step_that_crashes_on_the_server_fails_with_a_message_instead_of_looping(
    researcher, pipeline, dataset, gpu, monkeypatch
):
    from training.services import pipeline_steps

    def broken(ctx):
        raise OSError("disk on fire")

    monkeypatch.setitem(pipeline_steps._STARTS, "dataset.freeze", broken)
    run = pipeline_run_start(user=researcher, pipeline=pipeline, parameters={"dataset": dataset.pk})

    pipeline_run_advance(run_id=run.pk)

    run.refresh_from_db()
    assert (run.state, step(run, "freeze").state) == ("failed", "failed")
    assert "failed on the server" in run.error and "disk on fire" not in run.error
