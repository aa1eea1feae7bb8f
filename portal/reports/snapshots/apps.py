from django.apps import AppConfig


class SnapshotsConfig(AppConfig):
    name = "portal.reports.snapshots"
    label = "report_snapshots"
    verbose_name = "Report snapshots"
