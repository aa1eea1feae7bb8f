from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "portal.ops"
    label = "ops"

    def ready(self):
        from portal.ops import worker  # noqa: F401  (connects the Celery worker signals)
