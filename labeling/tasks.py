"""Celery tasks of labeling: thin wrappers over services (the database records what happened)."""

from celery import shared_task

from labeling.services.exports import EXPORT_TASK, export_job_run
from labeling.services.imports import IMPORT_TASK
from labeling.services.ingest import import_job_run


@shared_task(name=IMPORT_TASK, acks_late=True, reject_on_worker_lost=True)
def import_run(*, import_job_id: int) -> None:
    import_job_run(import_job_id=import_job_id)


@shared_task(name=EXPORT_TASK, acks_late=True, reject_on_worker_lost=True)
def export_run(*, export_job_id: int) -> None:
    export_job_run(export_job_id=export_job_id)
