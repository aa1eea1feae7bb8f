"""The project's Celery tasks: beat names only tasks that exist, and each task's function is named like
the last part of its registered name (the registered names stay put: beat's rows and queued messages
carry them)."""

from django.conf import settings

from portal.celery import app

PROJECT_MODULES = ("scheduler.", "labeling.", "portal.", "training.")


def project_tasks() -> dict:
    app.loader.import_default_modules()
    return {name: task for name, task in app.tasks.items() if task.__module__.startswith(PROJECT_MODULES)}


def test_every_beat_entry_names_a_project_task():
    tasks = project_tasks()
    assert {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()} <= set(tasks)


def test_each_task_function_is_named_like_its_task():
    tasks = project_tasks()
    assert tasks
    assert {name: task.__name__ for name, task in tasks.items() if name.rsplit(".", 1)[-1] != task.__name__} == {}
