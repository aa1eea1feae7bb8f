from django.urls import path

from scheduler.api import bookings as booking_views
from scheduler.api import environments as environment_views
from scheduler.api import fleet as fleet_views  # nodes, GPUs, telemetry, drain
from scheduler.api import jobs as job_views

urlpatterns: list = [
    path("jobs/", job_views.JobListView.as_view(), name="api-jobs"),
    path("jobs/<int:pk>/", job_views.JobDetailView.as_view(), name="api-job-detail"),
    path("jobs/<int:pk>/cancel/", job_views.JobCancelView.as_view(), name="api-job-cancel"),
    path("jobs/<int:pk>/attempts/", job_views.JobAttemptsView.as_view(), name="api-job-attempts"),
    path("jobs/<int:pk>/log/", job_views.JobLogView.as_view(), name="api-job-log"),
    path("jobs/<int:pk>/outputs/", job_views.JobOutputsView.as_view(), name="api-job-outputs"),
    path("jobs/<int:pk>/parts/<int:rank>/log/", job_views.JobPartLogView.as_view(), name="api-job-part-log"),
    path("jobs/<int:pk>/outputs/<path:path>", job_views.JobOutputDownloadView.as_view(), name="api-job-output-file"),
    path("environments/", environment_views.EnvironmentListView.as_view(), name="api-environments"),
    path("bookings/", booking_views.BookingListView.as_view(), name="api-bookings"),
    path("bookings/<int:pk>/", booking_views.BookingDetailView.as_view(), name="api-booking-detail"),
    path("reservations/", booking_views.BookingListOldPathView.as_view(), name="api-reservations"),
    path("reservations/<int:pk>/", booking_views.BookingDetailOldPathView.as_view(), name="api-reservation-detail"),
    path("availability/", booking_views.AvailabilityView.as_view(), name="api-availability"),
    path("teams/<int:pk>/quota/usage/", booking_views.TeamQuotaUsageView.as_view(), name="api-team-quota-usage"),
    path("nodes/", fleet_views.NodeListView.as_view(), name="api-nodes"),
    path("nodes/<int:pk>/drain/", fleet_views.NodeDrainView.as_view(), name="api-node-drain"),
    path("nodes/<int:pk>/undrain/", fleet_views.NodeUndrainView.as_view(), name="api-node-undrain"),
    path("gpus/", fleet_views.GpuListView.as_view(), name="api-gpus"),
    path("gpus/<int:pk>/", fleet_views.GpuDetailView.as_view(), name="api-gpu-detail"),
    path("gpus/<int:pk>/metrics/", fleet_views.GpuMetricsView.as_view(), name="api-gpu-metrics"),
    path("gpus/<int:pk>/drain/", fleet_views.GpuDrainView.as_view(), name="api-gpu-drain"),
    path("gpus/<int:pk>/undrain/", fleet_views.GpuUndrainView.as_view(), name="api-gpu-undrain"),
]
