"""Every REST endpoint under /api/v1/: each app contributes its own url list here."""

from django.urls import include, path

from portal.accounts import api as accounts_api
from portal.notifications import api as notifications_api
from portal.reports import api as reports_api
from portal.reports import audit_views
from portal.teams import api as teams_api

urlpatterns = [
    path("me/", accounts_api.MeView.as_view(), name="api-me"),
    path("tokens/", accounts_api.ApiTokenListView.as_view(), name="api-tokens"),
    path("tokens/<str:key>/", accounts_api.ApiTokenDetailView.as_view(), name="api-token-detail"),
    path("teams/", teams_api.TeamListView.as_view(), name="api-teams"),
    path("teams/<int:pk>/", teams_api.TeamDetailView.as_view(), name="api-team-detail"),
    path("teams/<int:pk>/quota/", teams_api.TeamQuotaView.as_view(), name="api-team-quota"),
    path("notifications/", notifications_api.NotificationListView.as_view(), name="api-notifications"),
    path(
        "notifications/read-all/",
        notifications_api.NotificationReadAllView.as_view(),
        name="api-notifications-read-all",
    ),
    path(
        "notifications/<int:pk>/read/", notifications_api.NotificationReadView.as_view(), name="api-notification-read"
    ),
    path("audit/", audit_views.AuditLogView.as_view(), name="api-audit"),
    path("reports/quotas/", reports_api.QuotaReportView.as_view(), name="api-report-quotas"),
    path("reports/split/", reports_api.activity_view("split"), name="api-report-split"),
    path("reports/burn/", reports_api.activity_view("burn"), name="api-report-burn"),
    path("reports/burn-daily/", reports_api.activity_view("burn-daily"), name="api-report-burn-daily"),
    path("reports/labeling/", reports_api.activity_view("labeling"), name="api-report-labeling"),
    path("reports/agreement/", reports_api.activity_view("agreement"), name="api-report-agreement"),
    path("reports/waits/", reports_api.activity_view("waits"), name="api-report-waits"),
    path("reports/outcomes/", reports_api.activity_view("outcomes"), name="api-report-outcomes"),
    path("reports/idle/", reports_api.IdleReportView.as_view(), name="api-report-idle"),
    path("reports/idle-owners/", reports_api.activity_view("idle-owners"), name="api-report-idle-owners"),
    path("", include("scheduler.api.urls")),
    path("", include("labeling.api.urls")),
    path("", include("training.api.urls")),
]
