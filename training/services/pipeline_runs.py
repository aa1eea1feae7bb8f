"""Pipeline runs (docs/pipelines.md "Runs"): start, advance, retry, cancel, re-run from failure, the cache.

The DAG's state lives in the database. `pipeline_run_advance` (task `training.pipeline_advance`) walks a
run's steps in topological order once: it looks at each running step's job, export or pre-label run, and
starts each waiting step whose inputs are ready — from the cache when an earlier step with the same key
succeeded, else for real. It is sent when a run starts, when a step's job or export ends (signals from
scheduler and labeling, connected in training/apps.py), when a retry's back-off ends, and by beat's sweep.

Idempotent, as Celery delivers at least once: a waiting step is claimed by compare-and-set on its state
(waiting → running) in the transaction that starts its work, and a running step is re-read under a row
lock before its result is recorded, so two advances at once never start a step twice nor submit its job
twice (tests/training/test_pipeline_runs.py delivers the advance twice).
"""

import logging
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.db.models import F
from django.utils import timezone

from labeling.models import EXPORT_FINISHED_STATES, ExportJob
from portal.errors import Invalid
from portal.realtime.services import event_publish
from portal.teams.access import access_team_for_user
from scheduler.models import JOB_FINAL_STATES, Job
from scheduler.services.jobs import job_cancel
from training.access import check_may_change_pipelines
from training.models import (
    STEP_FINISHED_STATES,
    Pipeline,
    PipelineRun,
    PipelineSpecVersion,
    RunState,
    StepRun,
    StepState,
)
from training.pipelines import validate
from training.pipelines.cache import ALIAS_ELSEWHERE, DISABLED, HIT, NO_CODE, RUN_WITHOUT_CACHE, cache_key, miss_note
from training.pipelines.runparams import run_parameters
from training.pipelines.spec import PipelineSpec, StepSpec
from training.services.pipeline_steps import (
    JobFailed,
    StepContext,
    StepFailed,
    artifact_exists,
    step_key_inputs,
    step_poll,
    step_start,
)
from training.services.prelabel import prelabel_run_stop

log = logging.getLogger(__name__)

ADVANCE_TASK = "training.pipeline_advance"
PARAMETERS_INVALID = "The run's parameters have {count} problem(s); each is listed under its name."
NOT_FAILED = "Only a failed or cancelled run can be re-run from its failure (this one is {state})."
ALREADY_ENDED = "The run has already ended ({state})."
STEP_FAILED = "Step “{step}” failed: {reason}"
CANCELLED_BY = "Cancelled by {user}."
RUN_CANCELLED = "The run was cancelled."
EARLIER_STEP = "Not run: step “{step}” before it did not succeed."
STALE_CACHE = "Missed: the earlier result's artifacts are gone (pruned or deleted)."
TOO_OLD = "Missed: the earlier result is older than the step's cache max_age."
SERVER_ERROR = "The step failed on the server (the error is in the worker's log); re-run from failure to try again."
FORGOTTEN = "Forgotten by {user}: later runs will not reuse it."


# --- start, cancel, re-run ------------------------------------------------------------------------


def pipeline_run_start(
    *,
    user,
    pipeline: Pipeline,
    parameters: dict | None = None,
    use_cache: bool = True,
    trigger: str = PipelineRun.Trigger.HAND,
    spec_version: PipelineSpecVersion | None = None,
) -> PipelineRun:
    """A run of the pipeline's latest spec (or `spec_version`) with typed parameters; 400 naming each bad one."""
    access_team_for_user(user, pipeline.team_id)
    check_may_change_pipelines(user, pipeline.team_id)
    version = spec_version or pipeline.versions.order_by("-number").first()
    spec = _spec(version)
    values, problems = run_parameters(spec, parameters or {})
    if problems:
        errors: dict[str, list[str]] = {}
        for problem in problems:
            errors.setdefault(problem.path, []).append(problem.message)
        raise Invalid(errors, detail=PARAMETERS_INVALID.format(count=len(problems)))
    with transaction.atomic():
        run = PipelineRun.objects.create(
            pipeline=pipeline,
            spec_version=version,
            started_by=user,
            trigger=trigger,
            parameters=values,
            use_cache=use_cache,
        )
        StepRun.objects.bulk_create([StepRun(run=run, name=name, type=spec.steps[name].type) for name in spec.order])
        _publish(run, "pipeline.run")
        advance_enqueue(run_id=run.pk)
    return run


def pipeline_run_cancel(*, user, run: PipelineRun) -> PipelineRun:
    """End the run: its running steps' jobs are cancelled, its waiting steps never start."""
    check_may_change_pipelines(user, run.pipeline.team_id)
    with transaction.atomic():
        ended = PipelineRun.objects.filter(pk=run.pk, state=RunState.RUNNING).update(
            state=RunState.CANCELLED, error=CANCELLED_BY.format(user=user.get_username()), finished_at=timezone.now()
        )
        if not ended:
            run.refresh_from_db()
            raise Invalid({"state": [ALREADY_ENDED.format(state=run.get_state_display().lower())]})
        _steps_stop(run, reason=RUN_CANCELLED, by=user)
        run.refresh_from_db()
        _publish(run, "pipeline.run")
    return run


def pipeline_run_rerun(*, user, run: PipelineRun) -> PipelineRun:
    """A new run of the same spec version and parameters that reuses the steps which succeeded."""
    if run.state not in (RunState.FAILED, RunState.CANCELLED):
        raise Invalid({"state": [NOT_FAILED.format(state=run.get_state_display().lower())]})
    with transaction.atomic():
        again = pipeline_run_start(
            user=user,
            pipeline=run.pipeline,
            parameters=run.parameters,
            use_cache=run.use_cache,
            trigger=PipelineRun.Trigger.RERUN,
            spec_version=run.spec_version,
        )
        PipelineRun.objects.filter(pk=again.pk).update(rerun_of=run)
        for done in run.steps.filter(state=StepState.SUCCEEDED):
            StepRun.objects.filter(run=again, name=done.name).update(
                state=StepState.SUCCEEDED,
                outputs=done.outputs,
                parameters=done.parameters,
                inputs=done.inputs,
                cache_key=done.cache_key,
                cache_parts=done.cache_parts,
                cache_note=f"Reused from run {run.pk}, which this run re-runs.",
                cache_hit_of=done.cache_hit_of or done,
                started_at=timezone.now(),
                finished_at=timezone.now(),
            )
    again.refresh_from_db()
    return again


def cache_forget(*, user, step: StepRun) -> int:
    """Never reuse the result of `step` (and of every step with its key) again; the count forgotten."""
    check_may_change_pipelines(user, step.run.pipeline.team_id)
    if not step.cache_key:
        return 0
    return StepRun.objects.filter(
        cache_key=step.cache_key, run__pipeline__team_id=step.run.pipeline.team_id, cache_forgotten=False
    ).update(cache_forgotten=True, cache_note=FORGOTTEN.format(user=user.get_username()))


# --- the advance loop -----------------------------------------------------------------------------


def advance_enqueue(*, run_id: int, countdown: float = 0.0) -> None:
    """Send an advance after commit; none when one is queued already and has not started (it will see
    what changed). A delayed one (a retry's back-off) is always sent; beat's sweep sends regardless."""
    from portal.celery import app

    def send() -> None:
        if not countdown and not PipelineRun.objects.filter(pk=run_id, advance_queued=False).update(
            advance_queued=True
        ):
            return
        try:
            app.send_task(ADVANCE_TASK, kwargs={"run_id": run_id}, countdown=countdown or None)
        except Exception:  # kombu raises several types; the run is in the database, beat's sweep advances it
            log.warning("could not enqueue the advance of pipeline run %s; beat's sweep will", run_id, exc_info=True)

    transaction.on_commit(send)


def pipeline_run_advance(*, run_id: int) -> None:
    """One walk over the run's steps (safe to run twice, or twice at once)."""
    PipelineRun.objects.filter(pk=run_id, advance_queued=True).update(
        advance_queued=False
    )  # changes from now on send another
    run = PipelineRun.objects.select_related("pipeline", "spec_version", "started_by").filter(pk=run_id).first()
    if run is None or run.state != RunState.RUNNING:
        return
    spec = _spec(run.spec_version)
    steps = {step.name: step for step in run.steps.all()}
    ended = _awaited_ended(steps.values())
    for name in spec.order:
        step = steps[name]
        if step.state == StepState.RUNNING and name in ended:
            _poll(run, spec.steps[name], step, steps)
        if step.state == StepState.WAITING:
            _start_if_ready(run, spec.steps[name], step, steps)
        if step.state == StepState.FAILED:
            _run_fail(run, step)
            return
    if all(step.state in STEP_FINISHED_STATES for step in steps.values()):
        _run_end(run, RunState.SUCCEEDED, "")


def _awaited_ended(steps) -> set[str]:
    """The running steps whose job or export has ended (two queries for the whole run), and every running
    pre-label step (its run ends after its job, by ingest): only these are worth locking and polling."""
    running = [step for step in steps if step.state == StepState.RUNNING]
    jobs = {step.job_id for step in running if step.job_id}
    exports = {step.export_id for step in running if step.export_id and not step.job_id}
    ended_jobs = set(Job.objects.filter(pk__in=jobs, state__in=JOB_FINAL_STATES).values_list("pk", flat=True))
    ended_exports = set(
        ExportJob.objects.filter(pk__in=exports, state__in=EXPORT_FINISHED_STATES).values_list("pk", flat=True)
    )
    return {
        step.name
        for step in running
        if step.prelabel_run_id or step.job_id in ended_jobs or (not step.job_id and step.export_id in ended_exports)
    }


def pipeline_sweep() -> int:
    """Beat's round: advance every running run (a lost message, a back-off that ended, a pre-label run's
    ingest); the count sent."""
    ids = list(PipelineRun.objects.filter(state=RunState.RUNNING).values_list("pk", flat=True))
    for run_id in ids:
        advance_enqueue(run_id=run_id)
    return len(ids)


def runs_waiting_on_job(*, job_id: int) -> list[int]:
    return list(StepRun.objects.filter(job_id=job_id, run__state=RunState.RUNNING).values_list("run_id", flat=True))


def runs_waiting_on_export(*, export_job_id: int) -> list[int]:
    return list(
        StepRun.objects.filter(export_id=export_job_id, state=StepState.RUNNING, run__state=RunState.RUNNING)
        .values_list("run_id", flat=True)
        .distinct()
    )


def _start_if_ready(run: PipelineRun, spec: StepSpec, step: StepRun, steps: dict[str, StepRun]) -> None:
    before = [steps[name] for name in _dependencies(spec)]
    if any(other.state in (StepState.FAILED, StepState.CANCELLED, StepState.SKIPPED) for other in before):
        _step_end(step, StepState.SKIPPED, error=EARLIER_STEP.format(step=_first_unfinished(before).name))
        return
    if any(other.state != StepState.SUCCEEDED for other in before):
        return
    if step.retry_at and step.retry_at > timezone.now():
        return
    ctx = _context(run, spec, step, steps)
    try:
        resolved, code, cacheable = step_key_inputs(ctx)
    except StepFailed as failed:
        _claim_and_fail(step, str(failed))
        return
    key = cache_key(
        step_type=spec.type,
        code=code,
        parameters=ctx.parameters,
        inputs={name: artifact["sha256"] for name, artifact in ctx.inputs.items()},
        resolved=resolved,
    )
    hit, note = _cache_lookup(run, spec, key, cacheable=cacheable)
    with transaction.atomic():
        claimed = StepRun.objects.filter(pk=step.pk, state=StepState.WAITING).update(
            state=StepState.RUNNING,
            tries=F("tries") + 1,
            started_at=timezone.now(),
            finished_at=None,
            parameters=ctx.parameters,
            inputs=ctx.inputs,
            cache_key=key.key,
            cache_parts=key.parts,
            cache_note=note,
            cache_hit_of=hit,
        )
        if not claimed:
            step.refresh_from_db()  # another advance started it
            return
        step.refresh_from_db()
        ctx.step = step
        if hit is not None:
            _step_end(step, StepState.SUCCEEDED, outputs=hit.outputs)
            return
        _do(step, lambda: step_start(ctx), spec)


def _poll(run: PipelineRun, spec: StepSpec, step: StepRun, steps: dict[str, StepRun]) -> None:
    with transaction.atomic():
        locked = StepRun.objects.select_for_update().filter(pk=step.pk, state=StepState.RUNNING).first()
        if locked is None:
            step.refresh_from_db()
            return
        ctx = _context(run, spec, locked, steps)
        _do(locked, lambda: step_poll(ctx), spec)
        step.refresh_from_db()


def _do(step: StepRun, work, spec: StepSpec) -> None:
    """Run `work` (start or poll) in a savepoint: its outputs end the step, None leaves it running (with the
    job, export or pre-label run it set), a refusal fails it or, for a failed job, retries it."""
    try:
        with transaction.atomic():
            outputs = work()
            step.save(update_fields=["job", "export", "prelabel_run"])
    except JobFailed as failed:
        _retry_or_fail(step, spec, str(failed))
        return
    except StepFailed as failed:
        _step_end(step, StepState.FAILED, error=str(failed))
        return
    except DatabaseError:
        raise  # the database is away: nothing recorded, the next advance tries again
    except Exception:  # a bug or the disk: say so on the step rather than retry it forever
        log.exception("step %s of pipeline run %s failed on the server", step.name, step.run_id)
        _step_end(step, StepState.FAILED, error=SERVER_ERROR)
        return
    if outputs is not None:
        _step_end(step, StepState.SUCCEEDED, outputs=outputs)
    else:
        _publish_step(step)


def _retry_or_fail(step: StepRun, spec: StepSpec, reason: str) -> None:
    if step.tries > spec.retries.count:
        _step_end(step, StepState.FAILED, error=reason)
        return
    delay = min(spec.retries.backoff_s * spec.retries.factor ** (step.tries - 1), 86_400.0)
    step.history = [*step.history, {"try": step.tries, "job": step.job_id, "error": reason}]
    step.state, step.retry_at, step.error = StepState.WAITING, timezone.now() + timedelta(seconds=delay), reason
    step.job = step.export = step.prelabel_run = None
    step.save(update_fields=["history", "state", "retry_at", "error", "job", "export", "prelabel_run"])
    _publish_step(step)
    advance_enqueue(run_id=step.run_id, countdown=delay)


def _claim_and_fail(step: StepRun, reason: str) -> None:
    with transaction.atomic():
        if StepRun.objects.filter(pk=step.pk, state=StepState.WAITING).update(state=StepState.RUNNING):
            step.refresh_from_db()
            _step_end(step, StepState.FAILED, error=reason)
        else:
            step.refresh_from_db()


def _step_end(step: StepRun, state: str, *, outputs: dict | None = None, error: str = "") -> None:
    fields = {"state": state, "finished_at": timezone.now(), "error": error[:4000]}
    if outputs is not None:
        fields["outputs"] = outputs
    for name, value in fields.items():
        setattr(step, name, value)
    step.save(update_fields=list(fields))
    _publish_step(step)


def _run_fail(run: PipelineRun, failed: StepRun) -> None:
    reason = STEP_FAILED.format(step=failed.name, reason=failed.error)
    with transaction.atomic():
        if not PipelineRun.objects.filter(pk=run.pk, state=RunState.RUNNING).update(
            state=RunState.FAILED, error=reason[:4000], finished_at=timezone.now()
        ):
            return
        _steps_stop(run, reason=EARLIER_STEP.format(step=failed.name), by=run.started_by)
        run.refresh_from_db()
        _publish(run, "pipeline.run")


def _run_end(run: PipelineRun, state: str, error: str) -> None:
    with transaction.atomic():
        if PipelineRun.objects.filter(pk=run.pk, state=RunState.RUNNING).update(
            state=state, error=error, finished_at=timezone.now()
        ):
            run.refresh_from_db()
            _publish(run, "pipeline.run")


def _steps_stop(run: PipelineRun, *, reason: str, by) -> None:
    """Cancel the running steps' jobs (a pre-label step's run, staging or not) and end every unfinished step."""
    for step in run.steps.exclude(state__in=STEP_FINISHED_STATES).select_related("job"):
        job = step.job
        if step.prelabel_run_id is not None and by is not None:
            prelabel_run_stop(run_id=step.prelabel_run_id, by=by, reason=reason)
        elif job is not None and job.state not in JOB_FINAL_STATES and by is not None:
            try:
                job_cancel(job=Job.objects.get(pk=job.pk), by=by, reason=reason)
            except ValidationError:
                pass  # it ended meanwhile: nothing left to stop
        _step_end(step, StepState.CANCELLED if step.state == StepState.RUNNING else StepState.SKIPPED, error=reason)


# --- the cache ------------------------------------------------------------------------------------


def _cache_lookup(run: PipelineRun, spec: StepSpec, key, *, cacheable: bool) -> tuple[StepRun | None, str]:
    if not run.use_cache:
        return None, RUN_WITHOUT_CACHE
    if not spec.cache.enabled:
        return None, DISABLED
    if not cacheable:
        return None, ALIAS_ELSEWHERE if spec.type == "alias.move" else NO_CODE
    earlier = (
        StepRun.objects.filter(
            cache_key=key.key,
            state=StepState.SUCCEEDED,
            cache_forgotten=False,
            run__pipeline__team_id=run.pipeline.team_id,
        )
        .exclude(run=run)
        .select_related("run")
        .order_by("-finished_at")
        .first()
    )
    if earlier is None:
        return None, miss_note(now=key.parts, **_previous_parts(run, spec))
    origin = earlier.cache_hit_of or earlier
    if spec.cache.max_age_s is not None and origin.finished_at < timezone.now() - timedelta(
        seconds=spec.cache.max_age_s
    ):
        return None, TOO_OLD
    if not all(artifact_exists(artifact) for artifact in earlier.outputs.values()):
        return None, STALE_CACHE
    return origin, HIT.format(step=origin.name, run=origin.run_id)


def _previous_parts(run: PipelineRun, spec: StepSpec) -> dict:
    """The latest earlier run of the same step of the same pipeline, to say what changed since."""
    before = (
        StepRun.objects.filter(run__pipeline=run.pipeline, name=spec.name)
        .exclude(run=run)
        .exclude(cache_key="")
        .order_by("-id")
        .first()
    )
    return {"before": before.cache_parts if before else None, "before_run": before.run_id if before else None}


# --- helpers --------------------------------------------------------------------------------------


def _spec(version: PipelineSpecVersion) -> PipelineSpec:
    validation = validate(version.document)  # saved specs were valid; the team's limits are the scheduler's now
    if validation.spec is None:
        raise Invalid({"spec": [problem.message for problem in validation.problems]})
    return validation.spec


def _dependencies(spec: StepSpec) -> list[str]:
    return sorted({ref.step for ref in spec.inputs.values()} | set(spec.after))


def _first_unfinished(steps: list[StepRun]) -> StepRun:
    return next(step for step in steps if step.state != StepState.SUCCEEDED)


def _context(run: PipelineRun, spec: StepSpec, step: StepRun, steps: dict[str, StepRun]) -> StepContext:
    inputs = {name: steps[ref.step].outputs[ref.output] for name, ref in spec.inputs.items()}
    return StepContext(
        step=step,
        spec=spec,
        user=run.started_by,
        team_id=run.pipeline.team_id,
        parameters=spec.resolved_parameters(run.parameters),
        inputs=inputs,
    )


def _publish(run: PipelineRun, kind: str) -> None:
    payload = {"run": run.pk, "pipeline": run.pipeline_id, "state": run.state, "error": run.error}
    event_publish(topic=f"team.{run.pipeline.team_id}", kind=kind, payload=payload)


def _publish_step(step: StepRun) -> None:
    payload = {"run": step.run_id, "step": step.name, "state": step.state, "job": step.job_id, "error": step.error}
    event_publish(topic=f"team.{step.run.pipeline.team_id}", kind="pipeline.step", payload=payload)


# --- triggers -------------------------------------------------------------------------------------


def runs_start_for_new_version(*, dataset_id: int) -> list[PipelineRun]:
    """A run of every pipeline triggered by a new version of the dataset, with its owner's rights and its
    trigger parameters. A pipeline with a run still going is not started again: its own freeze step would
    otherwise start it anew (the run that froze the version is the one that reacts to it)."""
    started = []
    for pipeline in Pipeline.objects.filter(trigger_dataset_id=dataset_id).select_related("owner"):
        if pipeline.owner is None or pipeline.runs.filter(state=RunState.RUNNING).exists():
            continue
        try:
            started.append(
                pipeline_run_start(
                    user=pipeline.owner,
                    pipeline=pipeline,
                    parameters=pipeline.trigger_parameters,
                    trigger=PipelineRun.Trigger.DATASET,
                )
            )
        except Exception:  # the owner lost the rights, the parameters no longer fit: say so, start the others
            log.warning("pipeline %s not started for dataset %s", pipeline.pk, dataset_id, exc_info=True)
    return started


def on_job_ended(*, job_id: int, **_) -> None:
    for run_id in set(runs_waiting_on_job(job_id=job_id)):
        advance_enqueue(run_id=run_id)


def on_export_finished(*, export_job_id: int, **_) -> None:
    for run_id in runs_waiting_on_export(export_job_id=export_job_id):
        advance_enqueue(run_id=run_id)


def on_version_frozen(*, version_id: int, dataset_id: int, **_) -> None:
    if not Pipeline.objects.filter(trigger_dataset_id=dataset_id).exists():
        return
    from portal.celery import app

    try:
        app.send_task("training.pipeline_dataset_frozen", kwargs={"version_id": version_id, "dataset_id": dataset_id})
    except Exception:
        log.warning("could not enqueue the pipelines triggered by dataset %s", dataset_id, exc_info=True)


SCHEDULED_TASK = "training.pipeline_start_scheduled"
BAD_CRONTAB = (
    "A schedule is five crontab fields, “minute hour day-of-month month day-of-week” (e.g. “0 3 * * 1”): {error}"
)
MAY_NOT_TRIGGER = "Only a team's pipelines' own team datasets trigger them."


def pipeline_triggers_set(
    *, user, pipeline: Pipeline, dataset_id: int | None, parameters: dict, crontab: str = ""
) -> Pipeline:
    """Start runs on their own: when `dataset_id` gets a new version, and on the crontab `crontab` (in
    the site's time zone), both with `parameters` and the pipeline owner's rights (the owner becomes
    whoever sets the triggers). Empty values turn a trigger off."""
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    from labeling.access import access_dataset_for_user

    check_may_change_pipelines(user, pipeline.team_id)
    errors: dict[str, list[str]] = {}
    if dataset_id is not None and access_dataset_for_user(user, dataset_id).team_id != pipeline.team_id:
        errors["dataset"] = [MAY_NOT_TRIGGER]
    spec = _spec(pipeline.versions.order_by("-number").first())
    values, problems = run_parameters(spec, parameters or {})
    for problem in problems:
        errors.setdefault(problem.path, []).append(problem.message)
    fields = (crontab or "").split()
    if crontab and len(fields) != 5:
        errors["schedule"] = [BAD_CRONTAB.format(error=f"{len(fields)} field(s) given")]
    if errors:
        raise Invalid(errors)
    with transaction.atomic():
        task = pipeline.schedule_task
        if crontab:
            try:
                schedule, _ = CrontabSchedule.objects.get_or_create(
                    minute=fields[0],
                    hour=fields[1],
                    day_of_month=fields[2],
                    month_of_year=fields[3],
                    day_of_week=fields[4],
                )
                schedule.schedule  # noqa: B018 (celery parses the fields here: a bad one raises)
            except ValueError as bad:
                raise Invalid({"schedule": [BAD_CRONTAB.format(error=bad)]}) from None
            task = task or PeriodicTask(name=f"pipeline {pipeline.pk}", task=SCHEDULED_TASK)
            task.crontab, task.interval, task.kwargs, task.enabled = (
                schedule,
                None,
                f'{{"pipeline_id": {pipeline.pk}}}',
                True,
            )
            task.save()
        elif task is not None:
            task.delete()
            task = None
        pipeline.trigger_dataset_id, pipeline.trigger_parameters = dataset_id, values
        pipeline.schedule_task, pipeline.owner = task, user
        pipeline.save(update_fields=["trigger_dataset", "trigger_parameters", "schedule_task", "owner"])
    return pipeline


def pipeline_start_scheduled(*, pipeline_id: int) -> PipelineRun | None:
    """The schedule's run (none while the last one is still going, as with a new dataset version)."""
    pipeline = Pipeline.objects.filter(pk=pipeline_id).select_related("owner").first()
    if pipeline is None or pipeline.owner is None or pipeline.runs.filter(state=RunState.RUNNING).exists():
        return None
    return pipeline_run_start(
        user=pipeline.owner,
        pipeline=pipeline,
        parameters=pipeline.trigger_parameters,
        trigger=PipelineRun.Trigger.SCHEDULE,
    )
