"""Celery tasks of training: thin wrappers over services (the database records what happened)."""

from celery import shared_task

from training.demo import DEMO_TASK, demo_training_build
from training.services import pipeline_runs
from training.services import prelabel as prelabel_service
from training.services import serving as serving_service
from training.services.serving import PREDICT_TASK, prediction_run
from training.services.staging import STAGE_TASK, staging_advance, staging_sweep


@shared_task(name=STAGE_TASK, acks_late=True, reject_on_worker_lost=True)
def stage_inputs(*, staging_id: int) -> None:
    staging_advance(staging_id=staging_id)


@shared_task(name="training.stage_sweep")
def stage_sweep() -> int:
    return staging_sweep()


@shared_task(name=DEMO_TASK, acks_late=True, reject_on_worker_lost=True)
def demo_build() -> None:
    demo_training_build()


@shared_task(name=PREDICT_TASK, acks_late=True, reject_on_worker_lost=True)
def predict(*, request_id: int) -> None:
    prediction_run(request_id=request_id)


@shared_task(name="training.prediction_requests_prune")
def prediction_requests_prune() -> int:
    return serving_service.prediction_requests_prune()


@shared_task(name=prelabel_service.STAGE_TASK, acks_late=True, reject_on_worker_lost=True)
def prelabel_stage(*, run_id: int) -> None:
    prelabel_service.prelabel_stage(run_id=run_id)


@shared_task(name=prelabel_service.INGEST_TASK, acks_late=True, reject_on_worker_lost=True)
def prelabel_ingest(*, run_id: int) -> None:
    prelabel_service.prelabel_ingest(run_id=run_id)


@shared_task(name="training.prelabel_sweep")
def prelabel_sweep() -> int:
    return prelabel_service.prelabel_sweep()


@shared_task(name=pipeline_runs.ADVANCE_TASK, acks_late=True, reject_on_worker_lost=True)
def pipeline_advance(*, run_id: int) -> None:
    pipeline_runs.pipeline_run_advance(run_id=run_id)


@shared_task(name="training.pipeline_sweep")
def pipeline_sweep() -> int:
    return pipeline_runs.pipeline_sweep()


@shared_task(name="training.pipeline_dataset_frozen", acks_late=True, reject_on_worker_lost=True)
def pipeline_dataset_frozen(*, version_id: int, dataset_id: int) -> int:
    return len(pipeline_runs.runs_start_for_new_version(dataset_id=dataset_id))


@shared_task(name=pipeline_runs.SCHEDULED_TASK)
def pipeline_start_scheduled(*, pipeline_id: int) -> int | None:
    run = pipeline_runs.pipeline_start_scheduled(pipeline_id=pipeline_id)
    return run.pk if run else None
