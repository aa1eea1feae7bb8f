"""The Celery application: configured from Django settings (CELERY_*), tasks found in every app."""

import os

from celery import Celery

from portal.broker import install as install_atomic_filesystem_broker

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

install_atomic_filesystem_broker()
app = Celery("atelier")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
