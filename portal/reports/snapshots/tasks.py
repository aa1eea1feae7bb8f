from celery import shared_task

from portal.reports.snapshots.services import snapshots_take as take


@shared_task(name="reports.snapshots_take")
def snapshots_take() -> list[str]:
    return [f"{month:%Y-%m}" for month in take()]
